from portal.db.sql_migration import sql_migration

ID = "2026-11-22T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "account tree with balance columns; Indonesian bank list"

SQL = r"""
CREATE TABLE ref_banks (
    code varchar(8) PRIMARY KEY,
    name text NOT NULL
);

INSERT INTO ref_banks (code, name) VALUES
    ('002', 'Bank Rakyat Indonesia (BRI)'),
    ('008', 'Bank Mandiri'),
    ('009', 'Bank Negara Indonesia (BNI)'),
    ('011', 'Bank Danamon'),
    ('013', 'Bank Permata'),
    ('014', 'Bank Central Asia (BCA)'),
    ('016', 'Maybank Indonesia'),
    ('019', 'Bank Panin'),
    ('022', 'Bank CIMB Niaga'),
    ('023', 'Bank UOB Indonesia'),
    ('028', 'Bank OCBC NISP'),
    ('031', 'Citibank'),
    ('046', 'Bank DBS Indonesia'),
    ('050', 'Standard Chartered Bank'),
    ('087', 'Bank HSBC Indonesia'),
    ('110', 'Bank BJB'),
    ('111', 'Bank DKI'),
    ('113', 'Bank Jateng'),
    ('114', 'Bank Jatim'),
    ('147', 'Bank Muamalat'),
    ('153', 'Bank Sinarmas'),
    ('200', 'Bank Tabungan Negara (BTN)'),
    ('213', 'Bank SMBC Indonesia'),
    ('426', 'Bank Mega'),
    ('441', 'KB Bank'),
    ('451', 'Bank Syariah Indonesia (BSI)'),
    ('484', 'Bank KEB Hana Indonesia'),
    ('490', 'Bank Neo Commerce'),
    ('501', 'blu by BCA Digital'),
    ('535', 'SeaBank Indonesia'),
    ('542', 'Bank Jago');

CREATE TABLE account (
    id text PRIMARY KEY,
    business_id text NOT NULL,
    parent_id text REFERENCES account (id),
    -- '/<root id>/…/<own id>/': ancestors and self, so a subtree is one prefix match.
    path text NOT NULL,
    depth integer NOT NULL DEFAULT 0,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind text NOT NULL CHECK (kind IN ('main', 'partner', 'division', 'system')),
    system_role text CHECK (system_role IN ('world', 'fees', 'clearing')),
    currency varchar(3) NOT NULL CHECK (currency IN ('IDR', 'USD', 'SGD')),
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'closed')),
    reference text CHECK (length(reference) BETWEEN 1 AND 100),
    email text CHECK (length(email) <= 254),
    phone text CHECK (length(phone) <= 32),
    settlement_bank_code varchar(8) REFERENCES ref_banks (code),
    settlement_account_number text CHECK (settlement_account_number ~ '^[0-9]{5,20}$'),
    settlement_holder_name text CHECK (length(settlement_holder_name) BETWEEN 1 AND 100),
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    debits_posted bigint NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_posted bigint NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    debits_pending bigint NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    credits_pending bigint NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- No overdraft: main, partner and division accounts never go below zero available; system accounts may.
    CONSTRAINT account_no_overdraft
        CHECK (kind = 'system' OR credits_posted - debits_posted - debits_pending >= 0),
    CONSTRAINT account_closed_only_at_zero
        CHECK (status <> 'closed' OR (credits_posted = debits_posted AND debits_pending = 0
                                      AND credits_pending = 0)),
    CONSTRAINT account_system_role CHECK ((kind = 'system') = (system_role IS NOT NULL)),
    CONSTRAINT account_parent_by_kind
        CHECK ((kind IN ('main', 'system')) = (parent_id IS NULL)),
    CONSTRAINT account_settlement_bank_complete
        CHECK ((settlement_bank_code IS NULL) = (settlement_account_number IS NULL)
               AND (settlement_bank_code IS NULL) = (settlement_holder_name IS NULL))
);

CREATE UNIQUE INDEX account_one_main_per_business ON account (business_id) WHERE kind = 'main';
CREATE UNIQUE INDEX account_system_per_currency ON account (business_id, currency, system_role)
    WHERE kind = 'system';
CREATE UNIQUE INDEX account_reference_per_business ON account (business_id, reference)
    WHERE reference IS NOT NULL;
CREATE INDEX account_subtree ON account (business_id, path text_pattern_ops);
CREATE INDEX account_parent ON account (parent_id);
CREATE INDEX account_name_search ON account (business_id, lower(name) text_pattern_ops);
"""


async def forwards():
    return sql_migration(ID, "accounts", DESCRIPTION, SQL)
