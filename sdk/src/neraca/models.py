"""Typed results of the Neraca API (docs/api-contract.md, "Objects").

Every model is a frozen dataclass. Amounts are ``int`` in minor units of the object's currency (IDR has
no minor unit: 150000 is Rp150.000). Timestamps are timezone-aware ``datetime`` objects. Fields the SDK
does not know yet are ignored, and the whole decoded JSON object stays available as ``.raw``.
Enumerated values (``kind``, ``status``) are plain strings so that a new value on the server does not
break an older SDK; the known values are listed on each field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

__all__ = [
    "Account",
    "Balance",
    "BankAccount",
    "Beneficiary",
    "Billing",
    "BillingBatch",
    "BillingBatchRow",
    "BillingCard",
    "Business",
    "Charge",
    "Customer",
    "Hold",
    "Invoice",
    "InvoiceLine",
    "InvoiceMonth",
    "InvoiceMonthlyReport",
    "InvoicePlanPeriod",
    "InvoicePlansReport",
    "InvoicePreview",
    "InvoiceReceivable",
    "InvoiceReceivablesReport",
    "InvoiceStep",
    "Me",
    "NeracaObject",
    "Page",
    "Payment",
    "PaymentRefund",
    "Payout",
    "PayoutBatch",
    "PayoutBatchList",
    "PayoutBatchRow",
    "PayoutBatchRowError",
    "PayoutBatchSummary",
    "PayoutSettings",
    "Plan",
    "Rail",
    "RailList",
    "RailQuote",
    "RailWindow",
    "RefundDeduction",
    "ScheduledDate",
    "Settlement",
    "SettlementDeduction",
    "SettlementDetail",
    "SettlementLine",
    "SplitPreview",
    "SplitRule",
    "SplitShare",
    "StatementEntry",
    "StatementPage",
    "StatementPeriod",
    "Subscription",
    "TopUp",
    "Transfer",
    "TransferGroup",
    "UsageLine",
    "Withdrawal",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class NeracaObject:
    """Base of every model: keeps the decoded JSON object it was built from."""

    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class BankAccount(NeracaObject):
    """A bank (or e-wallet) account: settlement destination, payout destination, payment instructions."""

    bank_code: str
    account_number: str
    holder_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Business(NeracaObject):
    """The business an API key belongs to."""

    id: str
    name: str
    mode: str
    """``sandbox`` or ``live``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Me(NeracaObject):
    """The API key making the call: its business, permissions and account-subtree scope."""

    business: Business
    client_id: str
    name: str
    permissions: list[str]
    scope_account_id: str | None
    """None when the key acts for the whole business, else the root of the subtree it may touch."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Account(NeracaObject):
    """A node of the account tree: the main account, a partner or a division."""

    id: str
    parent_id: str | None
    """None only for the main account."""
    name: str
    kind: str
    """``main``, ``partner`` or ``division``."""
    currency: str
    status: str
    """``active``, ``frozen`` (no debits) or ``closed``."""
    reference: str | None
    email: str | None
    phone: str | None
    settlement_bank: BankAccount | None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Balance(NeracaObject):
    """Balances of one account (or of a subtree, for a roll-up), in minor units.

    ``available = credits_posted - debits_posted - debits_pending``; ``posted`` ignores pending;
    ``pending_in`` is money on its way in (pending credits); ``on_hold`` is pending debits.
    """

    account_id: str
    currency: str
    available: int
    posted: int
    pending_in: int
    on_hold: int
    as_of: datetime
    accounts: int | None = None
    """Number of accounts summed, on a roll-up only."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer(NeracaObject):
    """An immutable movement of ``amount`` from one account to another of the same currency."""

    id: str
    from_account_id: str
    to_account_id: str
    amount: int
    currency: str
    reference: str | None
    description: str | None
    kind: str
    """``transfer``, ``topup``, ``fee``, ``withdrawal``, ``hold_post``, ``reversal``, ..."""
    group_id: str | None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferGroup(NeracaObject):
    """Transfers that were booked together: all of them or none."""

    id: str
    reference: str
    transfers: list[Transfer]
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Hold(NeracaObject):
    """A pending transfer: the amount is reserved until posted (fully or partly), voided or expired."""

    id: str
    from_account_id: str
    to_account_id: str
    amount: int
    posted_amount: int
    currency: str
    reference: str
    status: str
    """``pending``, ``posted``, ``voided`` or ``expired``."""
    expires_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TopUp(NeracaObject):
    """Money coming into an account from outside: the payer pays ``total`` to the instructions."""

    id: str
    account_id: str
    amount: int
    fee: int
    total: int
    currency: str
    reference: str
    status: str
    """``pending``, ``paid`` or ``expired``."""
    payment_instructions: BankAccount | None
    expires_at: datetime | None
    paid_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Withdrawal(NeracaObject):
    """Money leaving an account to its settlement bank; reserved by a hold until paid or failed."""

    id: str
    account_id: str
    amount: int
    fee: int
    total: int
    currency: str
    reference: str
    status: str
    """``pending``, ``paid`` or ``failed`` (a failed withdrawal is refunded at once)."""
    bank: BankAccount | None
    failure_reason: str | None
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Beneficiary(NeracaObject):
    """A bank account or e-wallet payouts can go to, verified by the provider's name inquiry."""

    id: str
    account_id: str
    kind: str
    """``bank`` or ``ewallet``."""
    bank_code: str | None
    wallet: str | None
    """``OVO``, ``GOPAY``, ``DANA``, ``SHOPEEPAY`` or ``LINKAJA`` for an e-wallet."""
    account_number: str
    """The bank account number, or the e-wallet's phone number (08…)."""
    holder_name: str
    """The holder's name as the bank or e-wallet returned it."""
    typed_name: str
    name_matches: bool
    verified_at: datetime
    usable_from: datetime
    """No payout before this moment (the business's cool-down)."""
    is_default: bool
    label: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Payout(NeracaObject):
    """Money sent to a beneficiary (or, for a withdrawal, to the account's own bank account)."""

    id: str
    account_id: str
    kind: str
    """``payout`` or ``withdrawal``."""
    beneficiary_id: str | None
    withdrawal_id: str | None
    destination_kind: str
    bank_code: str | None
    wallet: str | None
    account_number: str
    """Masked: only the last four digits."""
    holder_name: str
    rail: str
    amount: int
    fee: int
    total: int
    currency: str
    reference: str
    description: str
    status: str
    """``awaiting_approval``, ``scheduled``, ``submitted``, ``succeeded``, ``failed``, ``reversed``,
    ``rejected`` or ``cancelled``."""
    approval_reason: str | None
    eta: datetime
    process_at: datetime
    bank_reference: str | None
    failure_code: str | None
    created_by_name: str
    approved_by_name: str | None
    created_at: datetime
    submitted_at: datetime | None
    completed_at: datetime | None
    reversed_at: datetime | None
    verification_code: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutSettings(NeracaObject):
    """The business's payout settings."""

    approval_threshold: int | None
    """Payouts above this many rupiah await another user's approval; ``None``: only those monitoring
    sends to review and batch rows do."""
    beneficiary_cooldown_s: int
    """Seconds a new beneficiary waits before its first payout."""
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutBatchSummary(NeracaObject):
    """A batch of payouts from one file, with its totals (valid rows) and progress (payouts by state)."""

    id: str
    account_id: str
    filename: str
    status: str
    """``draft``, ``submitted``, ``approved`` or ``rejected``."""
    rows: int
    invalid: int
    total_amount: int
    total_fee: int
    progress: dict[str, int]
    created_by_name: str
    approved_by_name: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutBatchRowError(NeracaObject):
    column: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutBatchRow(NeracaObject):
    """One row of the file as typed, its errors and, once submitted, its payout's state."""

    row: int
    reference: str
    amount: str
    code: str
    account_number: str
    holder_name: str
    description: str
    email: str
    rail: str | None
    fee: int | None
    errors: list[PayoutBatchRowError]
    payout_id: str | None
    status: str | None
    bank_reference: str | None
    failure_code: str | None
    # The provider's name inquiry: pending | matched | mismatch | not_found | closed | unavailable
    # (None: uploaded before rows were checked).
    name_status: str | None = None
    bank_holder_name: str | None = None
    name_accepted_by_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutBatch(NeracaObject):
    batch: PayoutBatchSummary
    data: list[PayoutBatchRow]


