"""The provider API (`/v1/…`): signed calls from Neraca, SNAP-style, idempotent by X-EXTERNAL-ID.

Every call is verified (401 otherwise). A POST's X-EXTERNAL-ID is its idempotency key: the same key
and body answer the first answer again, the same key with another body is a 409. The first answer is
stored in the same transaction as the work, so a retry after a lost answer never does the work twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from litestar import Request, Response, get, post

from portal.lib import snap
from portal.simulator import db
from portal.simulator.config import get_config
from portal.simulator.errors import SimError
from portal.simulator.services import (
    callbacks,
    cards,
    clock,
    inquiries,
    payins,
    payouts,
    rails,
    services,
    settlement,
)

Operation = Callable[[asyncpg.Connection, str, dict[str, Any]], Awaitable[dict[str, Any]]]


def json_response(content: Any, status_code: int = 200) -> Response[bytes]:
    return Response(callbacks.dumps(content).encode(), status_code=status_code, media_type="application/json")


def authenticate(request: Request[Any, Any, Any], body: bytes) -> str:
    """The calling partner, once its SNAP signature checks out (path signed with or without the query)."""
    config = get_config()
    lowered = {key.lower(): value for key, value in request.headers.items()}
    if lowered.get("x-partner-id") != config.partner_id:
        raise SimError(401, "unknown_partner", "X-PARTNER-ID is missing or unknown.")
    path = request.url.path
    candidates = [f"{path}?{request.url.query}", path] if request.url.query else [path]
    reason = "invalid_signature"
    for candidate in candidates:
        try:
            snap.verify(config.secret, request.method, candidate, body, lowered)
            return config.partner_id
        except snap.SignatureError as exc:
            reason = exc.reason
    raise SimError(401, reason, "The request signature is missing, wrong or stale.")


def parse(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SimError(400, "invalid_json", "The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise SimError(400, "invalid_json", "The body must be a JSON object.")
    return payload


async def idempotent(request: Request[Any, Any, Any], operation: Operation) -> Response[bytes]:
    """Run a signed POST once per X-EXTERNAL-ID, storing its answer with its work."""
    body = await request.body()
    partner_id = authenticate(request, body)
    payload = parse(body)
    key = request.headers.get("x-external-id", "")
    if len(key) > 128:
        raise SimError(400, "invalid_external_id", "X-EXTERNAL-ID is at most 128 characters.")
    body_hash = hashlib.sha256(body).hexdigest()
    rails.answer_delay.set(0.0)
    async with db.transaction() as conn:
        inserted = await conn.fetchval(
            "INSERT INTO sim_requests (partner_id, external_id, method, path, body_hash) VALUES ($1, $2, "
            "$3, $4, $5) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            partner_id,
            key,
            request.method,
            request.url.path,
            body_hash,
        )
        if not inserted:
            first = await conn.fetchrow(
                "SELECT * FROM sim_requests WHERE partner_id = $1 AND external_id = $2", partner_id, key
            )
            if first["body_hash"] != body_hash or first["path"] != request.url.path:
                raise SimError(
                    409, "idempotency_key_reused", "X-EXTERNAL-ID was already used for another request."
                )
            return Response(
                first["response"].encode(), status_code=first["status_code"], media_type="application/json"
            )
        try:
            async with conn.transaction():  # a savepoint: a refusal keeps the key, drops partial work
                answer: dict[str, Any] = await operation(conn, partner_id, payload)
            status = 200
        except SimError as exc:
            if exc.status >= 500:
                raise  # unavailable: nothing is recorded, the same key may be tried again
            answer, status = exc.body(), exc.status
        except asyncpg.UniqueViolationError:
            # Two keys raced for one reference: the loser is told, as it would be a moment later.
            answer = {
                "code": "duplicate_reference",
                "message": "An object with this reference already exists.",
            }
            status = 409
        await conn.execute(
            "UPDATE sim_requests SET status_code = $3, response = $4::jsonb WHERE partner_id = $1 AND "
            "external_id = $2",
            partner_id,
            key,
            status,
            callbacks.dumps(answer),
        )
    delay = rails.answer_delay.get()
    if delay:
        await asyncio.sleep(delay)  # slow or timed-out rail: the work is done, the answer is late
    return json_response(answer, status)


async def signed_read(
    request: Request[Any, Any, Any], read: Callable[[asyncpg.Connection, str], Awaitable[Any]]
) -> Response[bytes]:
    partner_id = authenticate(request, await request.body())
    async with db.pool().acquire() as conn:
        return json_response(await read(conn, partner_id))


def _require(value: str | None, name: str) -> str:
    if not value:
        raise SimError(422, "invalid_request", f"{name} is required.", field=f"/{name}")
    return value


@post("/v1/payins", status_code=200)
async def create_payin(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await idempotent(request, payins.create)


@post("/v1/payins/card-charges", status_code=200)
async def charge_cards(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await idempotent(request, payins.charge_many)


@get("/v1/payins/{payin_id:str}")
async def get_payin(
    request: Request[Any, Any, Any], payin_id: str, merchant_id: str | None = None
) -> Response[bytes]:
    return await signed_read(request, lambda conn, partner: payins.get(conn, partner, payin_id, merchant_id))


@get("/v1/payins")
async def find_payin(
    request: Request[Any, Any, Any], reference: str | None = None, merchant_id: str | None = None
) -> Response[bytes]:
    return await signed_read(
        request,
        lambda conn, partner: payins.by_reference(
            conn, partner, _require(reference, "reference"), merchant_id
        ),
    )


@post("/v1/payins/{payin_id:str}/cancel", status_code=200)
async def cancel_payin(request: Request[Any, Any, Any], payin_id: str) -> Response[bytes]:
    return await idempotent(request, lambda conn, partner, body: payins.cancel(conn, partner, payin_id, body))


@post("/v1/payins/{payin_id:str}/void", status_code=200)
async def void_payin(request: Request[Any, Any, Any], payin_id: str) -> Response[bytes]:
    return await idempotent(request, lambda conn, partner, body: payins.void(conn, partner, payin_id, body))


@post("/v1/payins/{payin_id:str}/refunds", status_code=200)
async def refund_payin(request: Request[Any, Any, Any], payin_id: str) -> Response[bytes]:
    return await idempotent(request, lambda conn, partner, body: payins.refund(conn, partner, payin_id, body))


@post("/v1/cards/registrations", status_code=200)
async def create_card_registration(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await idempotent(request, cards.create_registration)


@get("/v1/cards/registrations/{registration_id:str}")
async def get_card_registration(request: Request[Any, Any, Any], registration_id: str) -> Response[bytes]:
    return await signed_read(
        request, lambda conn, partner: cards.get_registration(conn, registration_id, partner_id=partner)
    )


@post("/v1/inquiries", status_code=200)
async def name_inquiry(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await idempotent(request, lambda conn, _partner, body: inquiries.inquire(conn, body))


@post("/v1/payouts", status_code=200)
async def submit_payout(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await idempotent(request, payouts.submit)


@post("/v1/payouts/batch", status_code=200)
async def submit_payouts(request: Request[Any, Any, Any]) -> Response[bytes]:
    return await idempotent(request, payouts.submit_many)


@get("/v1/payouts/{payout_id:str}")
async def get_payout(
    request: Request[Any, Any, Any], payout_id: str, merchant_id: str | None = None
) -> Response[bytes]:
    return await signed_read(
        request, lambda conn, partner: payouts.get(conn, partner, payout_id, merchant_id)
    )


@get("/v1/payouts")
async def find_payout(
    request: Request[Any, Any, Any], reference: str | None = None, merchant_id: str | None = None
) -> Response[bytes]:
    return await signed_read(
        request,
        lambda conn, partner: payouts.by_reference(
            conn, partner, _require(reference, "reference"), merchant_id
        ),
    )


@get("/v1/settlements")
async def settlement_report(
    request: Request[Any, Any, Any],
    merchant_id: str | None = None,
    date: str | None = None,
    channel: str | None = None,
) -> Response[bytes]:
    return await signed_read(
        request,
        lambda conn, partner: settlement.report(
            conn,
            partner,
            _require(merchant_id, "merchant_id"),
            _require(date, "date"),
            _require(channel, "channel"),
        ),
    )


@get("/v1/clock")
async def merchant_clock(request: Request[Any, Any, Any], merchant_id: str | None = None) -> Response[bytes]:
    async def read(conn: asyncpg.Connection, _partner: str) -> dict[str, Any]:
        merchant = _require(merchant_id, "merchant_id")
        return {"merchant_id": merchant, "now": (await clock.now(conn, merchant)).isoformat()}

    return await signed_read(request, read)


@post("/v1/services/{service:str}", status_code=200)
async def request_service(request: Request[Any, Any, Any], service: str) -> Response[bytes]:
    return await idempotent(request, lambda conn, _partner, body: services.request(conn, service, body))


@get("/v1/services/{service:str}")
async def get_service(
    request: Request[Any, Any, Any], service: str, merchant_id: str | None = None
) -> Response[bytes]:
    return await signed_read(
        request, lambda conn, _partner: services.get(conn, _require(merchant_id, "merchant_id"), service)
    )


ROUTES = [
    request_service,
    get_service,
    create_payin,
    charge_cards,
    get_payin,
    find_payin,
    cancel_payin,
    void_payin,
    refund_payin,
    create_card_registration,
    get_card_registration,
    name_inquiry,
    submit_payout,
    submit_payouts,
    get_payout,
    find_payout,
    settlement_report,
    merchant_clock,
]
