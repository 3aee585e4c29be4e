from portal.db.sql_migration import sql_migration

ID = "2026-11-30T03:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "refunds of settled payments as deductions from the next batches; returned split payouts"

SQL = r"""
-- A refund is recorded as 'pending' before the provider is asked, so two refunds of one payment cannot
-- both be sent (at most one pending refund per payment).
ALTER TABLE payment_refund DROP CONSTRAINT payment_refund_status_check;
ALTER TABLE payment_refund ADD CONSTRAINT payment_refund_status_check
    CHECK (status IN ('pending', 'succeeded', 'failed'));
CREATE UNIQUE INDEX payment_refund_one_pending ON payment_refund (business_id, payment_id)
    WHERE status = 'pending';

-- A bank destination's payout the rail rejected after submission is `returned` (its money back in
-- clearing) until the next batch pays it again to the fixed destination (`repaid`).
ALTER TABLE settlement_part DROP CONSTRAINT settlement_part_status_check;
ALTER TABLE settlement_part ADD CONSTRAINT settlement_part_status_check
    CHECK (status IN ('booked', 'submitted', 'paid', 'failed', 'returned', 'repaid'));

-- What a refund of a settled payment takes back from one destination (an account of the business or a
-- bank beneficiary): deducted from what that destination receives in the channel's next batches;
-- `remaining` is what is still to be deducted.
CREATE TABLE settlement_deduction (
    business_id text NOT NULL,
    id text NOT NULL,
    refund_id text NOT NULL,
    payment_id text NOT NULL,
    channel text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('account', 'bank')),
    account_id text,
    beneficiary_id text,
    reason text NOT NULL CHECK (reason IN ('refund', 'refund_fee')),
    amount bigint NOT NULL CHECK (amount > 0),
    remaining bigint NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, refund_id) REFERENCES payment_refund (business_id, id),
    FOREIGN KEY (business_id, payment_id) REFERENCES payment (business_id, id),
    CHECK ((kind = 'account') = (account_id IS NOT NULL) AND (kind = 'bank') = (beneficiary_id IS NOT NULL))
);
CREATE INDEX settlement_deduction_open ON settlement_deduction (business_id, channel) WHERE remaining > 0;

-- How much of a deduction one batch took.
CREATE TABLE settlement_deduction_take (
    business_id text NOT NULL,
    settlement_id text NOT NULL,
    deduction_id text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    PRIMARY KEY (business_id, settlement_id, deduction_id),
    FOREIGN KEY (business_id, settlement_id) REFERENCES settlement (business_id, id),
    FOREIGN KEY (business_id, deduction_id) REFERENCES settlement_deduction (business_id, id)
);
"""


async def forwards():
    return sql_migration(ID, "payments", DESCRIPTION, SQL)
