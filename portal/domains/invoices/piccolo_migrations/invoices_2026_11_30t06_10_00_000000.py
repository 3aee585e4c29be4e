from portal.db.sql_migration import sql_migration

ID = "2026-11-30T06:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "invoices: drop invoice_by_business, which repeats the unique (business_id, number) index"

SQL = r"""
-- UNIQUE (business_id, number) already indexes these very columns; the copy only cost every invoice
-- insert and every collection update one more index entry.
DROP INDEX invoice_by_business;
"""


async def forwards():
    return sql_migration(ID, "invoices", DESCRIPTION, SQL)
