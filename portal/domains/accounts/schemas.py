"""API shapes of accounts and balances (docs/api-contract.md)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from portal.lib.api_types import (
    AccountId,
    BankAccountNumber,
    BankCode,
    Currency,
    Email,
    HolderName,
    MinorUnits,
    Name,
    ParentId,
    Phone,
    Reference,
    Timestamp,
)

Kind = Literal["partner", "division"]


class SettlementBank(msgspec.Struct, forbid_unknown_fields=True):
    bank_code: BankCode
    account_number: BankAccountNumber
    holder_name: HolderName


class AccountCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    kind: Kind
    parent_id: ParentId
    currency: Currency = "IDR"
    reference: Reference | None = None
    email: Email | None = None
    phone: Phone | None = None
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
    id: AccountId
    parent_id: ParentId | None
    name: Name
    kind: str
    currency: Currency
    status: str
    reference: Reference | None
    email: Email | None
    phone: Phone | None
    settlement_bank: SettlementBank | None
    metadata: dict[str, Any]
    created_at: Timestamp
    object: str = "account"


class BalanceOut(msgspec.Struct):
    account_id: AccountId
    currency: Currency
    available: MinorUnits
    posted: MinorUnits
    pending_in: MinorUnits
    on_hold: MinorUnits
    as_of: Timestamp
    accounts: int | msgspec.UnsetType = msgspec.UNSET
    object: str = "balance"


class AccountPage(msgspec.Struct):
    data: list[AccountOut]
    has_more: bool
    next_cursor: str | None
