"""Sending events to webhook endpoints, the Standard Webhooks way.

A delivery job names (event, endpoint) pairs. The worker claims them with a lease (a dead worker's
claim runs out and the sweep queues the pair again), POSTs every one concurrently — each endpoint
through its own connection pool, so a slow receiver only slows itself — and records each attempt as it
finishes. Only a 2xx answer is success; 410 disables the endpoint; anything else is retried on the
schedule below, and an endpoint failing for three days is disabled and its business notified.

Delivery is at least once: a worker killed after a receiver answered but before the attempt was
recorded sends again after the lease. Receivers drop duplicates by `webhook-id` (the event id).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import math
import random
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from portal.domains.webhooks import sender, urls
from portal.domains.webhooks.services import SECRET_PREFIX, enqueue_deliveries
from portal.lib import sql
from portal.lib.errors import ValidationFailed
from portal.lib.sql import transaction

log = structlog.get_logger("neraca.webhooks")

# Seconds to wait before attempt 1, 2, 3, …: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
# 20 h, 24 h (about 3 days in all), each jittered by ±10 %.
SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
TIMEOUT = 15.0
RESPONSE_CAP = 1024
FAILING_LIMIT = timedelta(days=3)
# Connections per endpoint and per process: a hanging receiver ties up only its own.
PER_ENDPOINT_CONNECTIONS = 16
USER_AGENT = "Neraca-Webhooks/1"

# Codes stored for attempts that got no HTTP status (shown through labels in the console).
ERROR_TIMEOUT = "timeout"
ERROR_CONNECT = "connection_failed"
ERROR_REFUSED_URL = "url_refused"


def retry_delay(attempts_made: int, rng: random.Random | None = None) -> float | None:
    """Seconds until the next attempt after `attempts_made` attempts, jittered; None when exhausted."""
    if attempts_made >= len(SCHEDULE):
        return None
    base = SCHEDULE[attempts_made]
    return base * (rng or random).uniform(0.9, 1.1)


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` over `{msg_id}.{timestamp}.{body}` with the secret's key."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode("ascii")


def signed_headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers, one signature per secret (two while a rotation overlaps)."""
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id, timestamp, body) for s in secrets),
    }


