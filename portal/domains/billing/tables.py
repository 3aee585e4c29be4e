"""Piccolo mirrors of the billing tables (the SQL migration is the source of truth)."""

from piccolo.columns import JSONB, BigInt, Date, Integer, Text, Timestamptz
from piccolo.table import Table


class BillingCustomer(Table, tablename="billing_customer"):
    id = Text(primary_key=True)
    business_id = Text()
    customer_ref = Text()
    name = Text()
    email = Text(null=True)
    phone = Text(null=True)
    created_by = Text(null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Billing(Table, tablename="billing"):
    id = Text(primary_key=True)
    business_id = Text()
    customer_id = Text()
    billing_number = Text()
    account_id = Text()
    amount = BigInt()
    currency = Text()
    description = Text()
    kind = Text()
    status = Text()
    schedule_type = Text(null=True)
    schedule = JSONB()
    card_status = Text()
    card_registration_id = Text(null=True)
    card_hosted_url = Text(null=True)
    card_attempt = Integer()
    card_token = Text(null=True)
    card_first6 = Text(null=True)
    card_last4 = Text(null=True)
    card_brand = Text(null=True)
    card_issuer = Text(null=True)
    card_expiry_month = Integer(null=True)
    card_expiry_year = Integer(null=True)
    card_registered_at = Timestamptz(null=True)
    created_by = Text(null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    deleted_at = Timestamptz(null=True)


class BillingExecuteDate(Table, tablename="billing_execute_date"):
    business_id = Text()
    billing_id = Text()
    execute_date = Date()
    status = Text()
    deleted_by = Text(null=True)
    deleted_at = Timestamptz(null=True)


class BillingCharge(Table, tablename="billing_charge"):
    id = Text(primary_key=True)
    business_id = Text()
    billing_id = Text()
    customer_id = Text()
    kind = Text()
    execute_date = Date()
    billing_number = Text()
    invoice_number = Text()
    account_id = Text()
    amount = BigInt()
    currency = Text()
    status = Text()
    attempt = Integer()
    next_attempt_on = Date(null=True)
    claimed_by = Text(null=True)
    claimed_at = Timestamptz(null=True)
    response_code = Text(null=True)
    approval_code = Text(null=True)
    error_message = Text(null=True)
    issuer = Text(null=True)
    card_first6 = Text(null=True)
    card_last4 = Text(null=True)
    card_brand = Text(null=True)
    payment_id = Text(null=True)
    provider_payin_id = Text(null=True)
    refunded_amount = BigInt()
    batch_id = Text(null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    charged_at = Timestamptz(null=True)


class BillingChargeAttempt(Table, tablename="billing_charge_attempt"):
    business_id = Text()
    charge_id = Text()
    attempt = Integer()
    invoice_number = Text()
    status = Text()
    response_code = Text(null=True)
    approval_code = Text(null=True)
    error_message = Text(null=True)
    issuer = Text(null=True)
    payment_id = Text(null=True)
    attempted_at = Timestamptz()


class BillingBatch(Table, tablename="billing_batch"):
    id = Text(primary_key=True)
    business_id = Text()
    kind = Text()
    file_name = Text()
    status = Text()
    total_data = Integer()
    invalid_data = Integer()
    total_amount = BigInt()
    created_by = Text(null=True)
    created_at = Timestamptz()
    processed_at = Timestamptz(null=True)


class BillingBatchRow(Table, tablename="billing_batch_row"):
    business_id = Text()
    batch_id = Text()
    line = Integer()
    data = JSONB()
    errors = JSONB()
