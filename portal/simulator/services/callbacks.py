"""Signed callbacks to Neraca: written in the state change's transaction, delivered by the worker,
retried with back-off until acknowledged (any 2xx) or 24 hours have passed.

Modes (control surface): `normal`; `duplicate` (each callback is delivered twice, same event id);
`late` (first attempt after `delay_s`, default 30); `out_of_order` (callbacks are held, then released
newest first once the oldest has waited `delay_s`, default 5, or when the mode changes).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

from portal.lib import ids, snap
from portal.simulator.config import get_config
from portal.simulator.errors import invalid, not_found

KINDS = ("payins", "payouts", "cards", "refunds", "services")
MODES = ("normal", "duplicate", "late", "out_of_order")
DEFAULT_DELAY = {"late": 30, "out_of_order": 5}
BACKOFF_S = (5, 30, 120, 600, 3600)
GIVE_UP_AFTER = timedelta(hours=24)
DELIVERY_TIMEOUT_S = 10.0


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


async def _setting(conn: asyncpg.Connection, key: str) -> Any:
    raw = await conn.fetchval("SELECT value FROM sim_settings WHERE key = $1", key)
    return json.loads(raw) if raw is not None else None


async def _put_setting(conn: asyncpg.Connection, key: str, value: Any) -> None:
    await conn.execute(
        "INSERT INTO sim_settings (key, value) VALUES ($1, $2::jsonb) ON CONFLICT (key) DO UPDATE SET "
        "value = $2::jsonb",
        key,
        json.dumps(value),
    )


async def delivery_mode(conn: asyncpg.Connection) -> dict[str, Any]:
    return await _setting(conn, "callback_mode") or {"mode": "normal", "delay_s": 0}


async def set_mode(conn: asyncpg.Connection, mode: Any, delay_s: Any = None) -> dict[str, Any]:
    """Change how new callbacks are delivered; leaving `out_of_order` releases what it held."""
    if mode not in MODES:
        raise invalid("/mode", f"mode must be one of {', '.join(MODES)}.")
    if delay_s is None:
        delay_s = DEFAULT_DELAY.get(mode, 0)
    if not isinstance(delay_s, int) or isinstance(delay_s, bool) or not 0 <= delay_s <= 86_400:
        raise invalid("/delay_s", "delay_s must be a whole number of seconds between 0 and 86400.")
    value = {"mode": mode, "delay_s": delay_s}
    await _put_setting(conn, "callback_mode", value)
    if mode != "out_of_order":
        await _release_held(conn)
    return value


async def callback_url(conn: asyncpg.Connection) -> str:
    return str(await _setting(conn, "callback_url") or get_config().callback_url)


async def set_callback_url(conn: asyncpg.Connection, url: Any) -> dict[str, str]:
    """Point callbacks elsewhere (null restores NERACA_PROVIDER_CALLBACK_URL)."""
    if url is None:
        await conn.execute("DELETE FROM sim_settings WHERE key = 'callback_url'")
    elif not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 2048:
        raise invalid("/url", "url must be an http(s) URL.")
    else:
        await _put_setting(conn, "callback_url", url.rstrip("/"))
    return {"url": await callback_url(conn)}


async def enqueue(
    conn: asyncpg.Connection, kind: str, event_type: str, merchant_id: str, data: dict[str, Any]
) -> str:
    """Write one callback in the caller's transaction (it is sent only if that transaction commits)."""
    event_id = ids.new_id("ev")
    body = dumps(
        {
            "event_id": event_id,
            "type": event_type,
            "occurred_at": datetime.now(UTC).isoformat(),
            "merchant_id": merchant_id,
            "data": data,
        }
    )
    current = await delivery_mode(conn)
    mode, delay = current["mode"], int(current.get("delay_s") or 0)
    status = "held" if mode == "out_of_order" else "pending"
    first = datetime.now(UTC) + timedelta(seconds=delay if mode == "late" else 0)
    await conn.execute(
        "INSERT INTO sim_callbacks (event_id, kind, type, merchant_id, body, status, extra_copies, "
        "next_attempt_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        event_id,
        kind,
        event_type,
        merchant_id,
        body,
        status,
        1 if mode == "duplicate" else 0,
        None if status == "held" else first,
    )
    return event_id


