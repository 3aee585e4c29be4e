from portal.db.sql_migration import sql_migration

ID = "2026-11-29T20:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the payment provider boundary: outbound idempotency keys, pay-ins, callbacks, reconciliation"

SQL = r"""
-- Every outbound call, stored (and committed) before it is sent: a retry of the same purpose reuses the
-- idempotency key, so the provider answers it once.
CREATE TABLE provider_request (
    external_id text PRIMARY KEY,
    business_id text NOT NULL,
    purpose text NOT NULL,
    method text NOT NULL,
    path text NOT NULL,
    body text NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'answered', 'refused', 'unknown')),
    status_code integer,
    response jsonb,
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    answered_at timestamptz,
    UNIQUE (business_id, purpose)
);

-- A pay-in opened at the provider for one of our money objects (a top-up today).
CREATE TABLE provider_payin (
    payin_id text PRIMARY KEY,
    business_id text NOT NULL,
    reference text NOT NULL,
    source_kind text NOT NULL CHECK (source_kind IN ('topup')),
    source_id text NOT NULL,
    channel text NOT NULL,
    bank_code text,
    va_number text,
    amount bigint NOT NULL CHECK (amount > 0),
    currency varchar(3) NOT NULL,
    status text NOT NULL,
    expires_at timestamptz,
    paid_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (business_id, reference),
    UNIQUE (source_kind, source_id)
);

-- Every accepted callback, once per provider event id (the key that makes a replay a no-op).
CREATE TABLE provider_event (
    event_id text PRIMARY KEY,
    business_id text NOT NULL,
    kind text NOT NULL,
    type text NOT NULL,
    object_id text NOT NULL,
    payload jsonb NOT NULL,
    state text NOT NULL DEFAULT 'received' CHECK (state IN ('received', 'applied')),
    outcome text,
    occurred_at timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    applied_at timestamptz
);
CREATE INDEX provider_event_object ON provider_event (object_id, received_at);

-- A comparison of the provider's view with the ledger; it lists mismatches and never changes money.
CREATE TABLE provider_reconciliation (
    id text PRIMARY KEY,
    business_id text NOT NULL,
    trigger text NOT NULL CHECK (trigger IN ('nightly', 'manual')),
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    checked integer NOT NULL DEFAULT 0,
    mismatch_count integer NOT NULL DEFAULT 0,
    error text
);
CREATE INDEX provider_reconciliation_business ON provider_reconciliation (business_id, started_at DESC);

CREATE TABLE provider_mismatch (
    id text PRIMARY KEY,
    run_id text NOT NULL REFERENCES provider_reconciliation (id) ON DELETE CASCADE,
    business_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('paid_not_booked', 'booked_not_paid', 'amount_differs', 'unknown_at_provider', 'unknown_in_ledger')),
    payin_id text,
    source_id text,
    reference text,
    provider_status text,
    ledger_status text,
    provider_amount bigint,
    ledger_amount bigint
);
CREATE INDEX provider_mismatch_run ON provider_mismatch (run_id);
"""


async def forwards():
    return sql_migration(ID, "provider", DESCRIPTION, SQL)
