"""Events and webhook endpoints: the business rules.

An **event** is written in the transaction of the change it tells about (an outbox): `emit()` for one,
`emit_many(conn, rows)` set-based for the ledger's group commit. Each gets the next number of its
business's gapless sequence. The same statement creates one **delivery** (an attempt chain) per enabled
endpoint subscribed to the type, and one job is enqueued to send them; `delivery.py` does the sending.
A large batch is written by COPY instead of that statement, with the same result (`_copy_events`).

Lock order: an event bumps its business's `event_sequence` row (held to commit). Call `emit` after the
ledger's writes and before the activity log (`audit.record`, whose chain lock comes last).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries

from portal.domains.webhooks import urls
from portal.domains.webhooks.event_types import EVENT_TYPES
from portal.domains.webhooks.schemas import EndpointOut, EndpointPage, EventOut, EventPage
from portal.lib import sql
from portal.lib.actor import Actor
from portal.lib.errors import N_, FieldError, NotFound, ValidationFailed
from portal.lib.ids import new_id, new_ids
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.sql import transaction

DELIVER_JOB = "webhooks.deliver"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
# After a rotation the old secret keeps signing beside the new one for this long.
ROTATION_OVERLAP = timedelta(hours=24)
MAX_DESCRIPTION = 500

# (business_id, type, data, account_ids): one event to write.
EventRow = tuple[str, str, dict[str, Any], Sequence[str]]


# --- events -------------------------------------------------------------------------------------


_EMIT_SQL = """
WITH input AS (
    SELECT t.id, t.business_id, t.type, t.data, t.accounts, t.ord
    FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[])
        WITH ORDINALITY AS t(id, business_id, type, data, accounts, ord)
), counts AS (
    SELECT business_id, count(*) AS n FROM input GROUP BY business_id
), bumped AS (
    INSERT INTO event_sequence AS s (business_id, last)
    SELECT business_id, n FROM counts ORDER BY business_id
    ON CONFLICT (business_id) DO UPDATE SET last = s.last + EXCLUDED.last
    RETURNING s.business_id, s.last
), written AS (
    INSERT INTO event (id, business_id, sequence, type, data, account_ids)
    SELECT i.id, i.business_id,
           b.last - c.n + row_number() OVER (PARTITION BY i.business_id ORDER BY i.ord),
           i.type, i.data, string_to_array(i.accounts, ',')
    FROM input i JOIN counts c USING (business_id) JOIN bumped b USING (business_id)
    RETURNING id, business_id, type
), fanned AS (
    INSERT INTO webhook_delivery (event_id, endpoint_id, business_id)
    SELECT ev.id, ep.id, ev.business_id
    FROM written ev
    JOIN webhook_endpoint ep ON ep.business_id = ev.business_id AND ep.enabled
        AND (cardinality(ep.event_types) = 0 OR ev.type = ANY (ep.event_types))
    WHERE ev.type <> 'webhook.test'
    RETURNING event_id, endpoint_id
)
SELECT array_agg(event_id) AS event_ids, array_agg(endpoint_id) AS endpoint_ids FROM fanned
"""


def _check_type(event_type: str) -> None:
    if event_type not in EVENT_TYPES:
        # A programming error, not input: every type is registered before anything emits it.
        raise ValueError(f"unregistered event type {event_type!r}")


# From this many events on, `emit_many` writes them by binary COPY (`_copy_events`): one statement of
# `unnest` arrays costs more per event than COPY once a batch is large (a settlement run, a billing cycle).
COPY_FROM = 500

_RESERVE_SQL = """
INSERT INTO event_sequence AS s (business_id, last)
SELECT * FROM unnest($1::text[], $2::bigint[]) ORDER BY 1
ON CONFLICT (business_id) DO UPDATE SET last = s.last + EXCLUDED.last
RETURNING s.business_id, s.last
"""


async def emit_many(conn: asyncpg.Connection, rows: Sequence[EventRow]) -> list[str]:
    """Write events set-based on `conn` (inside its open transaction) and queue their deliveries.

    The events get their sequence numbers (in input order within a business) and one delivery per
    subscribed endpoint; one job is enqueued for all of them. Returns the new event ids, in input order.
    A small batch is one statement; a large one is written by COPY with the same result.
    """
    if not rows:
        return []
    for row in rows:
        _check_type(row[1])
    ids = new_ids("evt", len(rows))
    if len(rows) >= COPY_FROM:
        pairs = await _copy_events(conn, ids, rows)
    else:
        record = await conn.fetchrow(
            _EMIT_SQL,
            ids,
            [r[0] for r in rows],
            [r[1] for r in rows],
            [json.dumps(r[2], separators=(",", ":"), default=str) for r in rows],
            [",".join(r[3]) for r in rows],
        )
        pairs = list(zip(record["event_ids"] or [], record["endpoint_ids"] or [], strict=True))
    if pairs:
        await enqueue_deliveries(conn, pairs)
    return ids


async def _copy_events(
    conn: asyncpg.Connection, ids: list[str], rows: Sequence[EventRow]
) -> list[tuple[str, str]]:
    """`emit_many` for a large batch: each business's numbers reserved by one statement, the events and
    their deliveries written by binary COPY; returns the (event, endpoint) pairs to deliver."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[0]] = counts.get(row[0], 0) + 1
    businesses = sorted(counts)  # the sequence rows locked in one order, as `_EMIT_SQL` does
    reserved = await conn.fetch(_RESERVE_SQL, businesses, [counts[b] for b in businesses])
    following = {r["business_id"]: r["last"] - counts[r["business_id"]] for r in reserved}
    dumps = json.JSONEncoder(separators=(",", ":"), default=str).encode
    records = []
    for event_id, (business_id, event_type, data, accounts) in zip(ids, rows, strict=True):
        following[business_id] += 1
        records.append(
            (event_id, business_id, following[business_id], event_type, dumps(data), list(accounts))
        )
    await conn.copy_records_to_table(
        "event",
        records=records,
        columns=["id", "business_id", "sequence", "type", "data", "account_ids"],
    )
    endpoints: dict[str, list[tuple[str, list[str]]]] = {}
    for endpoint in await conn.fetch(
        "SELECT business_id, id, event_types FROM webhook_endpoint WHERE business_id = ANY($1::text[]) "
        "AND enabled",
        businesses,
    ):
        endpoints.setdefault(endpoint["business_id"], []).append((endpoint["id"], endpoint["event_types"]))
    if not endpoints:
        return []
    pairs = [
        (event_id, endpoint_id, business_id)
        for event_id, (business_id, event_type, _data, _accounts) in zip(ids, rows, strict=True)
        if event_type != "webhook.test"
        for endpoint_id, types in endpoints.get(business_id, ())
        if not types or event_type in types
    ]
    if pairs:
        await conn.copy_records_to_table(
            "webhook_delivery", records=pairs, columns=["event_id", "endpoint_id", "business_id"]
        )
    return [(event_id, endpoint_id) for event_id, endpoint_id, _b in pairs]


