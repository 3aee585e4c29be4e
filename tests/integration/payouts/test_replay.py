"""Retries of `POST /api/v1/payouts` converge as transfers and holds do: a web process killed (kill -9)
after the payout and its holds committed and before its answer was stored is answered on retry with the
payout it created; the same reference with the same body under a new Request-Id answers with that payout
too; the same reference with another body stays `duplicate_reference`. Nothing is held twice.

The kill is the server's own (`NERACA_FAULT_KILL_AT=api.answer`) in a real uvicorn subprocess on the test
database; the retries go to the in-process app, as a client's retry reaches another web node."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx

from portal.domains.identity import roles, services
from portal.lib import sql
from tests.support.identity import signed_headers
from tests.support.live_server import live_server
from tests.support.payouts import assert_ledger_sound, payout_world

PATH = "/api/v1/payouts"


async def _world() -> tuple[Any, str, Any, str]:
    business, _user, actor, beneficiary = await payout_world()
    key, secret = await services.create_api_key(
        actor, name="payouts", permissions=frozenset(roles.ALL_RIGHTS)
    )
    return business, beneficiary, key, secret


def _signed(key: Any, secret: str, body: bytes, request_id: str) -> dict[str, str]:
    return signed_headers(key.client_id, secret, "POST", PATH, body, request_id=request_id)


async def _held(business_id: str, reference: str) -> tuple[int, int]:
    """(payouts with the reference, pending holds of them)."""
    payouts = await sql.fetchval(
        "SELECT count(*) FROM payout WHERE business_id = $1 AND reference = $2", business_id, reference
    )
    holds = await sql.fetchval(
        "SELECT count(*) FROM hold h JOIN payout p ON p.business_id = h.business_id "
        "AND h.id IN (p.amount_hold_id, p.fee_hold_id) WHERE p.business_id = $1 AND p.reference = $2",
        business_id,
        reference,
    )
    return int(payouts), int(holds)


async def test_a_payout_whose_process_died_before_answering_is_answered_on_retry(
    client: Any, db: str
) -> None:
    business, beneficiary, key, secret = await _world()
    reference = f"PO-KILLED-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"beneficiary_id": beneficiary, "amount": 125_000, "reference": reference}).encode()
    request_id = f"kill-{uuid.uuid4().hex}"

    def send() -> None:
        with live_server({"NERACA_FAULT_KILL_AT": "api.answer"}) as base_url:
            try:
                answer = httpx.post(
                    base_url + PATH, content=body, headers=_signed(key, secret, body, request_id), timeout=60
                )
            except httpx.HTTPError:
                return
            raise AssertionError(f"the server answered instead of dying: {answer.status_code} {answer.text}")

    await asyncio.to_thread(send)
    created = await sql.fetch(
        "SELECT id FROM payout WHERE business_id = $1 AND reference = $2", business.id, reference
    )
    assert len(created) == 1, "the payout and its holds committed before the kill"
    claim = await sql.fetchrow(
        "SELECT state, booked_object_id FROM api_request WHERE request_id = $1", request_id
    )
    assert claim is not None and claim["state"] == "running" and claim["booked_object_id"] == created[0]["id"]

    for _ in range(100):  # the dead process's claim is taken over within seconds at most
        answer = await client.post(PATH, content=body, headers=_signed(key, secret, body, request_id))
        if answer.status_code != 409 or answer.json()["code"] != "request_in_progress":
            break
        await asyncio.sleep(0.1)
    assert answer.status_code == 201, answer.text
    assert answer.json()["id"] == created[0]["id"] and answer.json()["amount"] == 125_000
    again = await client.post(PATH, content=body, headers=_signed(key, secret, body, request_id))
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert again.json()["id"] == created[0]["id"]
    assert await _held(business.id, reference) == (1, 2)
    await assert_ledger_sound()


async def test_the_same_reference_and_body_replays_and_another_body_is_refused(client: Any, db: str) -> None:
    business, beneficiary, key, secret = await _world()
    reference = f"PO-AGAIN-{uuid.uuid4().hex[:8]}"
    request = {"beneficiary_id": beneficiary, "amount": 75_000, "reference": reference, "description": "Gaji"}
    body = json.dumps(request).encode()
    first = await client.post(PATH, content=body, headers=_signed(key, secret, body, str(uuid.uuid4())))
    assert first.status_code == 201, first.text

    # The SDK gave up without an answer and the caller sends the request again under a new Request-Id.
    replayed = await client.post(PATH, content=body, headers=_signed(key, secret, body, str(uuid.uuid4())))
    assert replayed.status_code == 201, replayed.text
    assert replayed.json()["id"] == first.json()["id"]
    assert await _held(business.id, reference) == (1, 2)

    for changed in ({"amount": 75_001}, {"description": "Bonus"}, {"rail": "online"}):
        other = json.dumps({**request, **changed}).encode()
        refused = await client.post(
            PATH, content=other, headers=_signed(key, secret, other, str(uuid.uuid4()))
        )
        assert refused.status_code in (409, 422), refused.text
        assert refused.json()["code"] == "duplicate_reference", refused.text
    assert await _held(business.id, reference) == (1, 2)
    await assert_ledger_sound()
