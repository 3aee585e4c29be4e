"""API shapes of card billing: customers, billings (schedule, card), charges (docs/billing.md)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

import msgspec

from portal.lib.api_types import AccountId, MinorUnits, Timestamp


class CustomerCreate(msgspec.Struct, forbid_unknown_fields=True):
    customer_id: str
    name: str
    email: str | None = None
    phone: str | None = None


class CustomerUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class CustomerOut(msgspec.Struct):
    id: str
    customer_id: str
    name: str
    email: str | None
    phone: str | None
    created_at: Timestamp
    object: str = "customer"


class CustomerPage(msgspec.Struct):
    data: list[CustomerOut]
    has_more: bool
    next_cursor: str | None


class ScheduleIn(msgspec.Struct, forbid_unknown_fields=True):
    schedule_type: Literal["date", "day", "full_date"]
    day: int | None = None
    weekdays: list[int] | None = None
    months: list[int] | None = None
    dates: list[str] | None = None


class BillingCreate(msgspec.Struct, forbid_unknown_fields=True):
    customer_id: str
    billing_number: str
    amount: int
    account_id: AccountId | None = None
    currency: str = "IDR"
    description: str | None = None
    type: Literal["recurring", "reminder"] = "recurring"
    schedule: ScheduleIn | None = None


class ChangeType(msgspec.Struct, forbid_unknown_fields=True):
    type: Literal["recurring", "reminder"]


class DeleteExecuteDate(msgspec.Struct, forbid_unknown_fields=True):
    """An execute date of the billing, or the Invoice Number of its scheduled single payment (or of a
    date: `<billing number>-<YYYYMMDD>`); both may be given and must then agree."""

    execute_date: date | None = None
    invoice_number: str | None = None
    otp: str | None = None


class ScheduledDateOut(msgspec.Struct):
    """An execute date not yet run: a billing's date (Recurring or Reminder) or a single payment."""

    billing_id: str
    billing_number: str
    invoice_number: str
    execute_date: date
    type: str
    amount: MinorUnits
    currency: str
    charge_id: str | None
    object: str = "scheduled_date"


class ScheduledDatePage(msgspec.Struct):
    data: list[ScheduledDateOut]


class CardRegistrationStart(msgspec.Struct, forbid_unknown_fields=True):
    return_url: str


class CardOut(msgspec.Struct):
    status: str
    first6: str | None
    last4: str | None
    brand: str | None
    issuer: str | None
    expiry_month: int | None
    expiry_year: int | None
    hosted_url: str | None
    registration_id: str | None


class BillingOut(msgspec.Struct):
    id: str
    billing_number: str
    customer_id: str
    customer_ref: str
    account_id: AccountId
    amount: MinorUnits
    currency: str
    description: str
    type: str
    status: str
    schedule_type: str | None
    schedule: dict[str, Any]
    next_execute_dates: list[date]
    card: CardOut
    created_at: Timestamp
    object: str = "billing"


class BillingPage(msgspec.Struct):
    data: list[BillingOut]
    has_more: bool
    next_cursor: str | None


class ChargeOut(msgspec.Struct):
    id: str
    billing_id: str
    billing_number: str
    invoice_number: str
    type: str
    execute_date: date
    account_id: AccountId
    amount: MinorUnits
    currency: str
    status: str
    attempt: int
    next_attempt_on: date | None
    response_code: str | None
    approval_code: str | None
    error_message: str | None
    issuer: str | None
    card_first6: str | None
    card_last4: str | None
    card_brand: str | None
    payment_id: str | None
    refunded_amount: MinorUnits
    batch_id: str | None
    created_at: Timestamp
    charged_at: Timestamp | None
    object: str = "charge"


class ChargePage(msgspec.Struct):
    data: list[ChargeOut]
    has_more: bool
    next_cursor: str | None


class RefundIn(msgspec.Struct, forbid_unknown_fields=True):
    amount: int | None = None
    reason: str | None = None


class RunOut(msgspec.Struct):
    charged: int
    paid: int
    failed: int
    retrying: int
    reminded: int
    object: str = "billing_run"


class BatchCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["registration", "transaction"]
    file_name: str
    # The CSV or XLSX file, base64-encoded.
    content_base64: str


class BatchRowOut(msgspec.Struct):
    line: int
    data: dict[str, str]
    errors: list[dict[str, str]]


class BatchOut(msgspec.Struct):
    id: str
    kind: str
    file_name: str
    status: str
    total_data: int
    invalid_data: int
    total_amount: MinorUnits
    created_at: Timestamp
    processed_at: Timestamp | None
    rows: list[BatchRowOut] | None = None
    object: str = "billing_batch"


class BatchPage(msgspec.Struct):
    data: list[BatchOut]
    has_more: bool
    next_cursor: str | None
