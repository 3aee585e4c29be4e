from portal.db.sql_migration import sql_migration

ID = "2026-11-22T04:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "system settings"

SQL = """
CREATE TABLE system_setting (
    key varchar(100) PRIMARY KEY,
    value jsonb NOT NULL DEFAULT '{}'::jsonb,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""


async def forwards():
    return sql_migration(ID, "core", DESCRIPTION, SQL)
