from portal.db.sql_migration import sql_migration

ID = "2026-11-29T20:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "identity: a Request-Id claim records the liveness lock of the process that made it"

SQL = """
-- The key of the advisory lock the claiming process holds while it lives (liveness.py); NULL for claims
-- made without one, which are released by their lease alone.
ALTER TABLE api_request ADD COLUMN owner_lock integer;
"""


async def forwards():
    return sql_migration(ID, "identity", DESCRIPTION, SQL)
