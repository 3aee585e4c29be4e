"""API shapes of accounts and balances (docs/api-contract.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec

Kind = Literal["partner", "division"]


class SettlementBank(msgspec.Struct, forbid_unknown_fields=True):
    bank_code: str
    account_number: str
    holder_name: str


class AccountCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    kind: Kind
    parent_id: str
    currency: str = "IDR"
    reference: str | None = None
    email: str | None = None
    phone: str | None = None
    metadata: dict[str, Any] | None = None


class AccountUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    reference: str | msgspec.UnsetType | None = msgspec.UNSET
    email: str | msgspec.UnsetType | None = msgspec.UNSET
    phone: str | msgspec.UnsetType | None = msgspec.UNSET
    metadata: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET
    settlement_bank: SettlementBank | msgspec.UnsetType | None = msgspec.UNSET

    def changes(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__struct_fields__ if getattr(self, f) is not msgspec.UNSET}


class AccountOut(msgspec.Struct):
    id: str
    parent_id: str | None
    name: str
    kind: str
    currency: str
    status: str
    reference: str | None
    email: str | None
    phone: str | None
    settlement_bank: SettlementBank | None
    metadata: dict[str, Any]
    created_at: datetime
    object: str = "account"


class BalanceOut(msgspec.Struct):
    account_id: str
    currency: str
    available: int
    posted: int
    pending_in: int
    on_hold: int
    as_of: datetime
    accounts: int | msgspec.UnsetType = msgspec.UNSET
    object: str = "balance"


class AccountPage(msgspec.Struct):
    data: list[AccountOut]
    has_more: bool
    next_cursor: str | None