async def emit(
    business_id: str, event_type: str, data: dict[str, Any], *, account_ids: Iterable[str] = ()
) -> str:
    """Write one event in the current transaction (required: an event is part of its change)."""
    if not sql.in_transaction():
        raise RuntimeError(f"emit({event_type!r}) must run inside the transaction of the change")
    async with sql.connection() as conn:
        (event_id,) = await emit_many(conn, [(business_id, event_type, data, tuple(account_ids))])
    return event_id


async def enqueue_deliveries(
    conn: asyncpg.Connection,
    pairs: Sequence[tuple[str, str]],
    *,
    delay: timedelta | None = None,
    trigger: str = "automatic",
) -> None:
    """One delivery job for these (event_id, endpoint_id) pairs, on `conn`'s open transaction."""
    if not pairs:
        return
    body = json.dumps({"d": [list(p) for p in pairs], "t": trigger}, separators=(",", ":")).encode()
    await Queries(AsyncpgDriver(conn)).enqueue(DELIVER_JOB, body, 0, delay)


def _visible_events(actor: Actor, args: list[Any], alias: str = "e") -> str:
    args.append(actor.business_id)
    clause = f"{alias}.business_id = ${len(args)}"
    if actor.scope_account_id:
        # A scoped actor hears about the accounts of its subtree only.
        args.append(f"%/{actor.scope_account_id}/%")
        clause += (
            f" AND EXISTS (SELECT 1 FROM account a WHERE a.id = ANY ({alias}.account_ids) "
            f"AND a.path LIKE ${len(args)})"
        )
    return clause


