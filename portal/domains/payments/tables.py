"""Piccolo mirrors of the payments tables (the SQL migration is the source of truth)."""

from piccolo.columns import JSONB, BigInt, Date, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class PaymentSettings(Table, tablename="payment_settings"):
    business_id = Text(primary_key=True)
    va_flat = BigInt()
    qris_rate = Integer()
    card_rate = Integer()
    card_flat = BigInt()
    ewallet_rate = Integer()
    default_settlement_account_id = Text(null=True)
    split_service = Text()
    split_requested_at = Timestamptz(null=True)
    split_verified_at = Timestamptz(null=True)
    deduction_grace_days = Integer()
    updated_at = Timestamptz()


class SplitRule(Table, tablename="split_rule"):
    id = Text(primary_key=True)
    business_id = Text()
    name = Text()
    account_id = Text(null=True)
    destinations = JSONB()
    deleted_at = Timestamptz(null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Payment(Table, tablename="payment"):
    id = Text(primary_key=True)
    business_id = Text()
    account_id = Text()
    amount = BigInt()
    currency = Varchar(length=3)
    channel = Text()
    bank_code = Text(null=True)
    wallet = Text(null=True)
    phone = Text(null=True)
    card_token = Text(null=True)
    invoice_number = Text()
    customer_id = Text(null=True)
    customer_name = Text()
    customer_email = Text(null=True)
    description = Text()
    metadata = JSONB()
    source = Text()
    request_hash = Text()
    status = Text()
    remark = Text(null=True)
    split = JSONB(null=True)
    split_rule_id = Text(null=True)
    fee = BigInt()
    refunded_amount = BigInt()
    provider_payin_id = Text(null=True)
    va_number = Text(null=True)
    qris_string = Text(null=True)
    pay_url = Text(null=True)
    response_code = Text(null=True)
    approval_code = Text(null=True)
    issuer = Text(null=True)
    failure_message = Text(null=True)
    hold_id = Text(null=True)
    split_hold_id = Text(null=True)
    settlement_id = Text(null=True)
    expires_at = Timestamptz(null=True)
    paid_at = Timestamptz(null=True)
    settled_at = Timestamptz(null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class PaymentRefund(Table, tablename="payment_refund"):
    id = Text(primary_key=True)
    business_id = Text()
    payment_id = Text()
    amount = BigInt()
    fee = BigInt()
    reason = Text()
    status = Text()
    provider_refund_id = Text(null=True)
    group_id = Text(null=True)
    created_at = Timestamptz()


class Settlement(Table, tablename="settlement"):
    id = Text(primary_key=True)
    business_id = Text()
    channel = Text()
    business_day = Date()
    settlement_date = Date()
    status = Text()
    payment_count = Integer()
    gross = BigInt()
    fees = BigInt()
    refunds = BigInt()
    refund_fees = BigInt()
    net = BigInt()
    group_id = Text(null=True)
    created_at = Timestamptz()
    paid_at = Timestamptz(null=True)


class SettlementLine(Table, tablename="settlement_line"):
    business_id = Text()
    settlement_id = Text()
    payment_id = Text()
    account_id = Text()
    amount = BigInt()
    fee = BigInt()
    refunded = BigInt()
    refund_fee = BigInt()
    net = BigInt()


class SettlementPart(Table, tablename="settlement_part"):
    id = Text(primary_key=True)
    business_id = Text()
    settlement_id = Text()
    payment_id = Text()
    kind = Text()
    account_id = Text(null=True)
    beneficiary_id = Text(null=True)
    amount = BigInt()
    status = Text()
    payout_reference = Text(null=True)
    created_at = Timestamptz()


class SettlementDeduction(Table, tablename="settlement_deduction"):
    id = Text(primary_key=True)
    business_id = Text()
    refund_id = Text()
    payment_id = Text()
    channel = Text()
    kind = Text()
    account_id = Text(null=True)
    beneficiary_id = Text(null=True)
    reason = Text()
    amount = BigInt()
    remaining = BigInt()
    created_at = Timestamptz()


class SettlementDeductionTake(Table, tablename="settlement_deduction_take"):
    business_id = Text()
    settlement_id = Text()
    deduction_id = Text()
    amount = BigInt()


class SettlementDeductionDebit(Table, tablename="settlement_deduction_debit"):
    id = Text(primary_key=True)
    business_id = Text()
    deduction_id = Text()
    account_id = Text()
    amount = BigInt()
    transfer_id = Text()
    created_at = Timestamptz()
