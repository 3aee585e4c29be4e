from portal.db.sql_migration import sql_migration

ID = "2026-11-29T23:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger: reference search indexes (case-insensitive prefix) and the lines of a money object"

SQL = r"""
-- The transfers list searches references of transfers, top-ups and withdrawals by their lower-case
-- prefix first (`lower(reference) LIKE 'toko-11%'`); text_pattern_ops lets LIKE use the btree whatever
-- the database's collation. business_id first, as every query filters by it.
CREATE INDEX transfer_reference_lower ON transfer (business_id, lower(reference) text_pattern_ops)
    WHERE reference IS NOT NULL;
CREATE INDEX topup_reference_lower ON topup (business_id, lower(reference) text_pattern_ops);
CREATE INDEX withdrawal_reference_lower ON withdrawal (business_id, lower(reference) text_pattern_ops);
-- The ledger lines of one top-up or withdrawal (its legs carry it as source, its holds' postings the hold).
CREATE INDEX transfer_source ON transfer (business_id, source_id) WHERE source_id IS NOT NULL;
CREATE INDEX transfer_hold ON transfer (business_id, hold_id) WHERE hold_id IS NOT NULL;
"""


async def forwards():
    return sql_migration(ID, "ledger", DESCRIPTION, SQL)
