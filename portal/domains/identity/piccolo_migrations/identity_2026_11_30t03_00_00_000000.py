from portal.db.sql_migration import sql_migration

ID = "2026-11-30T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "identity: a business's amount above which moving money asks for an authenticator code"

SQL = """
-- IDR minor units; NULL: no code asked (the default).
ALTER TABLE business ADD COLUMN code_above bigint CHECK (code_above IS NULL OR code_above >= 0);
"""


async def forwards():
    return sql_migration(ID, "identity", DESCRIPTION, SQL)
