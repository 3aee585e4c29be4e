"""The simulator's own database (`neraca_simulator` on Neraca's PostgreSQL server) and its schema.

The schema is plain SQL applied at start-up, idempotently; it is not part of Neraca's migrations.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg

_pool: asyncpg.Pool | None = None

SCHEMA = """
CREATE TABLE IF NOT EXISTS sim_settings (
    key text PRIMARY KEY,
    value jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS sim_rails (
    name text PRIMARY KEY,
    mode text NOT NULL CHECK (mode IN ('normal', 'slow', 'offline', 'timeout'))
);
-- A merchant's financial services (split settlement): requested (`updating`) until the sandbox's
-- reviewer verifies it on the control surface (`active`).
CREATE TABLE IF NOT EXISTS sim_services (
    merchant_id text NOT NULL,
    service text NOT NULL,
    status text NOT NULL CHECK (status IN ('updating', 'active')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    verified_at timestamptz,
    PRIMARY KEY (merchant_id, service)
);
CREATE TABLE IF NOT EXISTS sim_clocks (
    merchant_id text PRIMARY KEY,
    offset_s bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sim_requests (
    partner_id text NOT NULL,
    external_id text NOT NULL,
    method text NOT NULL,
    path text NOT NULL,
    body_hash text NOT NULL,
    status_code int,
    response jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partner_id, external_id)
);
CREATE TABLE IF NOT EXISTS sim_payins (
    id text PRIMARY KEY,
    partner_id text NOT NULL,
    merchant_id text NOT NULL,
    reference text NOT NULL,
    channel text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    currency text NOT NULL,
    status text NOT NULL,
    customer_name text NOT NULL,
    description text,
    bank_code text,
    va_number text UNIQUE,
    qris_string text,
    wallet text,
    phone text,
    card_token text,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    paid_at timestamptz,
    closed_at timestamptz,
    response_code text,
    approval_code text,
    response_message text,
    fee bigint NOT NULL DEFAULT 0,
    refunded bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount),
    business_date date,
    settlement_date date,
    UNIQUE (partner_id, reference)
);
CREATE INDEX IF NOT EXISTS sim_payins_report ON sim_payins (merchant_id, business_date, channel);
CREATE TABLE IF NOT EXISTS sim_refunds (
    id text PRIMARY KEY,
    payin_id text NOT NULL REFERENCES sim_payins (id),
    merchant_id text NOT NULL,
    reference text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    fee bigint NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (payin_id, reference)
);
CREATE TABLE IF NOT EXISTS sim_card_registrations (
    id text PRIMARY KEY,
    partner_id text NOT NULL,
    merchant_id text NOT NULL,
    customer_ref text NOT NULL,
    return_url text NOT NULL,
    status text NOT NULL,
    token text,
    created_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS sim_cards (
    token text PRIMARY KEY,
    merchant_id text NOT NULL,
    customer_ref text NOT NULL,
    first6 text NOT NULL,
    last4 text NOT NULL,
    brand text NOT NULL,
    issuer text NOT NULL,
    expiry_month int NOT NULL,
    expiry_year int NOT NULL,
    holder_name text NOT NULL,
    -- A keyed hash of the number (to recognise a card again); the number itself is never stored.
    fingerprint text NOT NULL,
    next_decline_code text,
    created_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS sim_accounts (
    bank_code text NOT NULL,
    account_number text NOT NULL,
    holder_name text NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'closed')),
    PRIMARY KEY (bank_code, account_number)
);
CREATE TABLE IF NOT EXISTS sim_payouts (
    id text PRIMARY KEY,
    partner_id text NOT NULL,
    merchant_id text NOT NULL,
    reference text NOT NULL,
    rail text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    fee bigint NOT NULL,
    currency text NOT NULL,
    bank_code text,
    account_number text,
    wallet text,
    phone text,
    beneficiary_name text NOT NULL,
    status text NOT NULL,
    bank_reference text,
    failure_code text,
    failure_message text,
    created_at timestamptz NOT NULL,
    expected_at timestamptz NOT NULL,
    completed_at timestamptz,
    reversed_at timestamptz,
    UNIQUE (partner_id, reference)
);
-- Work that falls due on a merchant's clock (payout completion, pay-in expiry): survives restarts.
CREATE TABLE IF NOT EXISTS sim_work (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    subject_id text NOT NULL,
    merchant_id text NOT NULL,
    due_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sim_work_due ON sim_work (due_at);
CREATE TABLE IF NOT EXISTS sim_callbacks (
    event_id text PRIMARY KEY,
    seq bigserial UNIQUE,
    kind text NOT NULL,
    type text NOT NULL,
    merchant_id text NOT NULL,
    body text NOT NULL,
    status text NOT NULL CHECK (status IN ('held', 'pending', 'acknowledged', 'failed')),
    attempts int NOT NULL DEFAULT 0,
    extra_copies int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz
);
CREATE INDEX IF NOT EXISTS sim_callbacks_due ON sim_callbacks (next_attempt_at) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS sim_callback_attempts (
    id bigserial PRIMARY KEY,
    event_id text NOT NULL REFERENCES sim_callbacks (event_id),
    attempted_at timestamptz NOT NULL DEFAULT now(),
    url text NOT NULL,
    status_code int,
    error text,
    duration_ms int NOT NULL,
    response text
);
"""

SEED_ACCOUNTS = [
    ("014", "1234567890", "BUDI SANTOSO", "active"),
    ("014", "8730012345", "PT SUMBER MAKMUR JAYA", "active"),
    ("008", "1370012345678", "SITI RAHAYU", "active"),
    ("009", "0123456789", "AHMAD FAUZI", "active"),
    ("002", "034101000123567", "DEWI LESTARI", "active"),
    ("022", "800123456700", "CV KARYA MANDIRI", "active"),
    ("013", "4102003456", "RINA KUSUMAWATI", "active"),
    ("014", "5550001111", "HENDRA WIJAYA", "closed"),
    ("OVO", "081234567890", "AGUS PRATAMA", "active"),
    ("GOPAY", "081298765432", "INDAH PERMATASARI", "active"),
    ("DANA", "085711112222", "YOGI SAPUTRA", "active"),
]


def database_dsn(server_dsn: str, name: str) -> str:
    """The DSN of database `name` on the same server as `server_dsn`."""
    parts = urlsplit(server_dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


async def ensure_database(server_dsn: str, name: str) -> str:
    """Create database `name` on the server if it is missing; return its DSN."""
    conn = await asyncpg.connect(dsn=server_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Another simulator process may create it meanwhile.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return database_dsn(server_dsn, name)


async def open_pool(dsn: str) -> asyncpg.Pool:
    """Apply the schema (idempotent, serialised by an advisory lock) and open the pool."""
    global _pool
    conn = await asyncpg.connect(dsn=dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(7726001)")
            await conn.execute(SCHEMA)
            await conn.executemany(
                "INSERT INTO sim_accounts (bank_code, account_number, holder_name, status) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                SEED_ACCOUNTS,
            )
    finally:
        await conn.close()
    _pool = await asyncpg.create_pool(dsn=dsn, min_size=1, max_size=8)
    return _pool


async def close_pool() -> None:
    global _pool
    if _pool is not None:
        await _pool.close()
        _pool = None


def pool() -> asyncpg.Pool:
    if _pool is None:
        raise RuntimeError("The simulator's database pool is not open.")
    return _pool


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[asyncpg.Connection]:
    """A connection with an open transaction (services take it as their first argument)."""
    async with pool().acquire() as conn, conn.transaction():
        yield conn
