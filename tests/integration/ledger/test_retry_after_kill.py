"""A web process killed (kill -9) after a POST's money committed and before its answer was sent or stored:
the retry with the same Request-Id takes the dead process's claim over at once and gets the first
answer (the object booked then), nothing is booked twice, and a further retry is the stored answer.

The kill is the server's own, at a named point (`NERACA_FAULT_KILL_AT=api.answer`), in a real uvicorn
subprocess on the test database; the retries go to the in-process app, as a client's retry reaches
another web node."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx

from portal.domains.identity import roles, services
from portal.domains.identity.auth import user_actor
from portal.domains.ledger.invariants import check_all
from portal.lib import sql
from tests.support.identity import make_business, signed_headers
from tests.support.live_server import live_server


async def _funded_accounts(business: Any, owner: Any) -> tuple[str, str]:
    from portal.domains.accounts import services as accounts
    from portal.domains.ledger import services as ledger

    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    source = await accounts.create_account(actor, name="Source", kind="partner", parent_id=main)
    target = await accounts.create_account(actor, name="Target", kind="partner", parent_id=main)
    topup = await ledger.create_topup(actor, account_id=source.id, amount=100_000, reference="KILL-TOP")
    await ledger.simulate_topup_payment(actor, topup.id)
    return source.id, target.id


async def _world(client: Any) -> tuple[Any, str, str, Any, str]:
    business, owner = await make_business()
    source, target = await _funded_accounts(business, owner)
    key, secret = await services.create_api_key(
        user_actor(owner, business), name="k", permissions=frozenset(roles.ALL_RIGHTS)
    )
    return business, source, target, key, secret


def _signed(key: Any, secret: str, path: str, body: bytes, request_id: str) -> dict[str, str]:
    return signed_headers(key.client_id, secret, "POST", path, body, request_id=request_id)


async def _killed_on_answer(key: Any, secret: str, path: str, body: bytes, request_id: str) -> None:
    """Send the POST to a server that dies once its money is committed: no answer comes back."""

    def send() -> None:
        with live_server({"NERACA_FAULT_KILL_AT": "api.answer"}) as base_url:
            try:
                response = httpx.post(
                    base_url + path,
                    content=body,
                    headers=_signed(key, secret, path, body, request_id),
                    timeout=60,
                )
            except httpx.HTTPError:
                return
            raise AssertionError(
                f"the server answered instead of dying: {response.status_code} {response.text}"
            )

    await asyncio.to_thread(send)


async def _retry(client: Any, key: Any, secret: str, path: str, body: bytes, request_id: str) -> Any:
    """The client's retry: the claim of the dead process is taken over within seconds at most."""
    for _ in range(100):
        answer = await client.post(path, content=body, headers=_signed(key, secret, path, body, request_id))
        if answer.status_code != 409 or answer.json()["code"] != "request_in_progress":
            return answer
        await asyncio.sleep(0.1)
    raise AssertionError("the dead process's claim was never taken over")


async def test_a_transfer_whose_process_died_before_answering_is_answered_on_retry(
    client: Any, db: str
) -> None:
    _business, source, target, key, secret = await _world(client)
    path = "/api/v1/transfers"
    reference = f"KILLED-{uuid.uuid4().hex[:8]}"
    body = json.dumps(
        {"from_account_id": source, "to_account_id": target, "amount": 2_500, "reference": reference}
    ).encode()
    request_id = f"kill-{uuid.uuid4().hex}"

    await _killed_on_answer(key, secret, path, body, request_id)
    booked = await sql.fetch("SELECT id FROM transfer WHERE reference = $1", reference)
    assert len(booked) == 1, "the money committed before the kill"
    claim = await sql.fetchrow(
        "SELECT state, booked_object_id FROM api_request WHERE request_id = $1", request_id
    )
    assert claim["state"] == "running" and claim["booked_object_id"] == booked[0]["id"]

    answer = await _retry(client, key, secret, path, body, request_id)
    assert answer.status_code == 201, answer.text
    assert answer.json()["id"] == booked[0]["id"] and answer.json()["amount"] == 2_500
    again = await client.post(path, content=body, headers=_signed(key, secret, path, body, request_id))
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert again.json() == answer.json()
    assert await sql.fetchval("SELECT count(*) FROM transfer WHERE reference = $1", reference) == 1
    assert await check_all() == []


async def test_a_hold_post_whose_process_died_before_answering_is_answered_on_retry(
    client: Any, db: str
) -> None:
    _business, source, target, key, secret = await _world(client)
    made = await client.post(
        "/api/v1/holds",
        content=(
            hold := json.dumps(
                {
                    "from_account_id": source,
                    "to_account_id": target,
                    "amount": 4_000,
                    "reference": f"H-{uuid.uuid4().hex[:8]}",
                }
            ).encode()
        ),
        headers=_signed(key, secret, "/api/v1/holds", hold, f"hold-{uuid.uuid4().hex}"),
    )
    assert made.status_code == 201, made.text
    hold_id = made.json()["id"]
    path = f"/api/v1/holds/{hold_id}/post"
    body = b"{}"
    request_id = f"kill-post-{uuid.uuid4().hex}"

    await _killed_on_answer(key, secret, path, body, request_id)
    stored = await sql.fetchrow("SELECT status, resolution_transfer_id FROM hold WHERE id = $1", hold_id)
    assert stored["status"] == "posted"

    answer = await _retry(client, key, secret, path, body, request_id)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "posted" and answer.json()["posted_amount"] == 4_000
    # Another request posting the same hold is still refused: only the request that booked it replays.
    other = await client.post(
        path, content=body, headers=_signed(key, secret, path, body, f"other-{uuid.uuid4().hex}")
    )
    assert other.status_code == 409 and other.json()["code"] == "hold_not_pending"
    posts = await sql.fetchval(
        "SELECT count(*) FROM transfer WHERE hold_id = $1 AND phase = 'post_pending'", hold_id
    )
    assert posts == 1
    assert await check_all() == []


async def test_the_same_transfer_again_replays_and_another_under_its_reference_is_refused(
    client: Any, db: str
) -> None:
    """With a new Request-Id (a client that lost its first answer and its Request-Id with it)."""
    _business, source, target, key, secret = await _world(client)
    path = "/api/v1/transfers"
    fields = {"from_account_id": source, "to_account_id": target, "amount": 700, "reference": "SAME-AGAIN"}
    body = json.dumps(fields).encode()
    first = await client.post(path, content=body, headers=_signed(key, secret, path, body, "same-1"))
    again = await client.post(path, content=body, headers=_signed(key, secret, path, body, "same-2"))
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    for changed in (
        {"amount": 701},
        {"to_account_id": source, "from_account_id": target},
        {"description": "x"},
    ):
        other = json.dumps({**fields, **changed}).encode()
        refused = await client.post(
            path, content=other, headers=_signed(key, secret, path, other, f"c-{uuid.uuid4().hex}")
        )
        assert refused.status_code == 409 and refused.json()["code"] == "duplicate_reference", refused.text
    assert await sql.fetchval("SELECT count(*) FROM transfer WHERE reference = 'SAME-AGAIN'") == 1
