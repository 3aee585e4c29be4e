from portal.db.sql_migration import sql_migration

ID = "2026-11-22T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "identity: businesses, users, sessions, tokens, API keys, idempotency, rate limits, e-mail"

SQL = """
CREATE TABLE business (
    id text PRIMARY KEY,
    name varchar(200) NOT NULL CHECK (length(btrim(name)) > 0),
    mode text NOT NULL DEFAULT 'sandbox' CHECK (mode IN ('sandbox', 'live')),
    default_language text NOT NULL DEFAULT 'en' CHECK (default_language IN ('en', 'id')),
    fees jsonb NOT NULL DEFAULT '{"topup": 6000, "withdrawal": 8000, "transfer": 0}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE app_user (
    id text PRIMARY KEY,
    business_id text NOT NULL REFERENCES business (id),
    username varchar(64) NOT NULL,
    full_name varchar(200) NOT NULL,
    email varchar(254) NOT NULL,
    mobile varchar(16),
    role text NOT NULL,
    rights text[] NOT NULL DEFAULT '{}',
    scope_account_id text,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'locked')),
    language text NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'id')),
    password_hash text,
    totp_secret text,
    totp_confirmed boolean NOT NULL DEFAULT false,
    totp_last_step bigint,
    locked_until timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Usernames are unique across the whole system, whatever their case.
CREATE UNIQUE INDEX app_user_username_key ON app_user (lower(username));
CREATE INDEX app_user_business_idx ON app_user (business_id, lower(full_name));

-- One-time links (enrolment, password reset): only the SHA-256 of the token is stored.
CREATE TABLE user_token (
    token_hash text PRIMARY KEY,
    user_id text NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    business_id text NOT NULL REFERENCES business (id),
    purpose text NOT NULL CHECK (purpose IN ('enroll', 'reset')),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_token_user_idx ON user_token (user_id);

CREATE TABLE recovery_code (
    id bigserial PRIMARY KEY,
    user_id text NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    code_hash text NOT NULL,
    used_at timestamptz
);
CREATE INDEX recovery_code_user_idx ON recovery_code (user_id);

CREATE TABLE login_failure (
    id bigserial PRIMARY KEY,
    user_id text REFERENCES app_user (id) ON DELETE CASCADE,
    username text NOT NULL,
    ip text,
    at timestamptz NOT NULL
);
CREATE INDEX login_failure_user_idx ON login_failure (user_id, at);

-- Server-side sessions: the cookie carries a random token, the table keeps only its SHA-256.
CREATE TABLE web_session (
    id text PRIMARY KEY,
    public_id text NOT NULL UNIQUE,
    user_id text NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    business_id text NOT NULL REFERENCES business (id),
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    ip text,
    user_agent text,
    -- Set when the user's rights change: the next request gets a new session id.
    rotate_pending boolean NOT NULL DEFAULT false
);
CREATE INDEX web_session_user_idx ON web_session (user_id);

CREATE TABLE api_key (
    id text PRIMARY KEY,
    business_id text NOT NULL REFERENCES business (id),
    client_id text NOT NULL UNIQUE,
    name varchar(100) NOT NULL,
    -- The secret sealed with a key derived from NERACA_SECRET_KEY (HMAC verification needs it), and
    -- its SHA-256 to check the unsealing.
    secret_sealed text NOT NULL,
    secret_hash text NOT NULL,
    permissions text[] NOT NULL DEFAULT '{}',
    scope_account_id text,
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_key_business_idx ON api_key (business_id, created_at);

-- Every signed API request id (replay protection) and, for POST, the stored response (idempotency).
CREATE TABLE api_request (
    api_key_id text NOT NULL REFERENCES api_key (id) ON DELETE CASCADE,
    request_id text NOT NULL,
    method text NOT NULL,
    target text NOT NULL,
    body_hash text NOT NULL,
    state text NOT NULL CHECK (state IN ('running', 'done', 'seen')),
    lease_until timestamptz,
    status_code int,
    headers jsonb,
    body bytea,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (api_key_id, request_id)
);
CREATE INDEX api_request_created_idx ON api_request (created_at);

-- Fixed-window counters shared by every process.
CREATE TABLE rate_limit (
    bucket text NOT NULL,
    window_start timestamptz NOT NULL,
    hits int NOT NULL,
    PRIMARY KEY (bucket, window_start)
);

CREATE TABLE email_outbox (
    id text PRIMARY KEY,
    business_id text,
    to_address varchar(254) NOT NULL,
    subject text NOT NULL,
    text_body text NOT NULL,
    html_body text NOT NULL,
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'outbox', 'failed')),
    attempts int NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
);
CREATE INDEX email_outbox_created_idx ON email_outbox (created_at DESC);
"""


async def forwards():
    return sql_migration(ID, "identity", DESCRIPTION, SQL)
