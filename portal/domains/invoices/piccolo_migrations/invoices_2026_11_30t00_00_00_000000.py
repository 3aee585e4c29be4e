from portal.db.sql_migration import sql_migration

ID = "2026-11-30T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "invoices: plans, subscriptions, gapless invoice numbers, invoices, usage, collection steps"

SQL = r"""
-- Per-business collection settings: partial collection (off by default), dunning retries, freeze.
CREATE TABLE invoice_settings (
    business_id text PRIMARY KEY,
    partial_collection boolean NOT NULL DEFAULT false,
    dunning_retries integer NOT NULL DEFAULT 3 CHECK (dunning_retries BETWEEN 0 AND 10),
    freeze_after_dunning boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The last invoice number of a business: bumped in the transaction that inserts the invoices, so a
-- rolled-back run takes its numbers with it (no gaps) and concurrent runs queue on this row.
CREATE TABLE invoice_counter (
    business_id text PRIMARY KEY,
    last_number bigint NOT NULL DEFAULT 0 CHECK (last_number >= 0)
);

CREATE TABLE invoice_plan (
    business_id text NOT NULL,
    id text NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    currency text NOT NULL,
    fixed_amount bigint NOT NULL DEFAULT 0 CHECK (fixed_amount >= 0),
    percent_bp integer NOT NULL DEFAULT 0 CHECK (percent_bp BETWEEN 0 AND 10000),
    cycle text NOT NULL CHECK (cycle IN ('weekly', 'monthly', 'quarterly', 'yearly')),
    due_days integer NOT NULL DEFAULT 0 CHECK (due_days BETWEEN 0 AND 90),
    tax_label text NOT NULL DEFAULT 'PPN' CHECK (length(tax_label) BETWEEN 1 AND 30),
    tax_bp integer NOT NULL DEFAULT 1100 CHECK (tax_bp BETWEEN 0 AND 10000),
    receiving_account_id text NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id)
);

-- `period_start`/`period_end` are the next period to bill; the cycle job advances them with the invoice.
CREATE TABLE invoice_subscription (
    business_id text NOT NULL,
    id text NOT NULL,
    plan_id text NOT NULL,
    account_id text NOT NULL,
    cycle_day integer NOT NULL CHECK (cycle_day BETWEEN 1 AND 31),
    starts_on date NOT NULL,
    ends_on date,
    period_start date NOT NULL,
    period_end date NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended', 'cancelled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, plan_id) REFERENCES invoice_plan (business_id, id),
    CONSTRAINT subscription_dates CHECK (ends_on IS NULL OR ends_on > starts_on),
    CONSTRAINT subscription_period CHECK (period_end > period_start)
);
CREATE UNIQUE INDEX invoice_subscription_one_active ON invoice_subscription (business_id, plan_id, account_id)
    WHERE status = 'active';
-- The cycle walks the due rows in (period_end, id) order with a keyset cursor.
CREATE INDEX invoice_subscription_due ON invoice_subscription (period_end, id) WHERE status = 'active';
CREATE INDEX invoice_subscription_account ON invoice_subscription (business_id, account_id);

CREATE TABLE invoice (
    business_id text NOT NULL,
    id text NOT NULL,
    number bigint NOT NULL CHECK (number > 0),
    subscription_id text NOT NULL,
    plan_id text NOT NULL,
    account_id text NOT NULL,
    receiving_account_id text NOT NULL,
    currency text NOT NULL,
    period_start date NOT NULL,
    period_end date NOT NULL,
    issued_at timestamptz NOT NULL,
    due_on date NOT NULL,
    lines jsonb NOT NULL,
    subtotal bigint NOT NULL CHECK (subtotal >= 0),
    tax_label text NOT NULL,
    tax_bp integer NOT NULL,
    tax bigint NOT NULL CHECK (tax >= 0),
    total bigint NOT NULL,
    paid_amount bigint NOT NULL DEFAULT 0,
    credited_amount bigint NOT NULL DEFAULT 0,
    written_off_amount bigint NOT NULL DEFAULT 0,
    status text NOT NULL CHECK (status IN ('open', 'paid', 'void', 'written_off', 'credited')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_on date,
    overdue boolean NOT NULL DEFAULT false,
    closed_at timestamptz,
    PRIMARY KEY (business_id, id),
    -- Exactly one invoice per subscription and period, and one number per business.
    UNIQUE (business_id, subscription_id, period_start),
    UNIQUE (business_id, number),
    FOREIGN KEY (business_id, subscription_id) REFERENCES invoice_subscription (business_id, id),
    CONSTRAINT invoice_total CHECK (total = subtotal + tax),
    CONSTRAINT invoice_amounts CHECK (
        paid_amount BETWEEN 0 AND total AND credited_amount BETWEEN 0 AND paid_amount
        AND written_off_amount BETWEEN 0 AND total - paid_amount),
    CONSTRAINT invoice_settled CHECK (status NOT IN ('paid', 'credited') OR paid_amount = total),
    CONSTRAINT invoice_credited CHECK ((status = 'credited') = (credited_amount > 0))
);
CREATE INDEX invoice_collectable ON invoice (next_attempt_on, id)
    WHERE status = 'open' AND next_attempt_on IS NOT NULL;
CREATE INDEX invoice_by_account ON invoice (business_id, account_id, number);
CREATE INDEX invoice_by_business ON invoice (business_id, number);

-- Usage lines the business adds by API; the next invoice of the subscription takes them.
CREATE TABLE invoice_usage (
    business_id text NOT NULL,
    id text NOT NULL,
    subscription_id text NOT NULL,
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 200),
    quantity bigint NOT NULL CHECK (quantity > 0),
    unit_amount bigint NOT NULL CHECK (unit_amount >= 0),
    amount bigint NOT NULL CHECK (amount = quantity * unit_amount),
    invoice_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, subscription_id) REFERENCES invoice_subscription (business_id, id)
);
CREATE INDEX invoice_usage_unbilled ON invoice_usage (business_id, subscription_id) WHERE invoice_id IS NULL;

-- Every step of an invoice's life (issued, collection attempts, dunning, void, credit, write-off).
CREATE TABLE invoice_step (
    business_id text NOT NULL,
    invoice_id text NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL,
    amount bigint NOT NULL DEFAULT 0,
    detail jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (business_id, invoice_id, seq),
    FOREIGN KEY (business_id, invoice_id) REFERENCES invoice (business_id, id)
);
"""


async def forwards():
    return sql_migration(ID, "invoices", DESCRIPTION, SQL)
