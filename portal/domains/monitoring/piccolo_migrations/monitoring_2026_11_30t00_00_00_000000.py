from portal.db.sql_migration import sql_migration

ID = "2026-11-30T00:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "monitoring: rules with defaults per business, alerts, the event cursor, settlement holds"

SQL = r"""
-- A business's monitoring rules: a kind with its parameters, a severity and an action.
CREATE TABLE monitoring_rule (
    business_id text NOT NULL,
    id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('large_amount', 'velocity_count', 'velocity_sum', 'new_beneficiary',
        'night', 'structuring', 'dormant', 'recent_change', 'failed_charges')),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    params jsonb NOT NULL DEFAULT '{}'::jsonb,
    severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    action text NOT NULL CHECK (action IN ('alert', 'review', 'block')),
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id)
);
CREATE INDEX monitoring_rule_enabled ON monitoring_rule (business_id, action) WHERE enabled;

-- The defaults every business starts with (all alert only, so nothing is refused until a user decides).
CREATE FUNCTION monitoring_default_rules(b text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO monitoring_rule (business_id, id, kind, name, params, severity, action)
    VALUES
        (b, 'rul_' || md5(b || 'large_amount'), 'large_amount', 'Large single amount',
         '{"amount": 100000000}', 'high', 'alert'),
        (b, 'rul_' || md5(b || 'velocity_count_account'), 'velocity_count', 'Many payments from one account in an hour',
         '{"per": "account", "window_hours": 1, "max_count": 20}', 'medium', 'alert'),
        (b, 'rul_' || md5(b || 'velocity_sum_account'), 'velocity_sum', 'High daily total from one account',
         '{"per": "account", "window_hours": 24, "max_sum": 500000000}', 'high', 'alert'),
        (b, 'rul_' || md5(b || 'velocity_count_beneficiary'), 'velocity_count', 'Many payouts to one beneficiary in a day',
         '{"per": "beneficiary", "window_hours": 24, "max_count": 5}', 'medium', 'alert'),
        (b, 'rul_' || md5(b || 'velocity_sum_beneficiary'), 'velocity_sum', 'High daily total to one beneficiary',
         '{"per": "beneficiary", "window_hours": 24, "max_sum": 200000000}', 'medium', 'alert'),
        (b, 'rul_' || md5(b || 'new_beneficiary'), 'new_beneficiary', 'First payout to a new beneficiary',
         '{"min_amount": 25000000}', 'medium', 'alert'),
        (b, 'rul_' || md5(b || 'night'), 'night', 'Activity at night',
         '{"start_hour": 23, "end_hour": 5, "min_amount": 10000000}', 'low', 'alert'),
        (b, 'rul_' || md5(b || 'structuring'), 'structuring', 'Repeated amounts just below a limit',
         '{"limit": 100000000, "margin_pct": 10, "min_count": 3, "window_hours": 24}', 'high', 'alert'),
        (b, 'rul_' || md5(b || 'dormant'), 'dormant', 'Dormant account sending money',
         '{"days": 90, "min_amount": 1000000}', 'medium', 'alert'),
        (b, 'rul_' || md5(b || 'recent_change'), 'recent_change', 'Money out right after a beneficiary or login change',
         '{"minutes": 60, "min_amount": 5000000}', 'medium', 'alert'),
        (b, 'rul_' || md5(b || 'failed_charges'), 'failed_charges', 'Many failed card charges on one billing',
         '{"max_failures": 3, "window_hours": 24}', 'high', 'alert')
    ON CONFLICT DO NOTHING
$$;

CREATE FUNCTION monitoring_business_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM monitoring_default_rules(NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER monitoring_defaults AFTER INSERT ON business
    FOR EACH ROW EXECUTE FUNCTION monitoring_business_created();
SELECT monitoring_default_rules(id) FROM business;

-- Per-business monitoring settings: who is e-mailed about new alerts.
CREATE TABLE monitoring_settings (
    business_id text PRIMARY KEY,
    recipients text[] NOT NULL DEFAULT '{}' CHECK (cardinality(recipients) <= 20),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Money leaving an account, one row per operation, as the rules count it. Payouts join here when
-- their table exists (a later migration replaces the view with one more branch).
CREATE VIEW monitoring_outgoing AS
    SELECT t.business_id, t.debit_account_id AS account_id, NULL::text AS beneficiary_id, t.amount,
           t.currency, t.created_at, t.id AS object_id, 'transfer'::text AS object_kind
    FROM transfer t WHERE t.kind = 'transfer'
    UNION ALL
    SELECT w.business_id, w.account_id, NULL::text, w.amount, w.currency, w.created_at, w.id, 'withdrawal'
    FROM withdrawal w WHERE w.status <> 'failed';
-- The rules read an account's recent transfers out by time (the ledger's own index is by sequence).
CREATE INDEX monitoring_transfer_out ON transfer (business_id, debit_account_id, created_at) WHERE kind = 'transfer';
-- Sign-in credentials changing (the "login change" rule): a few rows among every audited action.
CREATE INDEX monitoring_activity_credentials ON activity (business_id, occurred_at)
    WHERE action IN ('user.password_changed', 'user.password_reset', 'user.authenticator_reset',
                     'user.email_changed', 'user.recovery_codes_regenerated', 'api_key.created');

-- An alert: a rule that matched, its evidence and its lifecycle.
CREATE TABLE monitoring_alert (
    business_id text NOT NULL,
    id text NOT NULL,
    rule_id text,
    rule_kind text NOT NULL,
    rule_name text NOT NULL,
    severity text NOT NULL CHECK (severity IN ('low', 'medium', 'high')),
    action text NOT NULL CHECK (action IN ('alert', 'review', 'block')),
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
    account_id text,
    object_kind text,
    object_id text,
    amount bigint,
    currency varchar(3),
    summary text NOT NULL DEFAULT '',
    -- [{"kind": "transfer", "id": "trf_…", "amount": 1, "at": "…"}]: the operations that made it match.
    evidence jsonb NOT NULL DEFAULT '[]'::jsonb,
    assignee_id text,
    resolution text CHECK (length(resolution) <= 1000),
    created_at timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    acknowledged_by text,
    resolved_at timestamptz,
    resolved_by text,
    PRIMARY KEY (business_id, id)
);
CREATE INDEX monitoring_alert_queue ON monitoring_alert (business_id, status, created_at DESC);
CREATE INDEX monitoring_alert_account ON monitoring_alert (business_id, account_id, created_at DESC);
-- One alert per rule and operation: the event consumer may see an event twice.
CREATE UNIQUE INDEX monitoring_alert_once ON monitoring_alert (business_id, rule_id, object_id)
    WHERE rule_id IS NOT NULL AND object_id IS NOT NULL;

CREATE TABLE monitoring_alert_note (
    business_id text NOT NULL,
    id text NOT NULL,
    alert_id text NOT NULL,
    author_id text,
    author_name text NOT NULL DEFAULT '',
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, id),
    FOREIGN KEY (business_id, alert_id) REFERENCES monitoring_alert (business_id, id)
);
CREATE INDEX monitoring_alert_note_alert ON monitoring_alert_note (business_id, alert_id, created_at);

-- How far the event consumer has read each business's events (their sequence is gapless and commits
-- in order, since an event holds its business's sequence row until commit).
CREATE TABLE monitoring_cursor (
    business_id text PRIMARY KEY,
    last_sequence bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Existing businesses start from now: their past events are not screened.
INSERT INTO monitoring_cursor (business_id, last_sequence) SELECT business_id, last FROM event_sequence;

-- An account whose settlement waits: settlement batches skip it (and its subtree) while a row is open.
CREATE TABLE settlement_hold (
    business_id text NOT NULL,
    id text NOT NULL,
    account_id text NOT NULL,
    alert_id text,
    reason text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    held_at timestamptz NOT NULL DEFAULT now(),
    held_by text NOT NULL DEFAULT '',
    released_at timestamptz,
    released_by text,
    PRIMARY KEY (business_id, id)
);
CREATE UNIQUE INDEX settlement_hold_open ON settlement_hold (business_id, account_id) WHERE released_at IS NULL;
"""


async def forwards():
    return sql_migration(ID, "monitoring", DESCRIPTION, SQL)
