"""API shapes of plans, subscriptions, invoices and usage lines (docs/invoices.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec

from portal.lib.api_types import AccountId, MinorUnits, Timestamp


class PlanCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    receiving_account_id: AccountId
    cycle: str = "monthly"
    fixed_amount: MinorUnits = 0
    # Per cent of the account's money in during the period, as a string with up to two decimals ("2.5").
    percent: str = "0"
    due_days: int = 0
    tax_percent: str = "11"
    tax_label: str = "PPN"


class PlanOut(msgspec.Struct):
    id: str
    name: str
    currency: str
    cycle: str
    fixed_amount: MinorUnits
    percent: str
    due_days: int
    tax_label: str
    tax_percent: str
    receiving_account_id: AccountId
    status: str
    created_at: Timestamp


class PlanPage(msgspec.Struct):
    data: list[PlanOut]
    has_more: bool
    next_cursor: str | None


class SubscriptionCreate(msgspec.Struct, forbid_unknown_fields=True):
    plan_id: str
    account_id: AccountId
    starts_on: str
    ends_on: str | None = None
    # Day of the month (1–31; a day the month lacks is its last day) or of the week (1 = Monday … 7).
    cycle_day: int | None = None
    # Subscribe every account of the subtree under account_id (same currency, not yet subscribed).
    include_descendants: bool = False


class SubscriptionOut(msgspec.Struct):
    id: str
    plan_id: str
    account_id: AccountId
    cycle_day: int
    starts_on: date
    ends_on: date | None
    next_period_start: date
    next_period_end: date
    status: str
    created_at: Timestamp


class SubscriptionPage(msgspec.Struct):
    data: list[SubscriptionOut]
    has_more: bool
    next_cursor: str | None


class UsageCreate(msgspec.Struct, forbid_unknown_fields=True):
    description: str
    quantity: int
    unit_amount: MinorUnits


class UsageOut(msgspec.Struct):
    id: str
    subscription_id: str
    description: str
    quantity: int
    unit_amount: MinorUnits
    amount: MinorUnits
    invoice_id: str | None
    created_at: Timestamp


class LineOut(msgspec.Struct):
    kind: str
    description: str
    quantity: int
    unit_amount: MinorUnits
    amount: MinorUnits
    basis: MinorUnits | None = None


class StepOut(msgspec.Struct):
    at: Timestamp
    kind: str
    amount: MinorUnits
    detail: dict[str, Any]


class InvoiceOut(msgspec.Struct):
    id: str
    number: str
    subscription_id: str
    plan_id: str
    account_id: AccountId
    receiving_account_id: AccountId
    currency: str
    period_start: date
    period_end: date
    issued_at: Timestamp
    due_on: date
    lines: list[LineOut]
    subtotal: MinorUnits
    tax_label: str
    tax_percent: str
    tax: MinorUnits
    total: MinorUnits
    paid_amount: MinorUnits
    credited_amount: MinorUnits
    written_off_amount: MinorUnits
    amount_due: MinorUnits
    status: str
    overdue: bool
    attempts: int
    next_attempt_on: date | None
    steps: list[StepOut] | None = None


class InvoicePage(msgspec.Struct):
    data: list[InvoiceOut]
    has_more: bool
    next_cursor: str | None


class PreviewOut(msgspec.Struct):
    subscription_id: str
    account_id: AccountId
    currency: str
    period_start: date
    period_end: date
    due_on: date
    lines: list[LineOut]
    subtotal: MinorUnits
    tax_label: str
    tax_percent: str
    tax: MinorUnits
    total: MinorUnits


class CreditCreate(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None


class SettingsOut(msgspec.Struct):
    partial_collection: bool
    dunning_retries: int
    freeze_after_dunning: bool


class SettingsUpdate(msgspec.Struct, forbid_unknown_fields=True):
    partial_collection: bool | None = None
    dunning_retries: int | None = None
    freeze_after_dunning: bool | None = None
