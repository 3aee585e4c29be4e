from portal.db.sql_migration import sql_migration

ID = "2026-11-30T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payouts: name inquiry on batch rows (the holder name the bank returns, a mismatch accepted)"

SQL = r"""
-- Each uploaded row's account is checked by the provider's name inquiry (a job after the upload):
-- pending → matched | mismatch | not_found | closed; null for rows uploaded before the check existed.
-- A mismatch blocks the batch's approval until an approver accepts the bank's name for that row.
ALTER TABLE payout_batch_row
    ADD COLUMN name_status text
        CHECK (name_status IN ('pending', 'matched', 'mismatch', 'not_found', 'closed')),
    ADD COLUMN bank_holder_name text,
    ADD COLUMN name_accepted_by text,
    ADD COLUMN name_accepted_by_name text,
    ADD COLUMN name_accepted_at timestamptz;
CREATE INDEX payout_batch_row_names_pending ON payout_batch_row (business_id, batch_id)
    WHERE name_status = 'pending';
"""


async def forwards():
    return sql_migration(ID, "payouts", DESCRIPTION, SQL)