async def _release_held(conn: asyncpg.Connection) -> int:
    # Newest first: a later sequence number gets an earlier attempt time.
    result = await conn.execute(
        "UPDATE sim_callbacks SET status = 'pending', next_attempt_at = now() - seq * interval '1 "
        "millisecond' "
        "WHERE status = 'held'"
    )
    return int(result.split()[-1])


async def release_due_held(conn: asyncpg.Connection) -> int:
    """Release held (out-of-order) callbacks once the oldest has waited its delay."""
    current = await delivery_mode(conn)
    oldest = await conn.fetchval("SELECT min(created_at) FROM sim_callbacks WHERE status = 'held'")
    if oldest is None:
        return 0
    delay = int(current.get("delay_s") or 0) if current["mode"] == "out_of_order" else 0
    if datetime.now(UTC) - oldest < timedelta(seconds=delay):
        return 0
    return await _release_held(conn)


async def resend(conn: asyncpg.Connection, event_id: str) -> dict[str, Any]:
    """Deliver a callback again now (even an acknowledged or abandoned one)."""
    found = await conn.fetchval(
        "UPDATE sim_callbacks SET status = 'pending', next_attempt_at = now(), "
        "extra_copies = CASE WHEN status = 'acknowledged' THEN 0 ELSE extra_copies END "
        "WHERE event_id = $1 RETURNING event_id",
        event_id,
    )
    if found is None:
        raise not_found("Callback")
    return {"event_id": event_id, "status": "pending"}


def _signing_path(base_url: str, kind: str) -> str:
    return urlsplit(base_url).path.rstrip("/") + f"/provider/callbacks/{kind}"


async def deliver_one(pool: asyncpg.Pool, client: httpx.AsyncClient) -> bool:
    """Attempt the next due callback; False when none is due. The row stays locked while it is sent."""
    config = get_config()
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT * FROM sim_callbacks WHERE status = 'pending' AND next_attempt_at <= now() "
            "ORDER BY next_attempt_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED"
        )
        if row is None:
            return False
        base = await callback_url(conn)
        url = base + f"/provider/callbacks/{row['kind']}"
        body = row["body"].encode()
        headers = snap.headers(
            config.callback_secret,
            config.partner_id,
            row["event_id"],
            "POST",
            _signing_path(base, row["kind"]),
            body,
        )
        started = time.monotonic()
        status_code: int | None = None
        error: str | None = None
        answer: str | None = None
        try:
            response = await client.post(url, content=body, headers=headers, timeout=DELIVERY_TIMEOUT_S)
            status_code = response.status_code
            answer = response.text[:1024]
        except httpx.HTTPError as exc:
            error = f"{exc.__class__.__name__}: {exc}"[:500]
        duration_ms = int((time.monotonic() - started) * 1000)
        await conn.execute(
            "INSERT INTO sim_callback_attempts (event_id, url, status_code, error, duration_ms, response) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            row["event_id"],
            url,
            status_code,
            error,
            duration_ms,
            answer,
        )
        attempts = row["attempts"] + 1
        if status_code is not None and 200 <= status_code < 300:
            if row["extra_copies"] > 0:
                await conn.execute(
                    "UPDATE sim_callbacks SET attempts = $2, extra_copies = extra_copies - 1, "
                    "next_attempt_at = now() "
                    "WHERE event_id = $1",
                    row["event_id"],
                    attempts,
                )
            else:
                await conn.execute(
                    "UPDATE sim_callbacks SET status = 'acknowledged', attempts = $2, acknowledged_at = "
                    "now(), "
                    "next_attempt_at = NULL WHERE event_id = $1",
                    row["event_id"],
                    attempts,
                )
            return True
        failures = await conn.fetchval(
            "SELECT count(*) FROM sim_callback_attempts WHERE event_id = $1 "
            "AND (status_code IS NULL OR status_code NOT BETWEEN 200 AND 299)",
            row["event_id"],
        )
        wait = BACKOFF_S[min(failures - 1, len(BACKOFF_S) - 1)]
        next_at = datetime.now(UTC) + timedelta(seconds=wait)
        gave_up = next_at - row["created_at"] > GIVE_UP_AFTER
        await conn.execute(
            "UPDATE sim_callbacks SET attempts = $2, status = $3, next_attempt_at = $4 WHERE event_id = $1",
            row["event_id"],
            attempts,
            "failed" if gave_up else "pending",
            None if gave_up else next_at,
        )
        return True