def _event_out(row: asyncpg.Record) -> EventOut:
    data = row["data"] if isinstance(row["data"], dict) else json.loads(row["data"])
    return EventOut(
        id=row["id"], type=row["type"], sequence=row["sequence"], data=data, created_at=row["created_at"]
    )


async def list_events(
    actor: Actor, *, type: str | None = None, limit: int | None = None, after: str | None = None
) -> EventPage:
    """The business's events, newest first, optionally of one type; cursor-paginated."""
    size = clamp_limit(limit)
    args: list[Any] = []
    clause = _visible_events(actor, args)
    if type:
        if type not in EVENT_TYPES:
            raise ValidationFailed(
                N_("Unknown event type %(type)s."),
                params={"type": type},
                code="unknown_event_type",
                errors=[FieldError("type", N_("not an event type"))],
            )
        args.append(type)
        clause += f" AND e.type = ${len(args)}"
    cursor = decode_cursor(after)
    if cursor is not None:
        if not isinstance(cursor, int):
            raise ValidationFailed(
                N_("The cursor is not valid."),
                errors=[FieldError("after", N_("not a cursor from this list"))],
            )
        args.append(cursor)
        clause += f" AND e.sequence < ${len(args)}"
    args.append(size + 1)
    rows = await sql.fetch(
        f"SELECT e.id, e.type, e.sequence, e.data, e.created_at FROM event e WHERE {clause} "
        f"ORDER BY e.sequence DESC LIMIT ${len(args)}",
        *args,
    )
    more = len(rows) > size
    rows = rows[:size]
    return EventPage(
        data=[_event_out(r) for r in rows],
        has_more=more,
        next_cursor=encode_cursor(rows[-1]["sequence"]) if more else None,
    )


async def get_event(actor: Actor, event_id: str) -> EventOut:
    """One event of the actor's business (and scope); NotFound otherwise."""
    args: list[Any] = [event_id]
    clause = _visible_events(actor, args)
    row = await sql.fetchrow(
        f"SELECT e.id, e.type, e.sequence, e.data, e.created_at FROM event e WHERE e.id = $1 AND {clause}",
        *args,
    )
    if row is None:
        raise NotFound(N_("Event %(id)s was not found."), params={"id": event_id})
    return _event_out(row)


async def find_event(actor: Actor, event_id: str) -> None:
    await get_event(actor, event_id)


# --- endpoints ----------------------------------------------------------------------------------


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(32)).decode("ascii")


@dataclass(frozen=True)
class Endpoint:
    id: str
    business_id: str
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def out(self, secret: str | None = None) -> EndpointOut:
        return EndpointOut(
            id=self.id,
            url=self.url,
            description=self.description,
            event_types=list(self.event_types),
            enabled=self.enabled,
            disabled_reason=self.disabled_reason,
            created_at=self.created_at,
            updated_at=self.updated_at,
            secret=secret,
        )


_ENDPOINT_COLUMNS = (
    "id, business_id, url, description, event_types, enabled, disabled_reason, failing_since, "
    "previous_secret_expires_at, created_at, updated_at"
)


def _endpoint(row: asyncpg.Record) -> Endpoint:
    return Endpoint(**{k: row[k] for k in Endpoint.__dataclass_fields__})


def _require_developer_scope(actor: Actor) -> None:
    """Endpoints hear every event of the business: a key or user scoped to a subtree may not own one."""
    if actor.scope_account_id:
        from portal.lib.errors import Forbidden

        raise Forbidden(
            N_("Webhook endpoints belong to the whole business; a scoped access cannot manage them.")
        )


def _clean_types(event_types: Iterable[str] | None, pointer: str = "/event_types") -> list[str]:
    chosen = sorted(set(event_types or ()))
    unknown = [t for t in chosen if t not in EVENT_TYPES or t == "webhook.test"]
    if unknown:
        raise ValidationFailed(
            N_("Unknown event type %(type)s."),
            params={"type": unknown[0]},
            code="unknown_event_type",
            errors=[FieldError(pointer, N_("%(type)s is not an event type"), params={"type": unknown[0]})],
        )
    return chosen


def _clean_description(description: str | None) -> str:
    text = (description or "").strip()
    if len(text) > MAX_DESCRIPTION or "\x00" in text:
        raise ValidationFailed(
            N_("The description is too long."),
            code="invalid_description",
            errors=[
                FieldError("/description", N_("at most %(max)d characters"), params={"max": MAX_DESCRIPTION})
            ],
        )
    return text