def event_body(row: Any) -> bytes:
    """The delivered JSON: the event exactly as `GET /api/v1/events/{id}` shows it."""
    data = row["data"] if isinstance(row["data"], dict) else json.loads(row["data"])
    created_at = row["created_at"].astimezone(UTC).isoformat().replace("+00:00", "Z")
    payload = {
        "id": row["event_id"],
        "object": "event",
        "type": row["type"],
        "sequence": row["sequence"],
        "data": data,
        "created_at": created_at,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Outcome:
    event_id: str
    endpoint_id: str
    business_id: str
    attempts: int
    attempted_at: datetime
    trigger: str
    status_code: int | None = None
    error: str | None = None
    latency_ms: int = 0
    response_body: str = ""
    skipped: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


_pools: dict[str, tuple[asyncio.AbstractEventLoop, sender.EndpointPool]] = {}


def _pool(endpoint_id: str) -> sender.EndpointPool:
    loop = asyncio.get_running_loop()
    cached = _pools.get(endpoint_id)
    if cached is not None and cached[0] is loop:
        return cached[1]
    pool = sender.EndpointPool(PER_ENDPOINT_CONNECTIONS)
    _pools[endpoint_id] = (loop, pool)
    return pool


async def close_clients() -> None:
    """Close the per-endpoint connection pools of this event loop (worker shutdown, tests)."""
    loop = asyncio.get_running_loop()
    for key, (owner, pool) in list(_pools.items()):
        if owner is loop:
            await pool.close()
            del _pools[key]


async def post(
    endpoint_id: str, target: urls.Target, headers: dict[str, str], body: bytes
) -> tuple[int | None, str | None, str, int]:
    """POST once to a checked target: (status, error code, first 1 KB of the answer, latency ms).

    Never raises; at most 15 s in all, however the receiver behaves (waiting for one of the endpoint's
    connections included).
    """
    started = time.perf_counter()
    try:
        async with asyncio.timeout(TIMEOUT):
            status, prefix = await sender.post(_pool(endpoint_id), target, headers, body, RESPONSE_CAP)
    except TimeoutError:
        return None, ERROR_TIMEOUT, "", _ms(started)
    except (sender.ReceiverError, OSError, ssl.SSLError):
        return None, ERROR_CONNECT, "", _ms(started)
    except Exception:  # whatever a receiver does, it fails its own attempt only
        log.exception("webhook attempt failed unexpectedly", endpoint_id=endpoint_id)
        return None, ERROR_CONNECT, "", _ms(started)
    return status, None, _text(prefix), _ms(started)


def _text(raw: bytes) -> str:
    return raw[:RESPONSE_CAP].decode("utf-8", "replace").replace("\x00", "")


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


_CLAIM_SQL = """
WITH wanted AS (
    SELECT * FROM unnest($1::text[], $2::text[]) AS t(event_id, endpoint_id)
)
UPDATE webhook_delivery d
SET leased_until = now() + make_interval(secs => $3), attempts = d.attempts + 1, last_attempt_at = now()
FROM wanted, event e, webhook_endpoint w
WHERE d.event_id = wanted.event_id AND d.endpoint_id = wanted.endpoint_id
  AND e.id = d.event_id AND w.id = d.endpoint_id
  AND d.status = 'pending' AND d.next_attempt_at <= now() + interval '2 seconds'
  AND (d.leased_until IS NULL OR d.leased_until < now())
RETURNING d.event_id, d.endpoint_id, d.business_id, d.attempts, e.type, e.sequence, e.data, e.created_at,
          w.url, w.enabled, w.secret,
          CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret END AS previous_secret
"""


async def deliver(
    pairs: Sequence[Sequence[str]], *, trigger: str = "automatic", environment: str | None = None
) -> list[Outcome]:
    """Attempt the due, unclaimed deliveries among `pairs` now; record and return the outcomes."""
    if not pairs:
        return []
    lease = 30 + TIMEOUT * math.ceil(len(pairs) / PER_ENDPOINT_CONNECTIONS)
    async with sql.connection() as conn:
        rows = await conn.fetch(_CLAIM_SQL, [p[0] for p in pairs], [p[1] for p in pairs], min(lease, 3600.0))
    if not rows:
        return []
    outcomes: list[Outcome] = []
    unrecorded: list[Outcome] = []
    bodies: dict[str, bytes] = {}
    timestamp = int(time.time())
    # The URL is checked and resolved again now (once per endpoint and job): it may point elsewhere
    # since it was saved, and DNS may answer differently.
    targets: dict[str, asyncio.Future[urls.Target]] = {}

    async def attempt(row: asyncpg.Record) -> None:
        outcome = Outcome(
            row["event_id"],
            row["endpoint_id"],
            row["business_id"],
            row["attempts"],
            datetime.now(UTC),
            trigger,
        )
        if not row["enabled"]:
            outcome.skipped = True
        else:
            task = targets.get(row["endpoint_id"])
            if task is None:
                task = targets[row["endpoint_id"]] = asyncio.ensure_future(
                    urls.resolve(row["url"], environment=environment)
                )
            try:
                target = await asyncio.shield(task)
            except ValidationFailed:
                outcome.error = ERROR_REFUSED_URL
            else:
                body = bodies.get(row["event_id"])
                if body is None:
                    body = bodies[row["event_id"]] = event_body(row)
                secrets = [row["secret"]] + ([row["previous_secret"]] if row["previous_secret"] else [])
                headers = signed_headers(secrets, row["event_id"], timestamp, body)
                status, error, text, latency = await post(row["endpoint_id"], target, headers, body)
                outcome.status_code, outcome.error = status, error
                outcome.response_body, outcome.latency_ms = text, latency
        outcomes.append(outcome)
        unrecorded.append(outcome)

    tasks = {asyncio.create_task(attempt(row)) for row in rows}
    try:
        # Record as answers come in: a hanging receiver must not hold back the others' records.
        while tasks:
            _done, tasks = await asyncio.wait(tasks, timeout=0.2, return_when=asyncio.ALL_COMPLETED)
            if unrecorded:
                batch = unrecorded[:]
                unrecorded.clear()
                await record(batch)
    finally:
        for task in tasks:
            task.cancel()
    return outcomes


async def record(outcomes: Sequence[Outcome]) -> None:
    """Write attempts, move each delivery on (done, retry later, or failed) and act on endpoints."""
    if not outcomes:
        return
    sent = [o for o in outcomes if not o.skipped]
    retries: list[tuple[str, str, float]] = []
    finals: list[tuple[str, str, str, float | None]] = []
    for o in outcomes:
        if o.skipped or o.status_code == 410:
            finals.append((o.event_id, o.endpoint_id, "failed", None))
        elif o.succeeded:
            finals.append((o.event_id, o.endpoint_id, "succeeded", None))
        else:
            delay = retry_delay(o.attempts) if o.trigger == "automatic" else None
            if delay is None:
                finals.append((o.event_id, o.endpoint_id, "failed", None))
            else:
                finals.append((o.event_id, o.endpoint_id, "pending", delay))
                retries.append((o.event_id, o.endpoint_id, delay))
    async with transaction(), sql.connection() as conn:
        # A lost record (database crash) means one more attempt, never a lost event.
        await conn.execute("SET LOCAL synchronous_commit = off")
        if sent:
            await conn.execute(
                "INSERT INTO webhook_attempt (event_id, endpoint_id, business_id, attempted_at, trigger, "
                "status_code, error, latency_ms, response_body, succeeded) "
                "SELECT t.* FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], "
                "$6::int[], $7::text[], $8::int[], $9::text[], $10::bool[]) "
                "AS t(e, p, b, a, g, s, r, l, x, ok) "
                # An endpoint deleted while its attempt was in flight takes its log with it.
                "WHERE EXISTS (SELECT 1 FROM webhook_delivery d "
                "WHERE d.event_id = t.e AND d.endpoint_id = t.p)",
                [o.event_id for o in sent],
                [o.endpoint_id for o in sent],
                [o.business_id for o in sent],
                [o.attempted_at for o in sent],
                [o.trigger for o in sent],
                [o.status_code for o in sent],
                [o.error for o in sent],
                [o.latency_ms for o in sent],
                [o.response_body for o in sent],
                [o.succeeded for o in sent],
            )
        await conn.execute(
            "UPDATE webhook_delivery d SET status = t.status, leased_until = NULL, "
            "next_attempt_at = CASE WHEN t.delay IS NULL THEN NULL "
            "ELSE now() + make_interval(secs => t.delay) END "
            "FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[]) "
            "AS t(event_id, endpoint_id, status, "
            "delay) WHERE d.event_id = t.event_id AND d.endpoint_id = t.endpoint_id",
            [f[0] for f in finals],
            [f[1] for f in finals],
            [f[2] for f in finals],
            [f[3] for f in finals],
        )
        await _endpoint_health(conn, sent)
        for event_id, endpoint_id, delay in retries:
            await enqueue_deliveries(conn, [(event_id, endpoint_id)], delay=timedelta(seconds=delay))


async def _endpoint_health(conn: asyncpg.Connection, sent: Sequence[Outcome]) -> None:
    ok = sorted({o.endpoint_id for o in sent if o.succeeded})
    gone = sorted({o.endpoint_id for o in sent if o.status_code == 410})
    failing = sorted({o.endpoint_id for o in sent if not o.succeeded and o.status_code != 410} - set(ok))
    if ok:
        await conn.execute(
            "UPDATE webhook_endpoint SET failing_since = NULL WHERE id = ANY ($1::text[]) "
            "AND failing_since IS NOT NULL",
            ok,
        )
    disabled: list[asyncpg.Record] = []
    if gone:
        disabled += await conn.fetch(
            "UPDATE webhook_endpoint SET enabled = false, disabled_reason = 'gone', updated_at = now() "
            "WHERE id = ANY ($1::text[]) AND enabled RETURNING id, business_id, url, disabled_reason",
            gone,
        )
    if failing:
        await conn.execute(
            "UPDATE webhook_endpoint SET failing_since = now() WHERE id = ANY ($1::text[]) "
            "AND failing_since IS NULL",
            failing,
        )
        disabled += await conn.fetch(
            "UPDATE webhook_endpoint SET enabled = false, disabled_reason = 'failing', updated_at = now() "
            "WHERE id = ANY ($1::text[]) AND enabled AND failing_since < now() - $2::interval "
            "RETURNING id, business_id, url, disabled_reason",
            failing,
            FAILING_LIMIT,
        )
    if disabled:
        await _notify_disabled(conn, disabled)


async def _notify_disabled(conn: asyncpg.Connection, endpoints: Sequence[asyncpg.Record]) -> None:
    """Tell the business (its main account's readers) that an endpoint stopped receiving events."""
    from portal.domains.notifications.services import notify_many

    mains = {
        r["business_id"]: r["id"]
        for r in await conn.fetch(
            "SELECT business_id, id FROM account WHERE kind = 'main' AND business_id = ANY ($1::text[])",
            sorted({e["business_id"] for e in endpoints}),
        )
    }
    items = [
        (
            e["business_id"],
            mains[e["business_id"]],
            "webhook_endpoint.disabled",
            {"url": e["url"], "reason": e["disabled_reason"], "endpoint_id": e["id"]},
            "/developers/webhooks",
        )
        for e in endpoints
        if e["business_id"] in mains
    ]
    for e in endpoints:
        log.warning("webhook endpoint disabled", endpoint_id=e["id"], reason=e["disabled_reason"])
    if items:
        await notify_many(items)


async def sweep(*, older_than: timedelta = timedelta(seconds=20), limit: int = 5000) -> int:
    """Queue again the due deliveries nobody holds (their job was lost, or their worker died)."""
    async with transaction(), sql.connection() as conn:
        rows = await conn.fetch(
            "SELECT event_id, endpoint_id FROM webhook_delivery WHERE status = 'pending' "
            "AND next_attempt_at < now() - $1::interval AND (leased_until IS NULL OR leased_until < now()) "
            "ORDER BY next_attempt_at LIMIT $2",
            older_than,
            limit,
        )
        pairs = [(r["event_id"], r["endpoint_id"]) for r in rows]
        for start in range(0, len(pairs), 200):
            await enqueue_deliveries(conn, pairs[start : start + 200])
    return len(pairs)
