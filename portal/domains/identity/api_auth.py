"""The `/api/v1` pipeline: signature (docs/api-contract.md), per-key rate limit, Request-Id replay
protection and, for POST, idempotency — stored response replayed with `Idempotent-Replayed: true`, a
different body → 422 `idempotency_key_reused`, still running → 409 `request_in_progress`; kept 72 hours.

Every POST handler under /api/v1 gets this for free; handlers never see a replayed request.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import os
import re
import signal
import weakref
from datetime import datetime, timedelta
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from portal.domains.audit.services import record_anonymous
from portal.domains.identity import idempotency, liveness, ratelimit
from portal.lib import clock, security, sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict, NeracaError, Unauthorized, ValidationFailed
from portal.lib.i18n import N_
from portal.settings import get_settings

TIMESTAMP_TOLERANCE = timedelta(seconds=300)
IDEMPOTENCY_TTL = timedelta(hours=72)
LEASE = timedelta(minutes=5)
MAX_BODY = 10 * 1024 * 1024
MAX_STORED_BODY = 5 * 1024 * 1024
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]00:00)$")
STORED_HEADERS = {b"content-type", b"location", b"retry-after"}
# A named point where this process kills itself (kill -9), for the tests that prove a retry converges:
# `api.answer` is a signed POST's handler done (its money committed), its answer neither sent nor stored.
FAULT_KILL_AT = os.environ.get("NERACA_FAULT_KILL_AT", "")


class BodyTooLarge(NeracaError):
    status = 413
    code = "request_too_large"
    title_msgid = N_("Request too large")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message: dict[str, Any] = dict(await receive())
        if message["type"] == "http.disconnect":
            break
        body: bytes = message.get("body", b"")
        size += len(body)
        if size > MAX_BODY:
            raise BodyTooLarge("The request body is larger than 10 MB.")
        chunks.append(body)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay_receive(body: bytes, upstream: Receive | None = None) -> Receive:
    sent = False

    async def receive() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # After the body, wait for the real disconnect: answering it at once makes streamed responses
        # (statement downloads, SSE) stop before their first chunk.
        if upstream is not None:
            return await upstream()
        return {"type": "http.disconnect"}

    return receive


def parse_timestamp(value: str) -> datetime | None:
    if not TIMESTAMP_RE.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


async def authenticate(scope: Scope, body: bytes) -> tuple[Actor, str]:
    """Verify the signature headers; return the key's Actor and the Request-Id."""
    client_id = _header(scope, b"client-id")
    request_id = _header(scope, b"request-id")
    timestamp = _header(scope, b"request-timestamp")
    signature = _header(scope, b"signature")
    if not (client_id and request_id and timestamp and signature):
        raise Unauthorized(
            "Sign the request: Client-Id, Request-Id, Request-Timestamp and Signature headers are required."
        )
    if len(client_id) > 100:
        raise Unauthorized("Unknown or revoked API key.")
    # Read on every request (no cache), so a revoked key is refused at once; the business's mode comes
    # in the same round trip.
    key = await sql.fetchrow(
        "SELECT k.*, b.mode AS business_mode FROM api_key k LEFT JOIN business b ON b.id = k.business_id "
        "WHERE k.client_id = $1",
        client_id,
    )
    if key is None or key["revoked_at"] is not None:
        raise Unauthorized("Unknown or revoked API key.")
    client = scope.get("client")
    ip = client[0] if client else None
    user_agent = (_header(scope, b"user-agent") or "")[:300] or None
    now = clock.now()
    try:
        _verify(scope, key, client_id, request_id, timestamp, signature, body, now)
    except NeracaError as exc:
        # A refused request still counts against the key's limit (a valid one is counted with its
        # Request-Id claim, in one statement); over the limit, 429 wins as it always did.
        await ratelimit.hit("api-key", key["id"])
        if exc.code == "invalid_signature":
            await record_anonymous(
                "api.signature_rejected",
                f"Request with an invalid signature for key {key['name']} ({client_id}) to "
                f"{_target(scope)[:200]}",
                business_id=key["business_id"],
                ip=ip,
                user_agent=user_agent,
                actor_name=f"API key {key['name']}",
                actor_id=key["id"],
                refs={"client_id": client_id, "request_id": request_id},
            )
        raise
    if key["last_used_at"] is None or now - key["last_used_at"] > timedelta(seconds=60):
        await sql.execute(
            f"UPDATE api_key SET last_used_at = $2 WHERE id = $1 AND {ratelimit.async_commit()} IS NOT NULL",
            key["id"],
            now,
        )
    actor = Actor(
        business_id=key["business_id"],
        rights=frozenset(key["permissions"] or []),
        scope_account_id=key["scope_account_id"],
        api_key_id=key["id"],
        name=f"API key {key['name']} ({client_id})",
        ip=ip,
        user_agent=user_agent,
        business_mode=key["business_mode"] or "sandbox",
        extra={"client_id": client_id, "api_key_name": key["name"]},
    )
    return actor, request_id


