from portal.db.sql_migration import sql_migration

ID = "2026-11-22T05:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notifications about accounts, and who has read them"

SQL = r"""
CREATE TABLE notification (
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id text PRIMARY KEY,
    business_id text NOT NULL,
    -- The account the news is about: everyone whose scope holds it sees it.
    account_id text NOT NULL REFERENCES account (id),
    kind text NOT NULL,
    params jsonb NOT NULL DEFAULT '{}'::jsonb,
    link text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_business ON notification (business_id, seq DESC);

CREATE TABLE notification_read (
    notification_id text NOT NULL REFERENCES notification (id) ON DELETE CASCADE,
    user_id text NOT NULL,
    read_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, notification_id)
);
"""


async def forwards():
    return sql_migration(ID, "notifications", DESCRIPTION, SQL)
