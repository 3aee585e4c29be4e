from portal.db.sql_migration import sql_migration

ID = "2026-11-30T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "identity: a Request-Id claim records the money object its request booked"

SQL = """
-- Written by the ledger in the transaction that books the money (identity/idempotency.py): a claim left
-- running by a dead process then tells its retry what was booked, and the retry answers with it.
ALTER TABLE api_request ADD COLUMN booked_object_id text;
"""


async def forwards():
    return sql_migration(ID, "identity", DESCRIPTION, SQL)
