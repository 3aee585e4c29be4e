from portal.db.sql_migration import sql_migration

ID = "2026-11-30T00:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "reports: saved custom reports (a named spec over a dataset, shared with the business)"

SQL = r"""
CREATE TABLE report_definition (
    business_id text NOT NULL,
    id text NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    spec jsonb NOT NULL,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id)
);
CREATE INDEX report_definition_name ON report_definition (business_id, lower(name));
"""


async def forwards():
    return sql_migration(ID, "reports", DESCRIPTION, SQL)
