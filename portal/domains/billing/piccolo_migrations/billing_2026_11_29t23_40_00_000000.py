from portal.db.sql_migration import sql_migration

ID = "2026-11-29T23:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "card billing: customers, billings with a tokenised card, execute dates, charges"

SQL = r"""
-- A customer of the business who pays by card (Customer ID is the business's own reference).
CREATE TABLE billing_customer (
    business_id text NOT NULL,
    id text NOT NULL,
    customer_ref text NOT NULL CHECK (customer_ref ~ '^[A-Za-z0-9._/-]{1,40}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    email text CHECK (length(email) <= 254),
    phone text CHECK (phone ~ '^08[0-9]{8,12}$'),
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    CONSTRAINT billing_customer_ref_unique UNIQUE (business_id, customer_ref)
);

-- A billing: what a customer pays, to which account, on which schedule, with which stored card.
-- Only the provider's token and the masked parts of the card are kept (never a card number).
CREATE TABLE billing (
    business_id text NOT NULL,
    id text NOT NULL,
    customer_id text NOT NULL,
    billing_number text NOT NULL CHECK (billing_number ~ '^[A-Za-z0-9._/-]{1,40}$'),
    account_id text NOT NULL,
    amount bigint NOT NULL CHECK (amount BETWEEN 1 AND 1000000000000),
    currency text NOT NULL DEFAULT 'IDR' CHECK (currency = 'IDR'),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 140),
    kind text NOT NULL DEFAULT 'recurring' CHECK (kind IN ('recurring', 'reminder')),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'deleted')),
    schedule_type text CHECK (schedule_type IN ('date', 'day', 'full_date')),
    schedule jsonb NOT NULL DEFAULT '{}'::jsonb,
    card_status text NOT NULL DEFAULT 'none' CHECK (card_status IN ('none', 'pending', 'registered', 'failed')),
    card_registration_id text,
    card_hosted_url text,
    card_attempt integer NOT NULL DEFAULT 0,
    card_token text,
    card_first6 text CHECK (card_first6 ~ '^[0-9]{6}$'),
    card_last4 text CHECK (card_last4 ~ '^[0-9]{4}$'),
    card_brand text,
    card_issuer text,
    card_expiry_month integer CHECK (card_expiry_month BETWEEN 1 AND 12),
    card_expiry_year integer,
    card_registered_at timestamptz,
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, customer_id) REFERENCES billing_customer (business_id, id),
    CONSTRAINT billing_number_unique UNIQUE (business_id, billing_number),
    CONSTRAINT billing_card_registered CHECK (
        card_status <> 'registered' OR (card_token IS NOT NULL AND card_last4 IS NOT NULL))
);
CREATE INDEX billing_customer_idx ON billing (business_id, customer_id);
CREATE UNIQUE INDEX billing_card_registration ON billing (business_id, card_registration_id)
    WHERE card_registration_id IS NOT NULL;

-- The execute dates of a billing, materialised ahead from its schedule (shown, and deletable one by one).
CREATE TABLE billing_execute_date (
    business_id text NOT NULL,
    billing_id text NOT NULL,
    execute_date date NOT NULL,
    status text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'deleted')),
    deleted_by text,
    deleted_at timestamptz,
    PRIMARY KEY (business_id, billing_id, execute_date),
    FOREIGN KEY (business_id, billing_id) REFERENCES billing (business_id, id) ON DELETE CASCADE
);
CREATE INDEX billing_execute_date_due ON billing_execute_date (execute_date) WHERE status = 'scheduled';

-- One charge (or reminder) per billing and execute date: the row is the claim that makes the run
-- exactly-once. `kind` single = a one-time payment (no schedule), several may share a date.
CREATE TABLE billing_charge (
    business_id text NOT NULL,
    id text NOT NULL,
    billing_id text NOT NULL,
    customer_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('recurring', 'reminder', 'single')),
    execute_date date NOT NULL,
    billing_number text NOT NULL,
    invoice_number text NOT NULL,
    account_id text NOT NULL,
    amount bigint NOT NULL CHECK (amount > 0),
    currency text NOT NULL DEFAULT 'IDR',
    status text NOT NULL DEFAULT 'pending' CHECK (status IN
        ('pending', 'charging', 'retry', 'paid', 'failed', 'reminded', 'voided', 'refunded',
         'partially_refunded')),
    attempt integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    next_attempt_on date,
    claimed_by text,
    claimed_at timestamptz,
    response_code text,
    approval_code text,
    error_message text,
    issuer text,
    card_first6 text,
    card_last4 text,
    card_brand text,
    payment_id text,
    provider_payin_id text,
    refunded_amount bigint NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    batch_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    charged_at timestamptz,
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, billing_id) REFERENCES billing (business_id, id),
    CONSTRAINT billing_charge_invoice_unique UNIQUE (business_id, invoice_number)
);
CREATE UNIQUE INDEX billing_charge_claim ON billing_charge (business_id, billing_id, execute_date)
    WHERE kind <> 'single';
CREATE INDEX billing_charge_work ON billing_charge (next_attempt_on) WHERE status IN ('pending', 'charging', 'retry');
CREATE INDEX billing_charge_recent ON billing_charge (business_id, created_at DESC, id DESC);

-- Every attempt at the bank (a soft decline is retried on a later business day under a new invoice).
CREATE TABLE billing_charge_attempt (
    business_id text NOT NULL,
    charge_id text NOT NULL,
    attempt integer NOT NULL,
    invoice_number text NOT NULL,
    status text NOT NULL CHECK (status IN ('paid', 'failed')),
    response_code text,
    approval_code text,
    error_message text,
    issuer text,
    payment_id text,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, charge_id, attempt),
    FOREIGN KEY (business_id, charge_id) REFERENCES billing_charge (business_id, id)
);
"""


async def forwards():
    return sql_migration(ID, "billing", DESCRIPTION, SQL)
