from portal.db.sql_migration import sql_migration

ID = "2026-11-30T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = (
    "a deduction still owed after the grace days is taken from the destination's balance; indexes that let "
    "a settlement batch find its payments without reading all of them"
)

SQL = r"""
-- Days a refund deduction waits for the channel's batches before the settlement run takes what is still
-- owed from the destination's available balance (Settings → Settlement).
ALTER TABLE payment_settings ADD COLUMN deduction_grace_days integer NOT NULL DEFAULT 14
    CHECK (deduction_grace_days BETWEEN 1 AND 365);

-- What a settlement run took of a deduction from an account's available balance, one transfer each
-- (kind `deduction_from_balance`); what the balance could not cover stays owed on the deduction.
CREATE TABLE settlement_deduction_debit (
    business_id text NOT NULL,
    id text NOT NULL,
    deduction_id text NOT NULL,
    account_id text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    transfer_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, deduction_id) REFERENCES settlement_deduction (business_id, id)
);
CREATE INDEX settlement_deduction_debit_deduction ON settlement_deduction_debit (business_id, deduction_id);

-- Applying a batch finds its payments, the payments whose split waited on a hold and the split payouts
-- that came back by these, whatever the number of payments the business has had.
CREATE INDEX payment_settlement ON payment (business_id, settlement_id) WHERE settlement_id IS NOT NULL;
CREATE INDEX payment_split_waiting ON payment (business_id) WHERE split_hold_id IS NOT NULL;
CREATE INDEX settlement_part_returned ON settlement_part (business_id, payment_id) WHERE status = 'returned';
"""


async def forwards():
    return sql_migration(ID, "payments", DESCRIPTION, SQL)
