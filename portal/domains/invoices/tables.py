"""Piccolo mirrors of the invoices tables (the SQL migration is the source of truth; keys are
(business_id, id), mirrored here by `id` alone)."""

from piccolo.columns import JSONB, BigInt, Boolean, Date, Integer, Text, Timestamptz
from piccolo.table import Table


class InvoiceSettings(Table, tablename="invoice_settings"):
    business_id = Text(primary_key=True)
    partial_collection = Boolean()
    dunning_retries = Integer()
    freeze_after_dunning = Boolean()
    updated_at = Timestamptz()


class InvoiceCounter(Table, tablename="invoice_counter"):
    business_id = Text(primary_key=True)
    last_number = BigInt()


class InvoicePlan(Table, tablename="invoice_plan"):
    id = Text(primary_key=True)
    business_id = Text()
    name = Text()
    currency = Text()
    fixed_amount = BigInt()
    percent_bp = Integer()
    cycle = Text()
    due_days = Integer()
    tax_label = Text()
    tax_bp = Integer()
    receiving_account_id = Text()
    status = Text()
    created_at = Timestamptz()


class InvoiceSubscription(Table, tablename="invoice_subscription"):
    id = Text(primary_key=True)
    business_id = Text()
    plan_id = Text()
    account_id = Text()
    cycle_day = Integer()
    starts_on = Date()
    ends_on = Date(null=True)
    period_start = Date()
    period_end = Date()
    status = Text()
    created_at = Timestamptz()


class Invoice(Table, tablename="invoice"):
    id = Text(primary_key=True)
    business_id = Text()
    number = BigInt()
    subscription_id = Text()
    plan_id = Text()
    account_id = Text()
    receiving_account_id = Text()
    currency = Text()
    period_start = Date()
    period_end = Date()
    issued_at = Timestamptz()
    due_on = Date()
    lines = JSONB()
    subtotal = BigInt()
    tax_label = Text()
    tax_bp = Integer()
    tax = BigInt()
    total = BigInt()
    paid_amount = BigInt()
    credited_amount = BigInt()
    written_off_amount = BigInt()
    status = Text()
    attempts = Integer()
    next_attempt_on = Date(null=True)
    overdue = Boolean()
    closed_at = Timestamptz(null=True)


class InvoiceUsage(Table, tablename="invoice_usage"):
    id = Text(primary_key=True)
    business_id = Text()
    subscription_id = Text()
    description = Text()
    quantity = BigInt()
    unit_amount = BigInt()
    amount = BigInt()
    invoice_id = Text(null=True)
    created_at = Timestamptz()


class InvoiceStep(Table, tablename="invoice_step"):
    seq = BigInt(primary_key=True)
    business_id = Text()
    invoice_id = Text()
    at = Timestamptz()
    kind = Text()
    amount = BigInt()
    detail = JSONB()
