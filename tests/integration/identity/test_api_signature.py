"""API authentication (docs/api-contract.md): signature, timestamps, replay, idempotency, /me."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, post

from portal.domains.identity import services
from portal.domains.identity.auth import user_actor
from portal.domains.identity.server_hooks import IdentityMiddleware
from portal.lib import clock, sql
from portal.server.errors import EXCEPTION_HANDLERS
from tests.support.identity import make_business, signed_headers

CALLS: list[bytes] = []
GATE: dict[str, asyncio.Event] = {}


@post("/api/v1/echo", status_code=201)
async def echo(request: Request[Any, Any, Any]) -> dict[str, Any]:
    body = await request.body()
    CALLS.append(body)
    if b"slow" in body:
        GATE.setdefault("slow", asyncio.Event())
        await GATE["slow"].wait()
    if b"boom" in body:
        raise RuntimeError("boom")
    return {"n": len(CALLS), "echo": json.loads(body or b"{}")}


@pytest.fixture
async def echo_client(db: str) -> AsyncIterator[httpx.AsyncClient]:
    app = Litestar([echo], middleware=[IdentityMiddleware], exception_handlers=EXCEPTION_HANDLERS)
    CALLS.clear()
    GATE.clear()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as c:
        yield c


async def new_key(permissions: frozenset[str] = frozenset({"accounts:view"})) -> tuple[Any, str, Any]:
    business, owner = await make_business()
    actor = user_actor(owner, business)
    key, secret = await services.create_api_key(actor, name="integration", permissions=permissions)
    return key, secret, business


async def test_me_returns_the_keys_business_permissions_and_scope(client: Any) -> None:
    key, secret, business = await new_key(frozenset({"accounts:view", "transfers:manage"}))
    response = await client.get(
        "/api/v1/me", headers=signed_headers(key.client_id, secret, "GET", "/api/v1/me")
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "business": {"id": business.id, "name": business.name, "mode": "sandbox"},
        "client_id": key.client_id,
        "name": "integration",
        "permissions": ["accounts:view", "transfers:manage"],
        "scope_account_id": None,
    }
    assert await sql.fetchval("SELECT last_used_at FROM api_key WHERE id = $1", key.id) is not None


@pytest.mark.parametrize(
    ("mutate", "status", "code"),
    [
        (lambda h: h.update({"Signature": "HMACSHA256=AAAA"}), 401, "invalid_signature"),
        (lambda h: h.pop("Signature"), 401, "unauthorized"),
        (lambda h: h.update({"Client-Id": "ck_unknown"}), 401, "unauthorized"),
        (lambda h: h.update({"Request-Timestamp": "2020-01-01T00:00:00Z"}), 401, "timestamp_out_of_range"),
        (lambda h: h.update({"Request-Timestamp": "yesterday"}), 401, "timestamp_out_of_range"),
    ],
)
async def test_bad_signatures_are_refused(client: Any, mutate: Any, status: int, code: str) -> None:
    key, secret, _ = await new_key()
    headers = signed_headers(key.client_id, secret, "GET", "/api/v1/me")
    mutate(headers)
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


async def test_signature_covers_target_and_query(client: Any) -> None:
    key, secret, _ = await new_key()
    headers = signed_headers(key.client_id, secret, "GET", "/api/v1/me")
    response = await client.get("/api/v1/me?limit=5", headers=headers)
    assert response.json()["code"] == "invalid_signature"
    rows = await sql.fetch("SELECT action FROM activity WHERE action = 'api.signature_rejected'")
    assert len(rows) == 1


async def test_timestamp_window_is_five_minutes_both_ways(client: Any) -> None:
    key, secret, _ = await new_key()
    for offset, ok in ((-299, True), (299, True), (-301, False), (301, False)):
        stamp = (clock.now() + timedelta(seconds=offset)).strftime("%Y-%m-%dT%H:%M:%SZ")
        headers = signed_headers(key.client_id, secret, "GET", "/api/v1/me", timestamp=stamp)
        response = await client.get("/api/v1/me", headers=headers)
        assert (response.status_code == 200) is ok, (offset, response.text)


async def test_revoked_key_is_refused(client: Any) -> None:
    business, owner = await make_business()
    actor = user_actor(owner, business)
    key, secret = await services.create_api_key(actor, name="k", permissions=frozenset({"accounts:view"}))
    await services.revoke_api_key(actor, key.id)
    response = await client.get(
        "/api/v1/me", headers=signed_headers(key.client_id, secret, "GET", "/api/v1/me")
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


async def test_request_id_reused_on_get(client: Any) -> None:
    key, secret, _ = await new_key()
    headers = signed_headers(key.client_id, secret, "GET", "/api/v1/me", request_id="same-id")
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 200
    again = await client.get(
        "/api/v1/me", headers=signed_headers(key.client_id, secret, "GET", "/api/v1/me", request_id="same-id")
    )
    assert again.status_code == 401
    assert again.json()["code"] == "request_id_reused"


async def test_signature_over_a_different_body_is_refused(echo_client: httpx.AsyncClient) -> None:
    key, secret, _ = await new_key()
    headers = signed_headers(key.client_id, secret, "POST", "/api/v1/echo", body=b'{"a":1}')
    response = await echo_client.post("/api/v1/echo", content=b'{"a":2}', headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert CALLS == []


async def test_idempotent_replay_mismatch_and_in_progress(echo_client: httpx.AsyncClient) -> None:
    key, secret, _ = await new_key()
    body = b'{"amount":1000}'
    first = await echo_client.post(
        "/api/v1/echo",
        content=body,
        headers=signed_headers(key.client_id, secret, "POST", "/api/v1/echo", body, "idem-1"),
    )
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    replay = await echo_client.post(
        "/api/v1/echo",
        content=body,
        headers=signed_headers(key.client_id, secret, "POST", "/api/v1/echo", body, "idem-1"),
    )
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    assert len(CALLS) == 1
    other = b'{"amount":2000}'
    mismatch = await echo_client.post(
        "/api/v1/echo",
        content=other,
        headers=signed_headers(key.client_id, secret, "POST", "/api/v1/echo", other, "idem-1"),
    )
    assert mismatch.status_code == 422
    assert mismatch.json()["code"] == "idempotency_key_reused"
    assert len(CALLS) == 1

    slow = b'{"slow":true}'
    task = asyncio.create_task(
        echo_client.post(
            "/api/v1/echo",
            content=slow,
            headers=signed_headers(key.client_id, secret, "POST", "/api/v1/echo", slow, "idem-2"),
        )
    )
    for _ in range(100):
        if "slow" in GATE:
            break
        await asyncio.sleep(0.01)
    busy = await echo_client.post(
        "/api/v1/echo",
        content=slow,
        headers=signed_headers(key.client_id, secret, "POST", "/api/v1/echo", slow, "idem-2"),
    )
    assert busy.status_code == 409
    assert busy.json()["code"] == "request_in_progress"
    GATE["slow"].set()
    assert (await task).status_code == 201


async def test_server_errors_are_not_stored_and_may_be_retried(echo_client: httpx.AsyncClient) -> None:
    key, secret, _ = await new_key()
    body = b'{"boom":true}'
    headers = signed_headers(key.client_id, secret, "POST", "/api/v1/echo", body, "idem-3")
    assert (await echo_client.post("/api/v1/echo", content=body, headers=headers)).status_code == 500
    retry = await echo_client.post(
        "/api/v1/echo",
        content=body,
        headers=signed_headers(key.client_id, secret, "POST", "/api/v1/echo", body, "idem-3"),
    )
    assert retry.status_code == 500
    assert len(CALLS) == 2


async def test_idempotency_is_per_key_and_expires_after_72_hours(echo_client: httpx.AsyncClient) -> None:
    from tests.support.identity import FakeClock

    key_a, secret_a, _ = await new_key()
    key_b, secret_b, _ = await new_key()
    body = b'{"x":1}'
    for key, secret in ((key_a, secret_a), (key_b, secret_b)):
        response = await echo_client.post(
            "/api/v1/echo",
            content=body,
            headers=signed_headers(key.client_id, secret, "POST", "/api/v1/echo", body, "shared"),
        )
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
    fake = FakeClock()
    clock.set_clock(fake)
    try:
        fake.advance(hours=73)
        response = await echo_client.post(
            "/api/v1/echo",
            content=body,
            headers=signed_headers(key_a.client_id, secret_a, "POST", "/api/v1/echo", body, "shared"),
        )
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
        assert len(CALLS) == 3
    finally:
        clock.set_clock(None)
