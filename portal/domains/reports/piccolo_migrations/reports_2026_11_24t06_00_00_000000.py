from portal.db.sql_migration import sql_migration

ID = "2026-11-24T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reports: per-account, per-day posted totals (statement read model) and their watermark"

SQL = r"""
-- A read model derived from the immutable `transfer` table (never written by the ledger): the posted
-- movements of one account on one WIB calendar day. Rows are written once, when the day is closed, by
-- the job `reports.rollup_days` (portal/domains/reports/rollup.py), and never change afterwards.
CREATE TABLE statement_day_total (
    account_id text NOT NULL,
    business_id text NOT NULL,
    day date NOT NULL,                -- WIB (Asia/Jakarta) calendar day of the transfers' created_at
    debits bigint NOT NULL CHECK (debits >= 0),
    credits bigint NOT NULL CHECK (credits >= 0),
    entries bigint NOT NULL CHECK (entries > 0),   -- posted legs of the account that day
    PRIMARY KEY (account_id, day)
);

-- One row: every posted transfer created before 00:00 WIB of `complete_before` is in
-- statement_day_total. No row means nothing is rolled up yet (statements then scan the transfers).
CREATE TABLE statement_rollup_watermark (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    complete_before date NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""


async def forwards():
    return sql_migration(ID, "reports", DESCRIPTION, SQL)
