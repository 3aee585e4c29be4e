from portal.db.sql_migration import sql_migration

ID = "2026-11-22T05:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit: hash-chained activity log"

SQL = """
-- One chain per business (chain = business id) and one for events without a business ('system').
CREATE TABLE activity (
    id bigserial PRIMARY KEY,
    chain text NOT NULL,
    seq bigint NOT NULL,
    business_id text,
    occurred_at timestamptz NOT NULL,
    actor_kind text NOT NULL,
    actor_id text,
    actor_name text NOT NULL DEFAULT '',
    ip text,
    user_agent text,
    action text NOT NULL,
    summary text NOT NULL,
    refs jsonb NOT NULL DEFAULT '{}'::jsonb,
    search text NOT NULL DEFAULT '',
    prev_hash text NOT NULL,
    hash text NOT NULL,
    UNIQUE (chain, seq)
);
CREATE INDEX activity_business_idx ON activity (business_id, id DESC);
CREATE INDEX activity_business_time_idx ON activity (business_id, occurred_at);

-- The head of each chain, so a deleted last row is found too.
CREATE TABLE activity_chain_head (
    chain text PRIMARY KEY,
    seq bigint NOT NULL,
    hash text NOT NULL
);

CREATE FUNCTION activity_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the activity log is append-only';
END;
$$;
CREATE TRIGGER activity_no_update BEFORE UPDATE OR DELETE ON activity
    FOR EACH ROW EXECUTE FUNCTION activity_append_only();
"""


async def forwards():
    return sql_migration(ID, "audit", DESCRIPTION, SQL)
