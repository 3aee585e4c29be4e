from portal.db.sql_migration import sql_migration

ID = "2026-11-30T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payouts: batch payouts (an uploaded file's rows, validated, approved as one)"

SQL = r"""
-- A batch of payouts from one uploaded file: draft (rows staged and validated, fixable) → submitted
-- (one payout per row, held, awaiting approval) → approved | rejected.
CREATE TABLE payout_batch (
    business_id text NOT NULL,
    id text NOT NULL,
    account_id text NOT NULL,
    filename text NOT NULL CHECK (length(filename) BETWEEN 1 AND 200),
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted', 'approved', 'rejected')),
    created_by text,
    created_by_name text NOT NULL DEFAULT '',
    approved_by text,
    approved_by_name text,
    submitted_at timestamptz,
    decided_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id)
);
CREATE INDEX payout_batch_business ON payout_batch (business_id, status, id);

-- One row of the file as typed, with its validation errors ([{"column", "message", "params"}]).
CREATE TABLE payout_batch_row (
    business_id text NOT NULL,
    batch_id text NOT NULL,
    row_no integer NOT NULL CHECK (row_no >= 2),
    reference text NOT NULL DEFAULT '',
    amount text NOT NULL DEFAULT '',
    code text NOT NULL DEFAULT '',
    account_number text NOT NULL DEFAULT '',
    holder_name text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    email text NOT NULL DEFAULT '',
    rail text,
    fee bigint,
    errors jsonb NOT NULL DEFAULT '[]'::jsonb,
    deleted boolean NOT NULL DEFAULT false,
    payout_id text,
    PRIMARY KEY (business_id, batch_id, row_no)
);

ALTER TABLE payout ADD COLUMN batch_id text;
CREATE INDEX payout_batch_member ON payout (business_id, batch_id) WHERE batch_id IS NOT NULL;
"""


async def forwards():
    return sql_migration(ID, "payouts", DESCRIPTION, SQL)
