from portal.db.sql_migration import sql_migration

ID = "2026-11-30T07:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payouts: a batch row's name check can end unavailable (the provider could not answer)"

SQL = r"""
-- A row the provider could not answer after the job's retries is `unavailable`: it holds the batch's
-- approval back like a differing name, until an approver accepts the typed name or the row is checked again.
ALTER TABLE payout_batch_row DROP CONSTRAINT IF EXISTS payout_batch_row_name_status_check;
ALTER TABLE payout_batch_row ADD CONSTRAINT payout_batch_row_name_status_check
    CHECK (name_status IN ('pending', 'matched', 'mismatch', 'not_found', 'closed', 'unavailable'));
"""


async def forwards():
    return sql_migration(ID, "payouts", DESCRIPTION, SQL)
