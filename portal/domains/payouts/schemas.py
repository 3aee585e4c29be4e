"""API shapes of beneficiaries, rails and quotes (docs/payouts.md)."""

from __future__ import annotations

from datetime import date
from typing import Literal

import msgspec

from portal.lib.api_types import AccountId, MinorUnits, Timestamp


class BeneficiaryCreate(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["bank", "ewallet"]
    holder_name: str
    account_id: AccountId | None = None
    bank_code: str | None = None
    account_number: str | None = None
    wallet: str | None = None
    phone: str | None = None
    label: str | None = None
    is_default: bool = False
    # Set to the holder name the name inquiry returned to accept a name that differs from `holder_name`.
    confirm_holder_name: str | None = None


class BeneficiaryOut(msgspec.Struct):
    id: str
    account_id: AccountId
    kind: str
    bank_code: str | None
    wallet: str | None
    account_number: str
    holder_name: str
    typed_name: str
    name_matches: bool
    verified_at: Timestamp
    usable_from: Timestamp
    is_default: bool
    label: str | None
    created_at: Timestamp
    object: str = "beneficiary"


class PayoutSettingsOut(msgspec.Struct):
    # Payouts above this many rupiah await another user's approval; None: only reviews and batches do.
    approval_threshold: int | None
    beneficiary_cooldown_s: int
    currency: str = "IDR"


class BeneficiaryPage(msgspec.Struct):
    data: list[BeneficiaryOut]
    has_more: bool
    next_cursor: str | None


class WindowOut(msgspec.Struct):
    opens: str
    cutoff: str
    settles: str | None


class RailOut(msgspec.Struct):
    code: str
    name: str
    destination: str
    min_amount: MinorUnits
    max_amount: MinorUnits
    fee: MinorUnits
    fee_cap: MinorUnits | None
    always_open: bool
    windows: list[WindowOut]
    active: bool
    object: str = "rail"


class RailList(msgspec.Struct):
    data: list[RailOut]
    next_business_days: list[date]


class QuoteOut(msgspec.Struct):
    rail: str
    rail_name: str
    amount: MinorUnits
    fee: MinorUnits
    currency: str
    received_at: Timestamp
    eta: Timestamp
    processing_day: date
    scheduled: bool
    object: str = "rail_quote"


class PayoutCreate(msgspec.Struct, forbid_unknown_fields=True):
    beneficiary_id: str
    amount: MinorUnits
    reference: str
    rail: str | None = None
    description: str | None = None


class PayoutOut(msgspec.Struct):
    id: str
    account_id: AccountId
    kind: str
    beneficiary_id: str | None
    withdrawal_id: str | None
    destination_kind: str
    bank_code: str | None
    wallet: str | None
    account_number: str  # masked: only the last four digits
    holder_name: str
    rail: str
    amount: MinorUnits
    fee: MinorUnits
    total: MinorUnits
    currency: str
    reference: str
    description: str
    status: str
    approval_reason: str | None
    eta: Timestamp
    process_at: Timestamp
    bank_reference: str | None
    failure_code: str | None
    created_by_name: str
    approved_by_name: str | None
    created_at: Timestamp
    submitted_at: Timestamp | None
    completed_at: Timestamp | None
    reversed_at: Timestamp | None
    verification_code: str | None
    object: str = "payout"


class PayoutPage(msgspec.Struct):
    data: list[PayoutOut]
    has_more: bool
    next_cursor: str | None


class ApprovalIn(msgspec.Struct, forbid_unknown_fields=True):
    code: str


class RejectionIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class ProofCheck(msgspec.Struct):
    valid: bool
    payout_id: str | None = None
    amount: MinorUnits | None = None
    currency: str | None = None
    rail: str | None = None
    bank_reference: str | None = None
    account_number: str | None = None
    holder_name: str | None = None
    completed_at: Timestamp | None = None
    status: str | None = None


class BatchCreate(msgspec.Struct, forbid_unknown_fields=True):
    filename: str
    # The CSV or XLSX file, base64-encoded.
    content: str
    account_id: AccountId | None = None


class BatchRowError(msgspec.Struct):
    column: str
    message: str


class BatchRowOut(msgspec.Struct):
    row: int
    reference: str
    amount: str
    code: str
    account_number: str
    holder_name: str
    description: str
    email: str
    rail: str | None
    fee: MinorUnits | None
    errors: list[BatchRowError]
    payout_id: str | None
    status: str | None
    bank_reference: str | None
    failure_code: str | None
    # The provider's name inquiry: pending | matched | mismatch | not_found | closed | unavailable
    # (null: uploaded before rows were checked).
    name_status: str | None = None
    bank_holder_name: str | None = None
    name_accepted_by_name: str | None = None


class BatchOut(msgspec.Struct):
    id: str
    account_id: AccountId
    filename: str
    status: str
    rows: int
    invalid: int
    total_amount: MinorUnits
    total_fee: MinorUnits
    progress: dict[str, int]
    created_by_name: str
    approved_by_name: str | None
    created_at: Timestamp
    object: str = "payout_batch"


class BatchDetail(msgspec.Struct):
    batch: BatchOut
    data: list[BatchRowOut]


class BatchPage(msgspec.Struct):
    data: list[BatchOut]
    has_more: bool
    next_cursor: str | None
