from portal.db.sql_migration import sql_migration

ID = "2026-11-29T22:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "payouts foundations: rails, the business-day calendar's overrides, beneficiaries"

SQL = r"""
-- The payout rails an operator edits: amount bounds, fee (never above a regulatory cap) and hours.
-- `windows` is a list of {"opens","cutoff","settles"} (WIB, HH:MM; settles null = at once).
CREATE TABLE ref_payout_rails (
    code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,31}$'),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    provider_rail text NOT NULL CHECK (provider_rail IN ('bifast', 'online', 'skn', 'rtgs', 'ewallet')),
    destination text NOT NULL CHECK (destination IN ('bank', 'OVO', 'GOPAY', 'DANA', 'SHOPEEPAY', 'LINKAJA')),
    min_amount bigint NOT NULL CHECK (min_amount >= 1),
    max_amount bigint NOT NULL,
    fee bigint NOT NULL CHECK (fee >= 0),
    fee_cap bigint CHECK (fee_cap >= 0),
    always_open boolean NOT NULL,
    windows jsonb NOT NULL DEFAULT '[]'::jsonb,
    sort_order integer NOT NULL DEFAULT 0,
    active boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rail_bounds CHECK (max_amount >= min_amount),
    CONSTRAINT rail_fee_capped CHECK (fee_cap IS NULL OR fee <= fee_cap),
    CONSTRAINT rail_hours CHECK (always_open OR jsonb_array_length(windows) > 0)
);

INSERT INTO ref_payout_rails
    (code, name, provider_rail, destination, min_amount, max_amount, fee, fee_cap, always_open, windows, sort_order)
VALUES
    ('bifast', 'BI-FAST', 'bifast', 'bank', 1, 250000000, 2500, 2500, true, '[]', 10),
    ('online', 'Online transfer', 'online', 'bank', 1, 50000000, 6500, NULL, true, '[]', 20),
    ('skn', 'SKN/LLG', 'skn', 'bank', 1, 1000000000, 2900, NULL, false,
     '[{"opens": "08:00", "cutoff": "10:00", "settles": "11:00"},
       {"opens": "10:00", "cutoff": "12:00", "settles": "13:00"},
       {"opens": "12:00", "cutoff": "14:00", "settles": "15:00"},
       {"opens": "14:00", "cutoff": "15:00", "settles": "16:30"}]', 30),
    ('rtgs', 'BI-RTGS', 'rtgs', 'bank', 100000001, 1000000000000, 30000, NULL, false,
     '[{"opens": "08:00", "cutoff": "14:00", "settles": null}]', 40),
    ('ewallet_ovo', 'OVO', 'ewallet', 'OVO', 10000, 20000000, 1000, NULL, true, '[]', 50),
    ('ewallet_gopay', 'GoPay', 'ewallet', 'GOPAY', 10000, 20000000, 1000, NULL, true, '[]', 51),
    ('ewallet_dana', 'DANA', 'ewallet', 'DANA', 10000, 20000000, 1000, NULL, true, '[]', 52),
    ('ewallet_shopeepay', 'ShopeePay', 'ewallet', 'SHOPEEPAY', 10000, 20000000, 1000, NULL, true, '[]', 53),
    ('ewallet_linkaja', 'LinkAja', 'ewallet', 'LINKAJA', 10000, 10000000, 1000, NULL, true, '[]', 54);

-- A business's own terms on a rail (its tariff and limits), inside the network's bounds above: rails
-- are shared by every business, so a business edits only its own terms.
CREATE TABLE payout_rail_terms (
    business_id text NOT NULL,
    code text NOT NULL REFERENCES ref_payout_rails (code),
    min_amount bigint NOT NULL CHECK (min_amount >= 1),
    max_amount bigint NOT NULL,
    fee bigint NOT NULL CHECK (fee >= 0),
    active boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, code),
    CONSTRAINT rail_terms_bounds CHECK (max_amount >= min_amount)
);

-- Each year's decree on joint leave, or a day BI closes or opens unexpectedly: wins over the library.
CREATE TABLE payout_calendar_override (
    day date PRIMARY KEY,
    is_business_day boolean NOT NULL,
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 200),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Per-business payout settings: the cool-down between adding a beneficiary and its first payout.
CREATE TABLE payout_settings (
    business_id text PRIMARY KEY,
    beneficiary_cooldown_s integer NOT NULL DEFAULT 3600 CHECK (beneficiary_cooldown_s BETWEEN 0 AND 604800),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A verified destination of payouts: a bank account or an e-wallet, owned by one account of a business.
CREATE TABLE beneficiary (
    id text PRIMARY KEY,
    business_id text NOT NULL,
    account_id text NOT NULL REFERENCES account (id),
    kind text NOT NULL CHECK (kind IN ('bank', 'ewallet')),
    bank_code varchar(8) REFERENCES ref_banks (code),
    wallet text CHECK (wallet IN ('OVO', 'GOPAY', 'DANA', 'SHOPEEPAY', 'LINKAJA')),
    account_number text NOT NULL CHECK (account_number ~ '^[0-9]{6,20}$'),
    typed_name text NOT NULL CHECK (length(typed_name) BETWEEN 1 AND 100),
    holder_name text NOT NULL CHECK (length(holder_name) BETWEEN 1 AND 100),
    name_matches boolean NOT NULL,
    verified_at timestamptz NOT NULL,
    usable_from timestamptz NOT NULL,
    is_default boolean NOT NULL DEFAULT false,
    label text CHECK (length(label) <= 60),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleted')),
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    CONSTRAINT beneficiary_destination CHECK (
        (kind = 'bank' AND bank_code IS NOT NULL AND wallet IS NULL)
        OR (kind = 'ewallet' AND wallet IS NOT NULL AND bank_code IS NULL)),
    CONSTRAINT beneficiary_default_active CHECK (NOT is_default OR status = 'active')
);
CREATE INDEX beneficiary_business ON beneficiary (business_id, created_at, id);
-- One active entry per destination per account, and at most one default per account.
CREATE UNIQUE INDEX beneficiary_unique_destination ON beneficiary
    (account_id, kind, coalesce(bank_code, wallet), account_number) WHERE status = 'active';
CREATE UNIQUE INDEX beneficiary_one_default ON beneficiary (account_id) WHERE is_default;
"""


async def forwards():
    return sql_migration(ID, "payouts", DESCRIPTION, SQL)
