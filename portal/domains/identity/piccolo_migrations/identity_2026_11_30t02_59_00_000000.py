from portal.db.sql_migration import sql_migration

ID = "2026-11-30T02:59:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "identity: an e-mail may carry one file (a scheduled report's export)"

SQL = r"""
ALTER TABLE email_outbox
    ADD COLUMN attachment_name text,
    ADD COLUMN attachment_type text,
    ADD COLUMN attachment bytea;
"""


async def forwards():
    return sql_migration(ID, "identity", DESCRIPTION, SQL)
