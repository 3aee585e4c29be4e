"""API shapes of transfers, groups, holds, top-ups and withdrawals (docs/api-contract.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from portal.domains.accounts.schemas import SettlementBank

# Amounts are JSON integers in minor units. The request decoder is lax (it would turn "100" into 100),
# so amounts are taken as they come and the service refuses anything but an integer in 1..10^15-1.
Amount = Annotated[
    Any, msgspec.Meta(description="integer, minor units (IDR: rupiah; USD/SGD: cents)", examples=[150000])
]


class TransferCreate(msgspec.Struct, forbid_unknown_fields=True):
    from_account_id: str
    to_account_id: str
    amount: Amount
    reference: str
    description: str | None = None
    metadata: dict[str, Any] | None = None


class GroupLeg(msgspec.Struct, forbid_unknown_fields=True):
    from_account_id: str
    to_account_id: str
    amount: Amount
    description: str | None = None


class TransferGroupCreate(msgspec.Struct, forbid_unknown_fields=True):
    reference: str
    transfers: list[GroupLeg]


class HoldCreate(msgspec.Struct, forbid_unknown_fields=True):
    from_account_id: str
    to_account_id: str
    amount: Amount
    reference: str
    expires_at: datetime | None = None


class HoldPost(msgspec.Struct, forbid_unknown_fields=True):
    amount: Amount | None = None


class TopUpCreate(msgspec.Struct, forbid_unknown_fields=True):
    account_id: str
    amount: Amount
    reference: str


class WithdrawalCreate(msgspec.Struct, forbid_unknown_fields=True):
    account_id: str
    amount: Amount
    reference: str


class MarkFailed(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class TransferOut(msgspec.Struct):
    id: str
    from_account_id: str
    to_account_id: str
    amount: int
    currency: str
    reference: str | None
    description: str
    kind: str
    group_id: str | None
    created_at: datetime
    object: str = "transfer"


class TransferGroupOut(msgspec.Struct):
    id: str
    reference: str
    transfers: list[TransferOut]
    created_at: datetime
    object: str = "transfer_group"


class HoldOut(msgspec.Struct):
    id: str
    from_account_id: str
    to_account_id: str
    amount: int
    posted_amount: int
    currency: str
    reference: str | None
    status: str
    expires_at: datetime | None
    created_at: datetime
    object: str = "hold"


class TopUpOut(msgspec.Struct):
    id: str
    account_id: str
    amount: int
    fee: int
    total: int
    currency: str
    reference: str
    status: str
    payment_instructions: SettlementBank
    expires_at: datetime
    paid_at: datetime | None
    created_at: datetime
    object: str = "topup"


class WithdrawalOut(msgspec.Struct):
    id: str
    account_id: str
    amount: int
    fee: int
    total: int
    currency: str
    reference: str
    status: str
    bank: SettlementBank
    failure_reason: str | None
    created_at: datetime
    completed_at: datetime | None
    object: str = "withdrawal"


class TransferPage(msgspec.Struct):
    data: list[TransferOut]
    has_more: bool
    next_cursor: str | None


class TopUpPage(msgspec.Struct):
    data: list[TopUpOut]
    has_more: bool
    next_cursor: str | None


class WithdrawalPage(msgspec.Struct):
    data: list[WithdrawalOut]
    has_more: bool
    next_cursor: str | None
