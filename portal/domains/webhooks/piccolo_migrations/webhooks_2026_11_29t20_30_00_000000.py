from portal.db.sql_migration import sql_migration

ID = "2026-11-29T20:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "events with a gapless per-business sequence, webhook endpoints, deliveries and attempts"

SQL = r"""
-- One counter row per business: bumping it in the event's transaction takes its row lock, so
-- concurrent emitters of one business queue behind each other and the sequence has no gaps.
CREATE TABLE event_sequence (
    business_id text PRIMARY KEY,
    last bigint NOT NULL CHECK (last >= 0)
);

CREATE TABLE event (
    id text PRIMARY KEY,
    business_id text NOT NULL,
    sequence bigint NOT NULL CHECK (sequence > 0),
    type text NOT NULL,
    data jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- The accounts the event is about: a scoped reader sees it when one of them is in its subtree.
    account_ids text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (business_id, sequence)
);
CREATE INDEX event_business_type ON event (business_id, type, sequence);

-- Events are facts: never changed, never removed one by one.
CREATE FUNCTION event_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable';
END $$;
CREATE TRIGGER event_no_update BEFORE UPDATE OR DELETE ON event
    FOR EACH ROW EXECUTE FUNCTION event_immutable();

CREATE TABLE webhook_endpoint (
    id text PRIMARY KEY,
    business_id text NOT NULL,
    url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    -- Empty: every event type.
    event_types text[] NOT NULL DEFAULT '{}',
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text,
    secret text NOT NULL,
    -- After a rotation the old secret still signs (beside the new one) until this time.
    previous_secret text,
    previous_secret_expires_at timestamptz,
    -- First failure of the current unbroken run of failures (NULL while deliveries succeed).
    failing_since timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoint_business ON webhook_endpoint (business_id, created_at);

-- One attempt chain per (event, endpoint): the outbox rows the delivery jobs work through.
CREATE TABLE webhook_delivery (
    event_id text NOT NULL REFERENCES event (id),
    endpoint_id text NOT NULL REFERENCES webhook_endpoint (id) ON DELETE CASCADE,
    business_id text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz DEFAULT now(),
    -- A worker that claimed the delivery owns it until then; a dead worker's claim simply runs out.
    leased_until timestamptz,
    last_attempt_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, endpoint_id)
);
CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_delivery_endpoint ON webhook_delivery (endpoint_id, status, last_attempt_at);

CREATE TABLE webhook_attempt (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id text NOT NULL,
    endpoint_id text NOT NULL,
    business_id text NOT NULL,
    attempted_at timestamptz NOT NULL,
    trigger text NOT NULL CHECK (trigger IN ('automatic', 'manual', 'test')),
    status_code integer,
    error text,
    latency_ms integer NOT NULL,
    -- The first 1 KB of the answer, as text.
    response_body text NOT NULL DEFAULT '',
    succeeded boolean NOT NULL,
    FOREIGN KEY (event_id, endpoint_id) REFERENCES webhook_delivery (event_id, endpoint_id) ON DELETE CASCADE
);
CREATE INDEX webhook_attempt_delivery ON webhook_attempt (event_id, endpoint_id, id);
"""


async def forwards():
    return sql_migration(ID, "webhooks", DESCRIPTION, SQL)