def _target(scope: Scope) -> str:
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    target = str(raw_path.decode("latin-1"))
    query = scope.get("query_string", b"")
    if query:
        target += "?" + query.decode("latin-1")
    return target


def _verify(
    scope: Scope,
    key: Any,
    client_id: str,
    request_id: str,
    timestamp: str,
    signature: str,
    body: bytes,
    now: datetime,
) -> None:
    """Request-Id syntax, timestamp window and signature; raises the specific error."""
    if not REQUEST_ID_RE.match(request_id):
        raise ValidationFailed(
            "Request-Id must be 1 to 128 letters, digits, dots, colons, dashes or underscores.",
            code="invalid_request_id",
        )
    moment = parse_timestamp(timestamp)
    if moment is None or abs(now - moment) > TIMESTAMP_TOLERANCE:
        raise Unauthorized(
            "Request-Timestamp must be ISO 8601 UTC within 5 minutes of the server's clock "
            f"(server time {now.strftime('%Y-%m-%dT%H:%M:%SZ')}).",
            code="timestamp_out_of_range",
        )
    secret = security.unseal_secret_cached(get_settings().secret_key, key["secret_sealed"])
    if security.secret_fingerprint(secret) != key["secret_hash"]:
        # NERACA_SECRET_KEY changed since the key was made: it cannot be verified any more.
        raise Unauthorized("This API key cannot be verified on this server; create a new one.")
    message = security.signing_message(
        client_id=client_id, request_id=request_id, timestamp=timestamp, target=_target(scope), body=body
    )
    if not security.signature_valid(secret, message, signature):
        raise Unauthorized(
            "The signature does not match the request (check the secret, the target and the body digest).",
            code="invalid_signature",
        )


