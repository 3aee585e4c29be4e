"""API shapes of payments, split rules and settlement batches (docs/payments.md)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import msgspec

from portal.lib.api_types import AccountId, MinorUnits, Timestamp


class SplitDestination(msgspec.Struct, forbid_unknown_fields=True):
    """One destination of a split: an account of the business or a verified bank beneficiary, by a
    percentage of the Total Settlement Amount (`percent`, up to two decimals) or a fixed `amount`."""

    kind: Literal["account", "bank"]
    account_id: str | None = None
    beneficiary_id: str | None = None
    percent: float | None = None
    amount: int | None = None


class SplitRuleCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    destinations: list[SplitDestination]
    account_id: AccountId | None = None


class SplitRuleUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    destinations: list[SplitDestination] | None = None
    account_id: AccountId | None = None


class SplitRuleOut(msgspec.Struct):
    id: str
    name: str
    account_id: str | None
    destinations: list[dict[str, Any]]
    created_at: Timestamp
    updated_at: Timestamp
    object: str = "split_rule"


class SplitRulePage(msgspec.Struct):
    data: list[SplitRuleOut]
    has_more: bool
    next_cursor: str | None


class SplitPreviewIn(msgspec.Struct, forbid_unknown_fields=True):
    destinations: list[SplitDestination]
    amount: MinorUnits | None = None
    # va | qris | card | ewallet (checked by the service: a plain string keeps the schema's types simple)
    channel: str | None = None
    payment_id: str | None = None


class SplitShare(msgspec.Struct):
    kind: str
    account_id: str | None
    beneficiary_id: str | None
    amount: MinorUnits


class SplitPreview(msgspec.Struct):
    """A dry run: what each destination receives from one payment and what remains for the default
    settlement account. `parts` + `remainder` = `total_settlement_amount` always."""

    gross: MinorUnits
    fee: MinorUnits
    total_settlement_amount: MinorUnits
    parts: list[SplitShare]
    remainder: MinorUnits
    remainder_account_id: str | None
    object: str = "split_preview"


class PaymentCreate(msgspec.Struct, forbid_unknown_fields=True):
    account_id: AccountId
    amount: MinorUnits
    channel: Literal["va", "qris", "card", "ewallet"]
    invoice_number: str
    customer_name: str
    currency: str = "IDR"
    customer_id: str | None = None
    customer_email: str | None = None
    description: str | None = None
    expires_at: Timestamp | None = None
    split_rule_id: str | None = None
    split: list[SplitDestination] | None = None
    bank_code: str | None = None
    wallet: str | None = None
    phone: str | None = None
    card_token: str | None = None
    metadata: dict[str, Any] | None = None


class RefundCreate(msgspec.Struct, forbid_unknown_fields=True):
    amount: MinorUnits | None = None
    reason: str | None = None


class SplitUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Per-transaction settlement configuration; an empty list cancels the split."""

    destinations: list[SplitDestination]


class Payment(msgspec.Struct):
    id: str
    account_id: str
    amount: MinorUnits
    currency: str
    channel: str
    status: str
    remark: str | None
    invoice_number: str
    customer_id: str | None
    customer_name: str
    customer_email: str | None
    description: str
    metadata: dict[str, Any]
    source: str
    fee: MinorUnits
    refunded_amount: MinorUnits
    split: list[dict[str, Any]] | None
    split_rule_id: str | None
    provider_payin_id: str | None
    bank_code: str | None
    va_number: str | None
    qris_string: str | None
    pay_url: str | None
    wallet: str | None
    phone: str | None
    response_code: str | None
    approval_code: str | None
    issuer: str | None
    failure_message: str | None
    settlement_id: str | None
    expires_at: Timestamp | None
    paid_at: Timestamp | None
    settled_at: Timestamp | None
    created_at: Timestamp
    object: str = "payment"


class PaymentPage(msgspec.Struct):
    data: list[Payment]
    has_more: bool
    next_cursor: str | None


class Refund(msgspec.Struct):
    id: str
    payment_id: str
    amount: MinorUnits
    fee: MinorUnits
    reason: str
    status: str
    created_at: Timestamp
    object: str = "refund"


class SettlementOut(msgspec.Struct):
    id: str
    channel: str
    business_day: date
    settlement_date: date
    status: str
    payment_count: int
    gross: MinorUnits
    fees: MinorUnits
    refunds: MinorUnits
    refund_fees: MinorUnits
    net: MinorUnits
    created_at: Timestamp
    paid_at: Timestamp | None
    object: str = "settlement"


class SettlementLineOut(msgspec.Struct):
    payment_id: str
    invoice_number: str
    account_id: str
    amount: MinorUnits
    fee: MinorUnits
    refunded: MinorUnits
    refund_fee: MinorUnits
    net: MinorUnits


class SettlementDeductionOut(msgspec.Struct):
    """What a batch kept back for a refund of an earlier, settled payment (from one destination)."""

    deduction_id: str
    refund_id: str
    payment_id: str
    invoice_number: str
    kind: str  # account | bank
    account_id: str | None
    beneficiary_id: str | None
    reason: str  # refund | refund_fee
    amount: MinorUnits


class DeductionOut(msgspec.Struct):
    """What one destination owes for a refund of a settled payment: taken by the channel's next batches,
    then (from `balance_from`, after the grace days) from its balance; `remaining` is still owed."""

    id: str
    refund_id: str
    payment_id: str
    invoice_number: str
    channel: str
    kind: str  # account | bank
    account_id: str | None
    beneficiary_id: str | None
    reason: str  # refund | refund_fee
    amount: MinorUnits
    taken_by_batches: MinorUnits
    taken_from_balance: MinorUnits
    remaining: MinorUnits
    status: str  # open | overdue | settled
    balance_from: Timestamp
    created_at: Timestamp
    object: str = "settlement_deduction"


class DeductionPage(msgspec.Struct):
    data: list[DeductionOut]
    has_more: bool
    next_cursor: str | None


class SettlementDetail(msgspec.Struct):
    settlement: SettlementOut
    lines: list[SettlementLineOut]
    deductions: list[SettlementDeductionOut] = msgspec.field(default_factory=list)
    object: str = "settlement_detail"


class SettlementPage(msgspec.Struct):
    data: list[SettlementOut]
    has_more: bool
    next_cursor: str | None


class PaymentSettingsOut(msgspec.Struct):
    va_flat: MinorUnits
    qris_rate: int
    card_rate: int
    card_flat: MinorUnits
    ewallet_rate: int
    default_settlement_account_id: str | None
    split_service: str
    deduction_grace_days: int = 14
    object: str = "payment_settings"