@dataclass(frozen=True, slots=True, kw_only=True)
class PayoutBatchList(NeracaObject):
    data: list[PayoutBatchSummary]
    has_more: bool
    next_cursor: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RailWindow(NeracaObject):
    """A period a business-day rail accepts instructions (WIB, ``HH:MM``); ``settles`` None = at once."""

    opens: str
    cutoff: str
    settles: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Rail(NeracaObject):
    """A payout rail with the business's limits and fee."""

    code: str
    name: str
    destination: str
    """``bank`` or an e-wallet code."""
    min_amount: int
    max_amount: int
    fee: int
    fee_cap: int | None
    always_open: bool
    """24/7 including holidays; otherwise business days within ``windows``."""
    windows: list[RailWindow]
    active: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RailList(NeracaObject):
    """The rails and the next business days (Indonesian calendar with the operator's overrides)."""

    data: list[Rail]
    next_business_days: list[date]


@dataclass(frozen=True, slots=True, kw_only=True)
class RailQuote(NeracaObject):
    """The rail a payout would take, its fee and when it would settle."""

    rail: str
    rail_name: str
    amount: int
    fee: int
    currency: str
    received_at: datetime
    eta: datetime
    processing_day: date
    scheduled: bool
    """True when the rail is closed now: the payout waits for ``processing_day``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementEntry(NeracaObject):
    """One line of an account statement; exactly one of ``debit`` and ``credit`` is non-zero."""

    booked_at: datetime
    transaction_id: str
    reference: str | None
    description: str | None
    account_id: str
    counterpart_account_id: str | None
    debit: int
    credit: int
    running_balance: int
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementPeriod(NeracaObject):
    """The calendar dates a statement covers (business time, Asia/Jakarta), both inclusive."""

    start: date
    end: date


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementPage(NeracaObject):
    """One page of a JSON statement: its entries plus the totals of the whole period."""

    data: list[StatementEntry]
    has_more: bool
    next_cursor: str | None
    opening_balance: int
    closing_balance: int
    total_debits: int
    total_credits: int
    currency: str
    period: StatementPeriod


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its items and the cursor of the next page (None on the last page)."""

    data: list[T]
    has_more: bool
    next_cursor: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan(NeracaObject):
    """A billing plan: what sub-accounts are billed each cycle (docs/invoices.md)."""

    id: str
    name: str
    currency: str
    cycle: str
    """``weekly``, ``monthly``, ``quarterly`` or ``yearly``."""
    fixed_amount: int
    percent: str
    """Per cent of the account's money in during the period, e.g. ``"2.5"``."""
    due_days: int
    tax_label: str
    tax_percent: str
    receiving_account_id: str
    status: str
    """``active`` or ``archived``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Payment(NeracaObject):
    """A payment a customer makes into an account through the provider (VA, QRIS, card, e-wallet)."""

    id: str
    account_id: str
    amount: int
    currency: str
    channel: str
    """``va``, ``qris``, ``card`` or ``ewallet``."""
    status: str
    """``pending``, ``paid`` (Payment Success), ``pending_settlement``, ``settled``, ``expired``, ``failed``,
    ``refunded``, ``partially_refunded`` or ``voided``."""
    remark: str | None = None
    invoice_number: str
    customer_id: str | None = None
    customer_name: str
    customer_email: str | None = None
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = "api"
    fee: int
    refunded_amount: int
    split: list[dict[str, Any]] | None = None
    split_rule_id: str | None = None
    provider_payin_id: str | None = None
    bank_code: str | None = None
    va_number: str | None = None
    qris_string: str | None = None
    pay_url: str | None = None
    wallet: str | None = None
    phone: str | None = None
    response_code: str | None = None
    approval_code: str | None = None
    issuer: str | None = None
    failure_message: str | None = None
    settlement_id: str | None = None
    expires_at: datetime | None = None
    paid_at: datetime | None = None
    settled_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Customer(NeracaObject):
    """A card billing customer (``customer_id`` is the business's own Customer ID)."""

    id: str
    customer_id: str
    name: str
    email: str | None
    phone: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription(NeracaObject):
    """An account subscribed to a plan, with its next billing period."""

    id: str
    plan_id: str
    account_id: str
    cycle_day: int
    starts_on: date
    ends_on: date | None
    next_period_start: date
    next_period_end: date
    status: str
    """``active``, ``ended`` or ``cancelled``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentRefund(NeracaObject):
    """A refund of a payment through the provider."""

    id: str
    payment_id: str
    amount: int
    fee: int
    reason: str
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageLine(NeracaObject):
    """A usage line the subscription's next invoice carries."""

    id: str
    subscription_id: str
    description: str
    quantity: int
    unit_amount: int
    amount: int
    invoice_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceLine(NeracaObject):
    """One line of an invoice: ``fixed``, ``percentage`` (with its money-in ``basis``) or ``usage``."""

    kind: str
    description: str
    quantity: int
    unit_amount: int
    amount: int
    basis: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceStep(NeracaObject):
    """A step of an invoice's life (issued, collected, payment_failed, notified, …)."""

    at: datetime
    kind: str
    amount: int
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Invoice(NeracaObject):
    """An invoice to a sub-account, collected from its balance on the due date."""

    id: str
    number: str
    """``INV-000042``: numbered per business without gaps."""
    subscription_id: str
    plan_id: str
    account_id: str
    receiving_account_id: str
    currency: str
    period_start: date
    period_end: date
    issued_at: datetime
    due_on: date
    lines: list[InvoiceLine]
    subtotal: int
    tax_label: str
    tax_percent: str
    tax: int
    total: int
    paid_amount: int
    credited_amount: int
    written_off_amount: int
    amount_due: int
    status: str
    """``open``, ``paid``, ``void``, ``written_off`` or ``credited``."""
    overdue: bool
    attempts: int
    next_attempt_on: date | None
    steps: list[InvoiceStep] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoicePreview(NeracaObject):
    """The dry run: a subscription's next invoice as it would be issued now (nothing is written)."""

    subscription_id: str
    account_id: str
    currency: str
    period_start: date
    period_end: date
    due_on: date
    lines: list[InvoiceLine]
    subtotal: int
    tax_label: str
    tax_percent: str
    tax: int
    total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceReceivable(NeracaObject):
    """What one account's open invoices still owe, by days past the due date (``current``: not yet due)."""

    account_id: str
    account_name: str
    currency: str
    current: int
    days_1_30: int
    days_31_60: int
    days_61_90: int
    over_90: int
    total: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceReceivablesReport(NeracaObject):
    """Receivables by account and age as of a WIB day."""

    as_of: date
    data: list[InvoiceReceivable]


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoicePlanPeriod(NeracaObject):
    """The invoices of one plan whose period starts in one month (``month``: its first day)."""

    plan_id: str
    plan_name: str
    currency: str
    month: date
    invoices: int
    billed: int
    collected: int
    open: int
    written_off: int
    credited: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoicePlansReport(NeracaObject):
    """Invoices by plan and period; ``start``/``end`` bound the periods' start (``None``: open-ended)."""

    start: date | None = None
    end: date | None = None
    data: list[InvoicePlanPeriod]


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceMonth(NeracaObject):
    """Billed (issued that month, voids excluded) and collected (net of credit notes) in one WIB month."""

    month: date
    currency: str
    billed: int
    collected: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceMonthlyReport(NeracaObject):
    """Billed against collected per WIB month, from ``start`` (the first day of the earliest month)."""

    start: date
    months: int
    data: list[InvoiceMonth]


@dataclass(frozen=True, slots=True, kw_only=True)
class SplitRule(NeracaObject):
    """A reusable split settlement rule: up to 10 destinations by percent or fixed amount."""

    id: str
    name: str
    account_id: str | None = None
    destinations: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SplitShare(NeracaObject):
    """What one destination receives in a split preview."""

    kind: str
    account_id: str | None = None
    beneficiary_id: str | None = None
    amount: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SplitPreview(NeracaObject):
    """A dry run of a split: ``parts`` + ``remainder`` = ``total_settlement_amount``."""

    gross: int
    fee: int
    total_settlement_amount: int
    parts: list[SplitShare]
    remainder: int
    remainder_account_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Settlement(NeracaObject):
    """A settlement batch: one channel's payments of one business day, settled T+N business days later."""

    id: str
    channel: str
    business_day: date
    settlement_date: date
    status: str
    """``pending`` or ``paid``."""
    payment_count: int
    gross: int
    fees: int
    refunds: int
    refund_fees: int
    net: int
    created_at: datetime
    paid_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SettlementLine(NeracaObject):
    """One payment in a settlement batch."""

    payment_id: str
    invoice_number: str
    account_id: str
    amount: int
    fee: int
    refunded: int
    refund_fee: int
    net: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SettlementDeduction(NeracaObject):
    """What a batch kept back from one destination for a refund of an earlier, settled payment."""

    deduction_id: str
    refund_id: str
    payment_id: str
    invoice_number: str
    kind: str
    """``account`` or ``bank``."""
    account_id: str | None
    beneficiary_id: str | None
    reason: str
    """``refund`` or ``refund_fee``."""
    amount: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundDeduction(NeracaObject):
    """What one destination owes for a refund of a settled payment: taken by the channel's next batches,
    then, from ``balance_from`` (after the business's grace days), from its available balance."""

    id: str
    refund_id: str
    payment_id: str
    invoice_number: str
    channel: str
    kind: str
    """``account`` or ``bank``."""
    account_id: str | None
    beneficiary_id: str | None
    reason: str
    """``refund`` or ``refund_fee``."""
    amount: int
    taken_by_batches: int
    taken_from_balance: int
    remaining: int
    """Still owed."""
    status: str
    """``open`` (the next batches take it), ``overdue`` (the balance gives it when available), ``settled``."""
    balance_from: datetime
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class SettlementDetail(NeracaObject):
    """A settlement batch with its payments and the deductions it kept back for earlier refunds."""

    settlement: Settlement
    lines: list[SettlementLine]
    deductions: list[SettlementDeduction] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class BillingCard(NeracaObject):
    """The billing's card as the provider tokenised it: masked parts only, never the number."""

    status: str
    """``none``, ``pending`` (open ``hosted_url``), ``registered`` or ``failed``."""
    first6: str | None
    last4: str | None
    brand: str | None
    issuer: str | None
    expiry_month: int | None
    expiry_year: int | None
    hosted_url: str | None
    registration_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Billing(NeracaObject):
    """A customer's billing: Billing Number, account, amount, type, status, schedule and card."""

    id: str
    billing_number: str
    customer_id: str
    customer_ref: str
    account_id: str
    amount: int
    currency: str
    description: str
    type: str
    """``recurring`` (charges the card) or ``reminder`` (notifies only)."""
    status: str
    """``active`` or ``inactive``."""
    schedule_type: str | None
    """``date``, ``day``, ``full_date`` or None."""
    schedule: dict[str, Any]
    next_execute_dates: list[date]
    card: BillingCard
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduledDate(NeracaObject):
    """An execute date not yet run: a billing's date (its future invoice number) or a scheduled single
    payment (``type`` ``single``, its charge's id); deleted with ``billings.delete_execute_date``."""

    billing_id: str
    billing_number: str
    invoice_number: str
    execute_date: date
    type: str
    amount: int
    currency: str
    charge_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Charge(NeracaObject):
    """One charge of a billing on an execute date (or a single payment), with the bank's answer."""

    id: str
    billing_id: str
    billing_number: str
    invoice_number: str
    type: str
    execute_date: date
    account_id: str
    amount: int
    currency: str
    status: str
    """``pending``, ``charging``, ``retry``, ``paid``, ``failed``, ``reminded``, ``voided``, ``refunded``,
    ``partially_refunded``, ``cancelled`` (a scheduled single payment cancelled before it was charged)."""
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
    refunded_amount: int
    batch_id: str | None
    created_at: datetime
    charged_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class BillingBatchRow(NeracaObject):
    """One row of an uploaded file as read, with the reasons it is invalid (empty when valid)."""

    line: int
    data: dict[str, str]
    errors: list[dict[str, str]]


@dataclass(frozen=True, slots=True, kw_only=True)
class BillingBatch(NeracaObject):
    """An uploaded Registration or Batch Transaction file."""

    id: str
    kind: str
    """``registration`` or ``transaction``."""
    file_name: str
    status: str
    """``validated`` or ``processed``."""
    total_data: int
    invalid_data: int
    total_amount: int
    created_at: datetime
    processed_at: datetime | None
    rows: list[BillingBatchRow] | None = None