async def _claim(
    actor: Actor, request_id: str, method: str, target: str, body_hash: str, *, count: bool = True
) -> Any:
    """Count the key's rate-limit hit and insert the request id, in one statement committed without
    waiting for the WAL flush; return None when the id is new, else the earlier row.

    Asynchronous commit is safe here: WAL is flushed in order, so the claim is durable before any
    money transaction that follows it commits; a claim lost in a database crash had nothing after it."""
    now = clock.now()
    state = "running" if method == "POST" else "seen"
    # A POST records who runs it, so a retry can tell a dead process's claim from a running one.
    owner = await liveness.process_key() if method == "POST" else None
    if count:
        assert actor.api_key_id is not None
        bucket, window_start, allowed = ratelimit.window("api-key", actor.api_key_id, now)
        row = await sql.fetchrow(
            f"""WITH hit AS (
                 INSERT INTO rate_limit (bucket, window_start, hits) VALUES ($9, $10, 1)
                 ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit.hits + 1
                 RETURNING hits),
               claim AS (
                 INSERT INTO api_request (api_key_id, request_id, method, target, body_hash, state,
                     lease_until, created_at, owner_lock)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $12 WHERE (SELECT hits FROM hit) <= $11
                 ON CONFLICT (api_key_id, request_id) DO NOTHING RETURNING request_id)
               SELECT (SELECT hits FROM hit) AS hits, (SELECT request_id FROM claim) AS claimed,
                      {ratelimit.async_commit()} AS c""",
            actor.api_key_id,
            request_id,
            method,
            target,
            body_hash,
            state,
            now + LEASE,
            now,
            bucket,
            window_start,
            allowed,
            owner,
        )
        assert row is not None
        ratelimit.check("api-key", row["hits"], now)
        inserted = row["claimed"]
    else:
        inserted = await sql.fetchval(
            """INSERT INTO api_request (api_key_id, request_id, method, target, body_hash, state,
                   lease_until, created_at, owner_lock) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (api_key_id, request_id) DO NOTHING RETURNING request_id""",
            actor.api_key_id,
            request_id,
            method,
            target,
            body_hash,
            state,
            now + LEASE,
            now,
            owner,
        )
    if inserted is not None:
        return None
    row = await sql.fetchrow(
        "SELECT * FROM api_request WHERE api_key_id = $1 AND request_id = $2", actor.api_key_id, request_id
    )
    if row is None:
        return await _claim(actor, request_id, method, target, body_hash, count=False)
    abandoned = row["state"] == "running" and (
        (row["lease_until"] is not None and row["lease_until"] < now)
        or (row["owner_lock"] is not None and await liveness.is_gone(row["owner_lock"]))
    )
    same = row["body_hash"] == body_hash and row["target"] == target  # else 422, never a takeover
    if now - row["created_at"] > IDEMPOTENCY_TTL or (abandoned and same):
        # Expired, or the attempt's process died: take the id over for this request (one taker wins: the
        # update matches the old claim's created_at). What its money transaction booked stays on the claim
        # (`booked_object_id`, written in that transaction): this attempt answers with it, and the object's
        # unique reference keeps it from being booked twice.
        expired = now - row["created_at"] > IDEMPOTENCY_TTL
        taken = await sql.fetchrow(
            """UPDATE api_request SET method = $3, target = $4, body_hash = $5, state = $6, lease_until = $7,
                   status_code = NULL, headers = NULL, body = NULL, created_at = $8, owner_lock = $10,
                   booked_object_id = CASE WHEN $11 OR body_hash <> $5 OR target <> $4 THEN NULL
                       ELSE booked_object_id END
               WHERE api_key_id = $1 AND request_id = $2 AND created_at = $9
               RETURNING request_id, booked_object_id""",
            actor.api_key_id,
            request_id,
            method,
            target,
            body_hash,
            state,
            now + LEASE,
            now,
            row["created_at"],
            owner,
            expired,
        )
        if taken is not None:
            claim = idempotency.current()
            if claim is not None:
                claim.booked_object_id = taken["booked_object_id"]
            return None
        return await _claim(actor, request_id, method, target, body_hash, count=False)
    return row