async def create_endpoint(
    actor: Actor,
    *,
    url: str,
    description: str | None = None,
    event_types: Iterable[str] | None = None,
    enabled: bool = True,
) -> tuple[Endpoint, str]:
    """A new endpoint and its signing secret (returned once, here only)."""
    _require_developer_scope(actor)
    await urls.resolve(url)
    types = _clean_types(event_types)
    text = _clean_description(description)
    secret = new_secret()
    async with transaction():
        row = await sql.fetchrow(
            "INSERT INTO webhook_endpoint (id, business_id, url, description, event_types, enabled, secret) "
            f"VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_ENDPOINT_COLUMNS}",
            new_id("we"),
            actor.business_id,
            url,
            text,
            types,
            enabled,
            secret,
        )
        assert row is not None
        endpoint = _endpoint(row)
        await _record(actor, "webhook_endpoint.created", N_("Webhook endpoint %(url)s added"), endpoint)
    return endpoint, secret


async def _record(actor: Actor, action: str, summary: str, endpoint: Endpoint) -> None:
    from portal.domains.audit.services import record

    await record(actor, action, summary % {"url": endpoint.url}, refs={"endpoint_id": endpoint.id})


async def get_endpoint(actor: Actor, endpoint_id: str) -> Endpoint:
    """One endpoint of the actor's business; NotFound otherwise."""
    row = await sql.fetchrow(
        f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoint WHERE id = $1 AND business_id = $2",
        endpoint_id,
        actor.business_id,
    )
    if row is None:
        raise NotFound(N_("Webhook endpoint %(id)s was not found."), params={"id": endpoint_id})
    return _endpoint(row)


async def find_endpoint(actor: Actor, endpoint_id: str) -> None:
    await get_endpoint(actor, endpoint_id)


async def list_endpoints(actor: Actor, *, limit: int | None = None, after: str | None = None) -> EndpointPage:
    """The business's endpoints, oldest first, cursor-paginated."""
    size = clamp_limit(limit)
    args: list[Any] = [actor.business_id]
    clause = "business_id = $1"
    cursor = decode_cursor(after)
    if cursor is not None:
        if not isinstance(cursor, str):
            raise ValidationFailed(
                N_("The cursor is not valid."),
                errors=[FieldError("after", N_("not a cursor from this list"))],
            )
        args.append(cursor)
        clause += " AND id > $2"
    args.append(size + 1)
    rows = await sql.fetch(
        f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoint WHERE {clause} ORDER BY id LIMIT ${len(args)}",
        *args,
    )
    more = len(rows) > size
    rows = rows[:size]
    return EndpointPage(
        data=[_endpoint(r).out() for r in rows],
        has_more=more,
        next_cursor=encode_cursor(rows[-1]["id"]) if more else None,
    )


async def all_endpoints(actor: Actor) -> list[Endpoint]:
    rows = await sql.fetch(
        f"SELECT {_ENDPOINT_COLUMNS} FROM webhook_endpoint WHERE business_id = $1 ORDER BY created_at, id",
        actor.business_id,
    )
    return [_endpoint(r) for r in rows]


async def update_endpoint(actor: Actor, endpoint_id: str, changes: dict[str, Any]) -> Endpoint:
    """Change the given fields (url, description, event_types, enabled). Enabling clears the failure run."""
    _require_developer_scope(actor)
    current = await get_endpoint(actor, endpoint_id)
    sets: list[str] = []
    args: list[Any] = [endpoint_id, actor.business_id]
    if "url" in changes and changes["url"] != current.url:
        await urls.resolve(str(changes["url"] or ""))
        args.append(changes["url"])
        sets.append(f"url = ${len(args)}")
    if "description" in changes:
        args.append(_clean_description(changes["description"]))
        sets.append(f"description = ${len(args)}")
    if "event_types" in changes:
        args.append(_clean_types(changes["event_types"]))
        sets.append(f"event_types = ${len(args)}")
    if "enabled" in changes and changes["enabled"] is not None:
        args.append(bool(changes["enabled"]))
        sets.append(f"enabled = ${len(args)}")
        if changes["enabled"]:
            sets.append("disabled_reason = NULL, failing_since = NULL")
        else:
            sets.append("disabled_reason = 'manual'")
    if not sets:
        return current
    async with transaction():
        row = await sql.fetchrow(
            f"UPDATE webhook_endpoint SET {', '.join(sets)}, updated_at = now() "
            f"WHERE id = $1 AND business_id = $2 RETURNING {_ENDPOINT_COLUMNS}",
            *args,
        )
        if row is None:
            raise NotFound(N_("Webhook endpoint %(id)s was not found."), params={"id": endpoint_id})
        endpoint = _endpoint(row)
        await _record(actor, "webhook_endpoint.updated", N_("Webhook endpoint %(url)s changed"), endpoint)
    return endpoint


