"""Piccolo mirrors of the accounts tables (the SQL in piccolo_migrations is the source of truth)."""

from piccolo.columns import JSONB, BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class RefBank(Table, tablename="ref_banks"):
    """Indonesian banks with their Bank Indonesia clearing codes (seeded by migration)."""

    code = Varchar(length=8, primary_key=True)
    name = Text()


class Account(Table, tablename="account"):
    """One node of a business's account tree, with its four TigerBeetle-style balance columns."""

    id = Text(primary_key=True)
    business_id = Text()
    parent_id = Text(null=True)
    path = Text()
    depth = Integer()
    name = Text()
    kind = Text()
    system_role = Text(null=True)
    currency = Varchar(length=3)
    status = Text()
    reference = Text(null=True)
    email = Text(null=True)
    phone = Text(null=True)
    settlement_bank_code = Varchar(length=8, null=True)
    settlement_account_number = Text(null=True)
    settlement_holder_name = Text(null=True)
    metadata = JSONB()
    debits_posted = BigInt()
    credits_posted = BigInt()
    debits_pending = BigInt()
    credits_pending = BigInt()
    created_at = Timestamptz()
    updated_at = Timestamptz()
