from portal.db.sql_migration import sql_migration

ID = "2026-11-30T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payments received for accounts, settlement batches, split settlement"

SQL = r"""
-- Pay-ins may now belong to a payment as well as to a top-up.
ALTER TABLE provider_payin DROP CONSTRAINT provider_payin_source_kind_check;
ALTER TABLE provider_payin ADD CONSTRAINT provider_payin_source_kind_check
    CHECK (source_kind IN ('topup', 'payment'));

-- Per-business payment settings: the provider's fee (MDR) per channel, the default settlement account
-- (the remainder of a split goes there) and the split settlement service's activation.
-- Rates are in hundredths of a percent (70 = 0.70 %), flats in rupiah.
CREATE TABLE payment_settings (
    business_id text PRIMARY KEY,
    va_flat bigint NOT NULL DEFAULT 4000 CHECK (va_flat >= 0),
    qris_rate integer NOT NULL DEFAULT 70 CHECK (qris_rate BETWEEN 0 AND 10000),
    card_rate integer NOT NULL DEFAULT 290 CHECK (card_rate BETWEEN 0 AND 10000),
    card_flat bigint NOT NULL DEFAULT 2000 CHECK (card_flat >= 0),
    ewallet_rate integer NOT NULL DEFAULT 150 CHECK (ewallet_rate BETWEEN 0 AND 10000),
    default_settlement_account_id text,
    split_service text NOT NULL DEFAULT 'inactive' CHECK (split_service IN ('inactive', 'updating', 'active')),
    split_requested_at timestamptz,
    split_verified_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A reusable split configuration: up to 10 destinations, each a percentage or a fixed amount.
-- `destinations` is a list of {"kind": "account"|"bank", "account_id"|"beneficiary_id", "type":
-- "percent"|"fixed", "value"} (percent in hundredths of a percent, fixed in rupiah).
CREATE TABLE split_rule (
    business_id text NOT NULL,
    id text NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    account_id text,
    destinations jsonb NOT NULL,
    deleted_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id)
);
CREATE INDEX split_rule_account ON split_rule (business_id, account_id) WHERE deleted_at IS NULL;

-- A payment asked of a customer for one account of the business, collected by a provider pay-in.
CREATE TABLE payment (
    business_id text NOT NULL,
    id text NOT NULL,
    account_id text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    currency varchar(3) NOT NULL,
    channel text NOT NULL CHECK (channel IN ('va', 'qris', 'card', 'ewallet')),
    bank_code text,
    wallet text,
    phone text,
    card_token text,
    invoice_number text NOT NULL CHECK (length(invoice_number) BETWEEN 1 AND 64),
    customer_id text,
    customer_name text NOT NULL,
    customer_email text,
    description text NOT NULL DEFAULT '',
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    source text NOT NULL CHECK (source IN ('portal', 'api', 'billing')),
    request_hash text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'pending_settlement',
        'settled', 'expired', 'failed', 'refunded', 'partially_refunded', 'voided')),
    remark text,
    -- The payment's own split destinations (copied from a rule or set per transaction); null = none.
    split jsonb,
    split_rule_id text,
    fee bigint NOT NULL DEFAULT 0 CHECK (fee >= 0),
    refunded_amount bigint NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    provider_payin_id text,
    va_number text,
    qris_string text,
    pay_url text,
    response_code text,
    approval_code text,
    issuer text,
    failure_message text,
    hold_id text,
    -- While a split cannot be paid (an invalid bank destination), its amount stays reserved by this hold.
    split_hold_id text,
    settlement_id text,
    expires_at timestamptz,
    paid_at timestamptz,
    settled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, invoice_number)
);
CREATE INDEX payment_account ON payment (business_id, account_id, created_at DESC);
CREATE INDEX payment_unsettled ON payment (business_id, channel, paid_at)
    WHERE status IN ('paid', 'pending_settlement', 'partially_refunded', 'refunded') AND settlement_id IS NULL;

-- A refund of a payment through the provider (never more than what is left).
CREATE TABLE payment_refund (
    business_id text NOT NULL,
    id text NOT NULL,
    payment_id text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    fee bigint NOT NULL DEFAULT 0 CHECK (fee >= 0),
    reason text NOT NULL DEFAULT '',
    status text NOT NULL CHECK (status IN ('succeeded', 'failed')),
    provider_refund_id text,
    -- Set once the refund is booked in the ledger (in its batch, or at once after settlement).
    group_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, payment_id) REFERENCES payment (business_id, id)
);
CREATE INDEX payment_refund_payment ON payment_refund (business_id, payment_id);

-- One settlement batch: the provider's report of one business day on one channel.
CREATE TABLE settlement (
    business_id text NOT NULL,
    id text NOT NULL,
    channel text NOT NULL,
    business_day date NOT NULL,
    settlement_date date NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid')),
    payment_count integer NOT NULL DEFAULT 0,
    gross bigint NOT NULL DEFAULT 0,
    fees bigint NOT NULL DEFAULT 0,
    refunds bigint NOT NULL DEFAULT 0,
    refund_fees bigint NOT NULL DEFAULT 0,
    net bigint NOT NULL DEFAULT 0,
    group_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    paid_at timestamptz,
    PRIMARY KEY (business_id, id),
    UNIQUE (business_id, channel, business_day),
    CONSTRAINT settlement_total CHECK (net = gross - fees - refunds - refund_fees)
);
CREATE INDEX settlement_due ON settlement (settlement_date) WHERE status = 'pending';

-- One payment in a batch, and where its settlement went (split parts in `settlement_part`).
CREATE TABLE settlement_line (
    business_id text NOT NULL,
    settlement_id text NOT NULL,
    payment_id text NOT NULL,
    account_id text NOT NULL,
    amount bigint NOT NULL,
    fee bigint NOT NULL,
    refunded bigint NOT NULL,
    refund_fee bigint NOT NULL,
    net bigint NOT NULL,
    PRIMARY KEY (business_id, settlement_id, payment_id),
    FOREIGN KEY (business_id, settlement_id) REFERENCES settlement (business_id, id)
);

-- What each split destination receives from one payment in a batch (the remainder row included).
CREATE TABLE settlement_part (
    business_id text NOT NULL,
    id text NOT NULL,
    settlement_id text NOT NULL,
    payment_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('account', 'bank', 'remainder')),
    account_id text,
    beneficiary_id text,
    amount bigint NOT NULL CHECK (amount >= 0),
    status text NOT NULL DEFAULT 'booked' CHECK (status IN ('booked', 'submitted', 'paid', 'failed')),
    payout_reference text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, settlement_id) REFERENCES settlement (business_id, id)
);
CREATE INDEX settlement_part_payment ON settlement_part (business_id, payment_id);
"""


async def forwards():
    return sql_migration(ID, "payments", DESCRIPTION, SQL)
