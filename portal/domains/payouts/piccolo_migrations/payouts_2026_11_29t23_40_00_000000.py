from portal.db.sql_migration import sql_migration

ID = "2026-11-29T23:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payouts: the payout itself (held, approved, submitted, settled), the approval threshold"

SQL = r"""
-- Payouts above this amount need another user's approval (null: only monitoring's reviews and batches).
ALTER TABLE payout_settings ADD COLUMN approval_threshold bigint DEFAULT 10000000
    CHECK (approval_threshold IS NULL OR approval_threshold >= 0);

-- A payout `po_…`: amount + fee held at creation, then awaiting_approval → scheduled → submitted →
-- succeeded | failed, succeeded → reversed; rejected or cancelled before submission (holds voided).
CREATE TABLE payout (
    business_id text NOT NULL,
    id text NOT NULL,
    account_id text NOT NULL,
    kind text NOT NULL DEFAULT 'payout' CHECK (kind IN ('payout', 'withdrawal')),
    beneficiary_id text,
    withdrawal_id text,
    destination_kind text NOT NULL CHECK (destination_kind IN ('bank', 'ewallet')),
    bank_code varchar(8),
    wallet text,
    account_number text NOT NULL,
    holder_name text NOT NULL,
    rail text NOT NULL,
    provider_rail text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    fee bigint NOT NULL CHECK (fee >= 0),
    currency text NOT NULL DEFAULT 'IDR',
    reference text NOT NULL,
    description text NOT NULL DEFAULT '',
    status text NOT NULL CHECK (status IN ('awaiting_approval', 'scheduled', 'submitted', 'succeeded',
        'failed', 'reversed', 'rejected', 'cancelled')),
    approval_reason text CHECK (approval_reason IN ('threshold', 'review', 'batch')),
    screening_code text,
    amount_hold_id text NOT NULL,
    fee_hold_id text,
    process_at timestamptz NOT NULL,
    eta timestamptz NOT NULL,
    created_by text,
    created_by_name text NOT NULL DEFAULT '',
    approved_by text,
    approved_by_name text,
    approved_at timestamptz,
    rejected_by text,
    rejection_reason text,
    provider_payout_id text,
    bank_reference text,
    failure_code text,
    verification_code text,
    reversal_transfer_id text,
    submitted_at timestamptz,
    completed_at timestamptz,
    reversed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    CONSTRAINT payout_reference_unique UNIQUE (business_id, reference)
);
CREATE INDEX payout_business_status ON payout (business_id, status, id);
CREATE INDEX payout_due ON payout (process_at) WHERE status = 'scheduled';
CREATE INDEX payout_in_flight ON payout (submitted_at) WHERE status = 'submitted';
-- A withdrawal is sent as a payout to the account's own bank account: the payout that carries it.
ALTER TABLE withdrawal ADD COLUMN payout_id text;

CREATE UNIQUE INDEX payout_verification ON payout (business_id, verification_code)
    WHERE verification_code IS NOT NULL;
"""


async def forwards():
    return sql_migration(ID, "payouts", DESCRIPTION, SQL)