async def log(
    conn: asyncpg.Connection, *, merchant_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest callbacks with every attempt (the control surface's callback log)."""
    rows = await conn.fetch(
        "SELECT * FROM sim_callbacks WHERE ($1::text IS NULL OR merchant_id = $1) ORDER BY seq DESC LIMIT $2",
        merchant_id,
        limit,
    )
    attempts = await conn.fetch(
        "SELECT * FROM sim_callback_attempts WHERE event_id = ANY($1::text[]) ORDER BY id",
        [row["event_id"] for row in rows],
    )
    by_event: dict[str, list[dict[str, Any]]] = {}
    for attempt in attempts:
        by_event.setdefault(attempt["event_id"], []).append(
            {
                "attempted_at": attempt["attempted_at"].isoformat(),
                "url": attempt["url"],
                "status_code": attempt["status_code"],
                "error": attempt["error"],
                "duration_ms": attempt["duration_ms"],
                "response": attempt["response"],
            }
        )
    return [
        {
            "event_id": row["event_id"],
            "kind": row["kind"],
            "type": row["type"],
            "merchant_id": row["merchant_id"],
            "status": row["status"],
            "attempts": by_event.get(row["event_id"], []),
            "next_attempt_at": row["next_attempt_at"].isoformat() if row["next_attempt_at"] else None,
            "created_at": row["created_at"].isoformat(),
            "body": json.loads(row["body"]),
        }
        for row in rows
    ]


async def enqueue_many(
    conn: asyncpg.Connection, kind: str, events: list[tuple[str, str, dict[str, Any]]]
) -> list[str]:
    """Write several callbacks (type, merchant, data) in one statement, in the caller's transaction."""
    if not events:
        return []
    current = await delivery_mode(conn)
    mode, delay = current["mode"], int(current.get("delay_s") or 0)
    status = "held" if mode == "out_of_order" else "pending"
    first = datetime.now(UTC) + timedelta(seconds=delay if mode == "late" else 0)
    event_ids = [ids.new_id("ev") for _ in events]
    occurred = datetime.now(UTC).isoformat()
    bodies = [
        dumps(
            {
                "event_id": event_id,
                "type": event_type,
                "occurred_at": occurred,
                "merchant_id": merchant_id,
                "data": data,
            }
        )
        for event_id, (event_type, merchant_id, data) in zip(event_ids, events, strict=True)
    ]
    await conn.execute(
        "INSERT INTO sim_callbacks (event_id, kind, type, merchant_id, body, status, extra_copies, "
        "next_attempt_at) "
        "SELECT e, $2, t, m, b, $3, $4, $5 FROM unnest($1::text[], $6::text[], $7::text[], $8::text[]) "
        "AS x(e, t, m, b)",
        event_ids,
        kind,
        status,
        1 if mode == "duplicate" else 0,
        None if status == "held" else first,
        [e[0] for e in events],
        [e[1] for e in events],
        bodies,
    )
    return event_ids
