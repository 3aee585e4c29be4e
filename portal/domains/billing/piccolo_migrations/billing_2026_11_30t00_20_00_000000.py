from portal.db.sql_migration import sql_migration

ID = "2026-11-30T00:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "card billing: batch uploads (Registration and Batch Transaction) and their rows"

SQL = r"""
-- One uploaded file: validated row by row, then processed as a whole (or uploaded again).
CREATE TABLE billing_batch (
    business_id text NOT NULL,
    id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('registration', 'transaction')),
    file_name text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 200),
    status text NOT NULL DEFAULT 'validated' CHECK (status IN ('validated', 'processed')),
    total_data integer NOT NULL CHECK (total_data >= 0),
    invalid_data integer NOT NULL CHECK (invalid_data >= 0),
    total_amount bigint NOT NULL CHECK (total_amount >= 0),
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    PRIMARY KEY (business_id, id)
);
CREATE INDEX billing_batch_recent ON billing_batch (business_id, created_at DESC, id DESC);

-- Each row of the file as read (a card number typed into a cell is blanked, never kept) and why it
-- is invalid, if it is.
CREATE TABLE billing_batch_row (
    business_id text NOT NULL,
    batch_id text NOT NULL,
    line integer NOT NULL CHECK (line >= 1),
    data jsonb NOT NULL,
    errors jsonb NOT NULL DEFAULT '[]'::jsonb,
    PRIMARY KEY (business_id, batch_id, line),
    FOREIGN KEY (business_id, batch_id) REFERENCES billing_batch (business_id, id) ON DELETE CASCADE
);
"""


async def forwards():
    return sql_migration(ID, "billing", DESCRIPTION, SQL)