async def handle(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    body = await _read_body(receive)
    actor, request_id = await authenticate(scope, body)
    scope["actor"] = actor  # type: ignore[typeddict-unknown-key]
    method = str(scope.get("method", "GET"))
    target = scope.get("path", "") + (
        "?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else ""
    )
    body_hash = hashlib.sha256(body).hexdigest()
    if method != "POST":
        earlier = await _claim(actor, request_id, method, target, body_hash)
        if earlier is not None:
            raise Unauthorized(
                N_("This Request-Id was already used; send every request with a new one."),
                code="request_id_reused",
            )
        await app(scope, _replay_receive(body, receive), send)
        return
    assert actor.api_key_id is not None
    with idempotency.request_claim(actor.api_key_id, request_id):
        await _handle_post(app, scope, receive, send, body, actor, request_id, target, body_hash)


async def _handle_post(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    body: bytes,
    actor: Actor,
    request_id: str,
    target: str,
    body_hash: str,
) -> None:
    """A signed POST: claimed, run once, its answer stored; a repeat gets the stored answer."""
    method = "POST"
    earlier = await _claim(actor, request_id, method, target, body_hash)
    if earlier is not None:
        if method != "POST" or earlier["method"] != "POST":
            raise Unauthorized(
                N_("This Request-Id was already used; send every request with a new one."),
                code="request_id_reused",
            )
        if earlier["body_hash"] != body_hash or earlier["target"] != target:
            raise ValidationFailed(
                N_("This Request-Id belongs to a different request; use a new Request-Id."),
                code="idempotency_key_reused",
                title=N_("Idempotency key reused"),
            )
        if earlier["state"] == "running":
            raise Conflict(
                N_("A request with this Request-Id is still running; retry shortly."),
                code="request_in_progress",
                headers={"Retry-After": "1"},
            )
        await _replay(earlier, send)
        return

    captured: dict[str, Any] = {"status": None, "headers": [], "body": bytearray(), "too_big": False}

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            if FAULT_KILL_AT == "api.answer":
                # Test-only fault injection: die after the money committed, before anyone hears of it.
                os.kill(os.getpid(), signal.SIGKILL)
            captured["status"] = message["status"]
            captured["headers"] = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            if len(captured["body"]) + len(chunk) > MAX_STORED_BODY:
                captured["too_big"] = True
            else:
                captured["body"].extend(chunk)
        await send(message)

    try:
        await app(scope, _replay_receive(body, receive), capture)
    except BaseException:
        await _release(actor, request_id)
        raise
    status = captured["status"] or 500
    if status >= 500 or status == 429 or captured["too_big"]:
        # Not a final answer: the client may retry with the same Request-Id.
        await _release(actor, request_id)
        return
    headers = {
        k.decode("latin-1"): v.decode("latin-1")
        for k, v in captured["headers"]
        if k.lower() in STORED_HEADERS
    }
    await _store(actor.api_key_id, request_id, status, json.dumps(headers), bytes(captured["body"]))


class _StoreCoalescer:
    """Stored responses of one event loop written together: requests finishing while one write is in
    flight go into the next pipelined round trip (the response was already sent; the request ends once
    its row is written, so a retry after it is answered from the store). Single-row updates by primary
    key, not `UPDATE … FROM unnest`, whose generic plan may scan api_request as it grows."""

    def __init__(self) -> None:
        self.pending: list[tuple[tuple[Any, ...], asyncio.Future[None]]] = []
        self.task: asyncio.Task[None] | None = None

    async def store(self, row: tuple[Any, ...]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((row, future))
        if self.task is None or self.task.done():
            # A clean context: no caller's transaction leaks into the writer.
            self.task = asyncio.create_task(self._drain(), context=contextvars.Context())
        await future

    async def _drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending, []
            rows = [row for row, _ in batch]
            try:
                async with sql.connection() as conn:
                    # One pipelined round trip; each row found by its primary key.
                    await conn.executemany(_STORE_ONE, rows)
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)


# Asynchronous commit: losing these rows in a database crash leaves the claims `running`, exactly as a
# web process dying between the money commit and the store would; the crash also ended the owner's
# liveness lock, so the retry takes the claim over and answers with what was booked (idempotency.py).
_STORE_ONE = (
    "UPDATE api_request SET state = 'done', status_code = $3, headers = $4::jsonb, body = $5, "
    f"lease_until = NULL WHERE api_key_id = $1 AND request_id = $2 AND {ratelimit.ASYNC_COMMIT} IS NOT NULL"
)
_STORES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _StoreCoalescer] = weakref.WeakKeyDictionary()


async def _store(api_key_id: str | None, request_id: str, status: int, headers: str, body: bytes) -> None:
    loop = asyncio.get_running_loop()
    coalescer = _STORES.get(loop)
    if coalescer is None:
        coalescer = _STORES[loop] = _StoreCoalescer()
    await coalescer.store((api_key_id, request_id, status, headers, body))


async def _release(actor: Actor, request_id: str) -> None:
    """No final answer (5xx, 429): the Request-Id is free for the retry. A claim whose money committed
    (a 503 from a COMMIT whose outcome was unknown, a fault after the booking) is kept with its lease
    ended, so the retry takes it over at once and answers with what was booked."""
    await sql.execute(
        "WITH ended AS (UPDATE api_request SET lease_until = $3, owner_lock = NULL WHERE api_key_id = $1 "
        "AND request_id = $2 AND state = 'running' AND booked_object_id IS NOT NULL) "
        "DELETE FROM api_request WHERE api_key_id = $1 AND request_id = $2 AND state = 'running' "
        f"AND booked_object_id IS NULL AND {ratelimit.async_commit()} IS NOT NULL",
        actor.api_key_id,
        request_id,
        clock.now() - timedelta(seconds=1),
    )


async def _replay(row: Any, send: Send) -> None:
    headers = row["headers"]
    if isinstance(headers, str):
        headers = json.loads(headers)
    body = bytes(row["body"] or b"")
    raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    raw_headers += [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": int(row["status_code"]), "headers": raw_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def prune(before: datetime | None = None) -> None:
    """Forget request ids older than 72 hours."""
    await sql.execute(
        "DELETE FROM api_request WHERE created_at < $1", before or clock.now() - IDEMPOTENCY_TTL
    )
