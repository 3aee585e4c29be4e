"""Piccolo mirrors of the events and webhook tables (the SQL migration is the source of truth)."""

from piccolo.columns import JSONB, Array, BigInt, Boolean, Integer, Text, Timestamptz
from piccolo.table import Table


class EventSequence(Table, tablename="event_sequence"):
    business_id = Text(primary_key=True)
    last = BigInt()


class Event(Table, tablename="event"):
    id = Text(primary_key=True)
    business_id = Text()
    sequence = BigInt()
    type = Text()
    data = JSONB()
    account_ids = Array(Text())
    created_at = Timestamptz()


class WebhookEndpoint(Table, tablename="webhook_endpoint"):
    id = Text(primary_key=True)
    business_id = Text()
    url = Text()
    description = Text()
    event_types = Array(Text())
    enabled = Boolean()
    disabled_reason = Text(null=True)
    secret = Text()
    previous_secret = Text(null=True)
    previous_secret_expires_at = Timestamptz(null=True)
    failing_since = Timestamptz(null=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class WebhookDelivery(Table, tablename="webhook_delivery"):
    event_id = Text()
    endpoint_id = Text()
    business_id = Text()
    status = Text()
    attempts = Integer()
    next_attempt_at = Timestamptz(null=True)
    leased_until = Timestamptz(null=True)
    last_attempt_at = Timestamptz(null=True)
    created_at = Timestamptz()


class WebhookAttempt(Table, tablename="webhook_attempt"):
    id = BigInt(primary_key=True)
    event_id = Text()
    endpoint_id = Text()
    business_id = Text()
    attempted_at = Timestamptz()
    trigger = Text()
    status_code = Integer(null=True)
    error = Text(null=True)
    latency_ms = Integer()
    response_body = Text()
    succeeded = Boolean()
