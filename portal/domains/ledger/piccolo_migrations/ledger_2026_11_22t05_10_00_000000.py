from portal.db.sql_migration import sql_migration

ID = "2026-11-22T05:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger: immutable transfers, holds, references, top-ups, withdrawals"

SQL = r"""
-- Every money object's `reference` is unique per business forever, across object types.
CREATE TABLE ledger_reference (
    business_id text NOT NULL,
    reference text NOT NULL CHECK (length(reference) BETWEEN 1 AND 100),
    object_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, reference)
);

CREATE TABLE transfer (
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    id text PRIMARY KEY,
    business_id text NOT NULL,
    debit_account_id text NOT NULL REFERENCES account (id),
    credit_account_id text NOT NULL REFERENCES account (id),
    amount bigint NOT NULL CHECK (amount > 0 AND amount <= 999999999999999),
    currency varchar(3) NOT NULL,
    -- posted: moves `amount` now. pending: reserves `amount` (a hold).
    -- post_pending / void_pending: resolve the hold `hold_id`, releasing `released_amount` of pending
    -- and (post only) moving `amount` posted.
    phase text NOT NULL CHECK (phase IN ('posted', 'pending', 'post_pending', 'void_pending')),
    released_amount bigint NOT NULL DEFAULT 0 CHECK (released_amount >= 0),
    hold_id text,
    kind text NOT NULL,
    reference text,
    description text NOT NULL DEFAULT '',
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    group_id text,
    reverses_id text UNIQUE REFERENCES transfer (id),
    source_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT transfer_two_accounts CHECK (debit_account_id <> credit_account_id),
    CONSTRAINT transfer_resolution_shape
        CHECK ((phase IN ('post_pending', 'void_pending')) = (released_amount > 0)
               AND (phase = 'posted' OR hold_id IS NOT NULL)
               AND (phase <> 'post_pending' OR amount <= released_amount))
);
CREATE INDEX transfer_debit ON transfer (debit_account_id, seq);
CREATE INDEX transfer_credit ON transfer (credit_account_id, seq);
CREATE INDEX transfer_business ON transfer (business_id, seq);
CREATE INDEX transfer_reference ON transfer (business_id, reference) WHERE reference IS NOT NULL;
CREATE INDEX transfer_group ON transfer (group_id) WHERE group_id IS NOT NULL;
CREATE INDEX transfer_created ON transfer (business_id, created_at);

-- Corrections by reversal only: posted transfers are never changed or removed.
CREATE FUNCTION transfer_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'transfers are immutable: % refused (correct by reversal)', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER transfer_no_update_or_delete BEFORE UPDATE OR DELETE ON transfer
    FOR EACH ROW EXECUTE FUNCTION transfer_is_immutable();
CREATE TRIGGER transfer_no_truncate BEFORE TRUNCATE ON transfer
    FOR EACH STATEMENT EXECUTE FUNCTION transfer_is_immutable();

CREATE TABLE hold (
    id text PRIMARY KEY,
    business_id text NOT NULL,
    transfer_id text NOT NULL UNIQUE REFERENCES transfer (id),
    debit_account_id text NOT NULL REFERENCES account (id),
    credit_account_id text NOT NULL REFERENCES account (id),
    amount bigint NOT NULL CHECK (amount > 0),
    posted_amount bigint NOT NULL DEFAULT 0 CHECK (posted_amount >= 0 AND posted_amount <= amount),
    currency varchar(3) NOT NULL,
    kind text NOT NULL,
    reference text,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'posted', 'voided', 'expired')),
    expires_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    resolution_transfer_id text REFERENCES transfer (id),
    CONSTRAINT hold_resolution CHECK ((status = 'pending') = (resolution_transfer_id IS NULL))
);
CREATE INDEX hold_business ON hold (business_id, created_at);
CREATE INDEX hold_expiring ON hold (expires_at) WHERE status = 'pending' AND expires_at IS NOT NULL;

CREATE TABLE topup (
    id text PRIMARY KEY,
    business_id text NOT NULL,
    account_id text NOT NULL REFERENCES account (id),
    amount bigint NOT NULL CHECK (amount > 0),
    fee bigint NOT NULL CHECK (fee >= 0),
    currency varchar(3) NOT NULL,
    reference text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'expired')),
    pay_bank_code varchar(8) NOT NULL,
    pay_account_number text NOT NULL,
    pay_holder_name text NOT NULL,
    group_id text,
    expires_at timestamptz NOT NULL,
    paid_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (business_id, reference)
);
CREATE INDEX topup_business ON topup (business_id, created_at DESC, id DESC);
CREATE INDEX topup_account ON topup (account_id, created_at DESC);

CREATE TABLE withdrawal (
    id text PRIMARY KEY,
    business_id text NOT NULL,
    account_id text NOT NULL REFERENCES account (id),
    amount bigint NOT NULL CHECK (amount > 0),
    fee bigint NOT NULL CHECK (fee >= 0),
    currency varchar(3) NOT NULL,
    reference text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'failed')),
    bank_code varchar(8) NOT NULL,
    bank_account_number text NOT NULL,
    bank_holder_name text NOT NULL,
    amount_hold_id text NOT NULL REFERENCES hold (id),
    fee_hold_id text REFERENCES hold (id),
    failure_reason text,
    created_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    UNIQUE (business_id, reference)
);
CREATE INDEX withdrawal_business ON withdrawal (business_id, created_at DESC, id DESC);
CREATE INDEX withdrawal_account ON withdrawal (account_id, created_at DESC);
"""


async def forwards():
    return sql_migration(ID, "ledger", DESCRIPTION, SQL)