async def delete_endpoint(actor: Actor, endpoint_id: str) -> None:
    """Remove an endpoint with its delivery log; pending deliveries to it stop."""
    _require_developer_scope(actor)
    async with transaction():
        row = await sql.fetchrow(
            f"DELETE FROM webhook_endpoint WHERE id = $1 AND business_id = $2 RETURNING {_ENDPOINT_COLUMNS}",
            endpoint_id,
            actor.business_id,
        )
        if row is None:
            raise NotFound(N_("Webhook endpoint %(id)s was not found."), params={"id": endpoint_id})
        await _record(
            actor, "webhook_endpoint.deleted", N_("Webhook endpoint %(url)s removed"), _endpoint(row)
        )


async def rotate_secret(actor: Actor, endpoint_id: str) -> tuple[Endpoint, str]:
    """A new secret (returned once); the old one keeps signing beside it for 24 hours."""
    _require_developer_scope(actor)
    secret = new_secret()
    async with transaction():
        row = await sql.fetchrow(
            "UPDATE webhook_endpoint SET previous_secret = secret, secret = $3, "
            "previous_secret_expires_at = now() + $4::interval, updated_at = now() "
            f"WHERE id = $1 AND business_id = $2 RETURNING {_ENDPOINT_COLUMNS}",
            endpoint_id,
            actor.business_id,
            secret,
            ROTATION_OVERLAP,
        )
        if row is None:
            raise NotFound(N_("Webhook endpoint %(id)s was not found."), params={"id": endpoint_id})
        endpoint = _endpoint(row)
        await _record(
            actor, "webhook_endpoint.secret_rotated", N_("Webhook secret of %(url)s rotated"), endpoint
        )
    return endpoint, secret


# --- the console: attempts, resend, test events --------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    attempted_at: datetime
    trigger: str
    status_code: int | None
    error: str | None
    latency_ms: int
    response_body: str
    succeeded: bool


@dataclass(frozen=True)
class Delivery:
    endpoint_id: str
    endpoint_url: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    history: list[Attempt]


@dataclass(frozen=True)
class ConsoleEvent:
    id: str
    type: str
    sequence: int
    created_at: datetime
    deliveries: list[Delivery]


async def console(
    actor: Actor, *, endpoint_id: str | None = None, limit: int = 50, before: int | None = None
) -> list[ConsoleEvent]:
    """The latest events (sent to `endpoint_id`, if given) with each delivery and its attempts."""
    args: list[Any] = [limit]
    clause = _visible_events(actor, args)
    if before is not None:
        args.append(before)
        clause += f" AND e.sequence < ${len(args)}"
    if endpoint_id is not None:
        args.append(endpoint_id)
        clause += (
            " AND EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.event_id = e.id "
            f"AND d.endpoint_id = ${len(args)})"
        )
    events = await sql.fetch(
        "SELECT e.id, e.type, e.sequence, e.created_at FROM event e "
        f"WHERE {clause} ORDER BY e.sequence DESC LIMIT $1",
        *args,
    )
    ids = [e["id"] for e in events]
    deliveries = await sql.fetch(
        "SELECT d.event_id, d.endpoint_id, w.url, d.status, d.attempts, d.next_attempt_at "
        "FROM webhook_delivery d JOIN webhook_endpoint w ON w.id = d.endpoint_id "
        "WHERE d.business_id = $1 AND d.event_id = ANY ($2::text[]) "
        "AND ($3::text IS NULL OR d.endpoint_id = $3) ORDER BY w.created_at, w.id",
        actor.business_id,
        ids,
        endpoint_id,
    )
    attempts = await sql.fetch(
        "SELECT event_id, endpoint_id, attempted_at, trigger, status_code, error, latency_ms, response_body, "
        "succeeded FROM webhook_attempt WHERE business_id = $1 AND event_id = ANY ($2::text[]) "
        "ORDER BY id DESC",
        actor.business_id,
        ids,
    )
    history: dict[tuple[str, str], list[Attempt]] = {}
    for a in attempts:
        history.setdefault((a["event_id"], a["endpoint_id"]), []).append(
            Attempt(
                a["attempted_at"],
                a["trigger"],
                a["status_code"],
                a["error"],
                a["latency_ms"],
                a["response_body"],
                a["succeeded"],
            )
        )
    by_event: dict[str, list[Delivery]] = {}
    for d in deliveries:
        key = (d["event_id"], d["endpoint_id"])
        by_event.setdefault(d["event_id"], []).append(
            Delivery(
                d["endpoint_id"],
                d["url"],
                d["status"],
                d["attempts"],
                d["next_attempt_at"],
                history.get(key, []),
            )
        )
    return [
        ConsoleEvent(e["id"], e["type"], e["sequence"], e["created_at"], by_event.get(e["id"], []))
        for e in events
    ]


