"""Piccolo mirrors of the provider tables (the SQL migration is the source of truth)."""

from piccolo.columns import JSONB, BigInt, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class ProviderRequest(Table, tablename="provider_request"):
    external_id = Text(primary_key=True)
    business_id = Text()
    purpose = Text()
    method = Text()
    path = Text()
    body = Text()
    state = Text()
    status_code = Integer(null=True)
    response = JSONB(null=True)
    attempts = Integer()
    created_at = Timestamptz()
    answered_at = Timestamptz(null=True)


class ProviderPayin(Table, tablename="provider_payin"):
    payin_id = Text(primary_key=True)
    business_id = Text()
    reference = Text()
    source_kind = Text()
    source_id = Text()
    channel = Text()
    bank_code = Text(null=True)
    va_number = Text(null=True)
    amount = BigInt()
    currency = Varchar(length=3)
    status = Text()
    expires_at = Timestamptz(null=True)
    paid_at = Timestamptz(null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class ProviderEvent(Table, tablename="provider_event"):
    event_id = Text(primary_key=True)
    business_id = Text()
    kind = Text()
    type = Text()
    object_id = Text()
    payload = JSONB()
    state = Text()
    outcome = Text(null=True)
    occurred_at = Timestamptz(null=True)
    received_at = Timestamptz()
    applied_at = Timestamptz(null=True)


class ProviderReconciliation(Table, tablename="provider_reconciliation"):
    id = Text(primary_key=True)
    business_id = Text()
    trigger = Text()
    started_at = Timestamptz()
    finished_at = Timestamptz(null=True)
    checked = Integer()
    mismatch_count = Integer()
    error = Text(null=True)


class ProviderMismatch(Table, tablename="provider_mismatch"):
    id = Text(primary_key=True)
    run_id = Text()
    business_id = Text()
    kind = Text()
    payin_id = Text(null=True)
    source_id = Text(null=True)
    reference = Text(null=True)
    provider_status = Text(null=True)
    ledger_status = Text(null=True)
    provider_amount = BigInt(null=True)
    ledger_amount = BigInt(null=True)
