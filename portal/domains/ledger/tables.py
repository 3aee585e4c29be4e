"""Piccolo mirrors of the ledger tables (the SQL in piccolo_migrations is the source of truth)."""

from piccolo.columns import JSONB, BigInt, Text, Timestamptz, Varchar
from piccolo.table import Table


class LedgerReference(Table, tablename="ledger_reference"):
    business_id = Text()
    reference = Text()
    object_id = Text()
    created_at = Timestamptz()


class Transfer(Table, tablename="transfer"):
    """Immutable: a trigger refuses UPDATE, DELETE and TRUNCATE."""

    seq = BigInt()
    id = Text(primary_key=True)
    business_id = Text()
    debit_account_id = Text()
    credit_account_id = Text()
    amount = BigInt()
    currency = Varchar(length=3)
    phase = Text()
    released_amount = BigInt()
    hold_id = Text(null=True)
    kind = Text()
    reference = Text(null=True)
    description = Text()
    metadata = JSONB()
    group_id = Text(null=True)
    reverses_id = Text(null=True)
    source_id = Text(null=True)
    created_at = Timestamptz()


class Hold(Table, tablename="hold"):
    id = Text(primary_key=True)
    business_id = Text()
    transfer_id = Text()
    debit_account_id = Text()
    credit_account_id = Text()
    amount = BigInt()
    posted_amount = BigInt()
    currency = Varchar(length=3)
    kind = Text()
    reference = Text(null=True)
    status = Text()
    expires_at = Timestamptz(null=True)
    created_at = Timestamptz()
    resolved_at = Timestamptz(null=True)
    resolution_transfer_id = Text(null=True)


class TopUp(Table, tablename="topup"):
    id = Text(primary_key=True)
    business_id = Text()
    account_id = Text()
    amount = BigInt()
    fee = BigInt()
    currency = Varchar(length=3)
    reference = Text()
    status = Text()
    pay_bank_code = Varchar(length=8)
    pay_account_number = Text()
    pay_holder_name = Text()
    group_id = Text(null=True)
    expires_at = Timestamptz()
    paid_at = Timestamptz(null=True)
    created_at = Timestamptz()


class Withdrawal(Table, tablename="withdrawal"):
    id = Text(primary_key=True)
    business_id = Text()
    account_id = Text()
    amount = BigInt()
    fee = BigInt()
    currency = Varchar(length=3)
    reference = Text()
    status = Text()
    bank_code = Varchar(length=8)
    bank_account_number = Text()
    bank_holder_name = Text()
    amount_hold_id = Text()
    fee_hold_id = Text(null=True)
    failure_reason = Text(null=True)
    created_at = Timestamptz()
    completed_at = Timestamptz(null=True)
