"""Piccolo mirrors of the identity tables (the schema itself is the SQL migration)."""

from piccolo.columns import (
    JSONB,
    Array,
    BigInt,
    Boolean,
    Bytea,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Business(Table, tablename="business"):
    id = Text(primary_key=True)
    name = Varchar(length=200)
    mode = Text()
    default_language = Text()
    fees = JSONB()
    code_above = BigInt(null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class AppUser(Table, tablename="app_user"):
    id = Text(primary_key=True)
    business_id = Text()
    username = Varchar(length=64)
    full_name = Varchar(length=200)
    email = Varchar(length=254)
    mobile = Varchar(length=16, null=True)
    role = Text()
    rights = Array(base_column=Text())
    scope_account_id = Text(null=True)
    status = Text()
    language = Text()
    password_hash = Text(null=True)
    totp_secret = Text(null=True)
    totp_confirmed = Boolean()
    totp_last_step = BigInt(null=True)
    locked_until = Timestamptz(null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class UserToken(Table, tablename="user_token"):
    token_hash = Text(primary_key=True)
    user_id = Text()
    business_id = Text()
    purpose = Text()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True)
    created_at = Timestamptz()


class RecoveryCode(Table, tablename="recovery_code"):
    user_id = Text()
    code_hash = Text()
    used_at = Timestamptz(null=True)


class LoginFailure(Table, tablename="login_failure"):
    user_id = Text(null=True)
    username = Text()
    ip = Text(null=True)
    at = Timestamptz()


class WebSession(Table, tablename="web_session"):
    id = Text(primary_key=True)
    public_id = Text()
    user_id = Text()
    business_id = Text()
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    ip = Text(null=True)
    user_agent = Text(null=True)


class ApiKey(Table, tablename="api_key"):
    id = Text(primary_key=True)
    business_id = Text()
    client_id = Text()
    name = Varchar(length=100)
    secret_sealed = Text()
    secret_hash = Text()
    permissions = Array(base_column=Text())
    scope_account_id = Text(null=True)
    created_by = Text(null=True)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True)
    last_used_at = Timestamptz(null=True)


class ApiRequest(Table, tablename="api_request"):
    api_key_id = Text()
    request_id = Text()
    method = Text()
    target = Text()
    body_hash = Text()
    state = Text()
    lease_until = Timestamptz(null=True)
    status_code = Integer(null=True)
    headers = JSONB(null=True)
    body = Bytea(null=True)
    created_at = Timestamptz()
    owner_lock = Integer(null=True)
    booked_object_id = Text(null=True)


class RateLimit(Table, tablename="rate_limit"):
    bucket = Text()
    window_start = Timestamptz()
    hits = Integer()


class EmailOutbox(Table, tablename="email_outbox"):
    id = Text(primary_key=True)
    business_id = Text(null=True)
    to_address = Varchar(length=254)
    subject = Text()
    text_body = Text()
    html_body = Text()
    status = Text()
    attempts = Integer()
    last_error = Text(null=True)
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True)
    attachment_name = Text(null=True)
    attachment_type = Text(null=True)
    attachment = Bytea(null=True)


TABLES = [
    Business,
    AppUser,
    UserToken,
    RecoveryCode,
    LoginFailure,
    WebSession,
    ApiKey,
    ApiRequest,
    RateLimit,
    EmailOutbox,
]
