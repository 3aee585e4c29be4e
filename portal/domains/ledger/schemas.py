"""API shapes of transfers, groups, holds, top-ups and withdrawals (docs/api-contract.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from portal.domains.accounts.schemas import SettlementBank
from portal.lib.api_types import (
    AccountId,
    Currency,
    Description,
    MinorUnits,
    Reference,
    Timestamp,
    TransferId,
)

# Amounts are JSON integers in minor units. The request decoder is lax (it would turn "100" into 100),
# so amounts are taken as they come and the service refuses anything but an integer in 1..10^15-1.
Amount = Annotated[
    Any, msgspec.Meta(description="integer, minor units (IDR: rupiah; USD/SGD: cents)", examples=[150000])
]


class TransferCreate(msgspec.Struct, forbid_unknown_fields=True):
    from_account_id: AccountId
    to_account_id: AccountId
    amount: Amount
    reference: Reference
    description: Description | None = None
    metadata: dict[str, Any] | None = None


class GroupLeg(msgspec.Struct, forbid_unknown_fields=True):
    from_account_id: AccountId
    to_account_id: AccountId
    amount: Amount
    description: Description | None = None


class TransferGroupCreate(msgspec.Struct, forbid_unknown_fields=True):
    reference: Reference
    transfers: list[GroupLeg]


class HoldCreate(msgspec.Struct, forbid_unknown_fields=True):
    from_account_id: AccountId
    to_account_id: AccountId
    amount: Amount
    reference: Reference
    expires_at: datetime | None = None


class HoldPost(msgspec.Struct, forbid_unknown_fields=True):
    amount: Amount | None = None


class TopUpCreate(msgspec.Struct, forbid_unknown_fields=True):
    account_id: AccountId
    amount: Amount
    reference: Reference


class WithdrawalCreate(msgspec.Struct, forbid_unknown_fields=True):
    account_id: AccountId
    amount: Amount
    reference: Reference


class MarkFailed(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class TransferOut(msgspec.Struct):
    id: TransferId
    from_account_id: AccountId
    to_account_id: AccountId
    amount: MinorUnits
    currency: Currency
    reference: Reference | None
    description: Description
    kind: str
    group_id: str | None
    created_at: Timestamp
    object: str = "transfer"


class TransferGroupOut(msgspec.Struct):
    id: str
    reference: Reference
    transfers: list[TransferOut]
    created_at: Timestamp
    object: str = "transfer_group"


class HoldOut(msgspec.Struct):
    id: str
    from_account_id: AccountId
    to_account_id: AccountId
    amount: MinorUnits
    posted_amount: MinorUnits
    currency: Currency
    reference: Reference | None
    status: str
    expires_at: Timestamp | None
    created_at: Timestamp
    object: str = "hold"


class TopUpOut(msgspec.Struct):
    id: str
    account_id: AccountId
    amount: MinorUnits
    fee: MinorUnits
    total: MinorUnits
    currency: Currency
    reference: Reference
    status: str
    payment_instructions: SettlementBank
    expires_at: Timestamp
    paid_at: Timestamp | None
    created_at: Timestamp
    object: str = "topup"


class WithdrawalOut(msgspec.Struct):
    id: str
    account_id: AccountId
    amount: MinorUnits
    fee: MinorUnits
    total: MinorUnits
    currency: Currency
    reference: Reference
    status: str
    bank: SettlementBank
    failure_reason: str | None
    created_at: Timestamp
    completed_at: Timestamp | None
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
