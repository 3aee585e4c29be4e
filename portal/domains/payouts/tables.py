"""Piccolo mirrors of the payouts tables (the SQL migration is the source of truth)."""

from piccolo.columns import JSONB, BigInt, Boolean, Date, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class RefPayoutRail(Table, tablename="ref_payout_rails"):
    code = Text(primary_key=True)
    name = Text()
    provider_rail = Text()
    destination = Text()
    min_amount = BigInt()
    max_amount = BigInt()
    fee = BigInt()
    fee_cap = BigInt(null=True)
    always_open = Boolean()
    windows = JSONB()
    sort_order = Integer()
    active = Boolean()
    updated_at = Timestamptz()


class PayoutRailTerms(Table, tablename="payout_rail_terms"):
    business_id = Text()
    code = Text()
    min_amount = BigInt()
    max_amount = BigInt()
    fee = BigInt()
    active = Boolean()
    updated_at = Timestamptz()


class PayoutCalendarOverride(Table, tablename="payout_calendar_override"):
    day = Date(primary_key=True)
    is_business_day = Boolean()
    note = Text()
    updated_at = Timestamptz()


class PayoutSettings(Table, tablename="payout_settings"):
    business_id = Text(primary_key=True)
    beneficiary_cooldown_s = Integer()
    updated_at = Timestamptz()


class Beneficiary(Table, tablename="beneficiary"):
    id = Text(primary_key=True)
    business_id = Text()
    account_id = Text()
    kind = Text()
    bank_code = Varchar(length=8, null=True)
    wallet = Text(null=True)
    account_number = Text()
    typed_name = Text()
    holder_name = Text()
    name_matches = Boolean()
    verified_at = Timestamptz()
    usable_from = Timestamptz()
    is_default = Boolean()
    label = Text(null=True)
    status = Text()
    created_by = Text(null=True)
    created_at = Timestamptz()
    deleted_at = Timestamptz(null=True)