async def resend(actor: Actor, event_id: str, endpoint_id: str) -> None:
    """Send one event to one endpoint again now (a new attempt in the same chain, same webhook-id)."""
    _require_developer_scope(actor)
    await get_event(actor, event_id)
    endpoint = await get_endpoint(actor, endpoint_id)
    if not endpoint.enabled:
        raise ValidationFailed(
            N_("Webhook endpoint %(id)s is disabled; enable it first."),
            params={"id": endpoint_id},
            code="endpoint_disabled",
        )
    async with transaction(), sql.connection() as conn:
        await conn.execute(
            "INSERT INTO webhook_delivery (event_id, endpoint_id, business_id) VALUES ($1, $2, $3) "
            "ON CONFLICT (event_id, endpoint_id) DO UPDATE SET status = 'pending', "
            "next_attempt_at = now(), leased_until = NULL",
            event_id,
            endpoint_id,
            actor.business_id,
        )
        await enqueue_deliveries(conn, [(event_id, endpoint_id)], trigger="manual")


async def resend_failed_since(actor: Actor, since: datetime, *, endpoint_id: str | None = None) -> int:
    """Send again every failed delivery whose last attempt was at or after `since`; returns how many."""
    _require_developer_scope(actor)
    args: list[Any] = [actor.business_id, since]
    clause = ""
    if endpoint_id:
        await get_endpoint(actor, endpoint_id)
        args.append(endpoint_id)
        clause = " AND d.endpoint_id = $3"
    async with transaction(), sql.connection() as conn:
        rows = await conn.fetch(
            "UPDATE webhook_delivery d SET status = 'pending', next_attempt_at = now(), leased_until = NULL "
            "FROM webhook_endpoint w WHERE w.id = d.endpoint_id AND w.enabled "
            f"AND d.business_id = $1 AND d.status = 'failed' AND d.last_attempt_at >= $2{clause} "
            "RETURNING d.event_id, d.endpoint_id",
            *args,
        )
        pairs = [(r["event_id"], r["endpoint_id"]) for r in rows]
        for start in range(0, len(pairs), 500):
            await enqueue_deliveries(conn, pairs[start : start + 500], trigger="manual")
    return len(pairs)


async def send_test(actor: Actor, endpoint_id: str) -> str:
    """A `webhook.test` event delivered to this endpoint only; returns the event id."""
    _require_developer_scope(actor)
    endpoint = await get_endpoint(actor, endpoint_id)
    if not endpoint.enabled:
        raise ValidationFailed(
            N_("Webhook endpoint %(id)s is disabled; enable it first."),
            params={"id": endpoint_id},
            code="endpoint_disabled",
        )
    async with transaction(), sql.connection() as conn:
        (event_id,) = await emit_many(
            conn, [(actor.business_id, "webhook.test", {"endpoint_id": endpoint_id}, ())]
        )
        await conn.execute(
            "INSERT INTO webhook_delivery (event_id, endpoint_id, business_id) VALUES ($1, $2, $3)",
            event_id,
            endpoint_id,
            actor.business_id,
        )
        await enqueue_deliveries(conn, [(event_id, endpoint_id)], trigger="test")
    return event_id
