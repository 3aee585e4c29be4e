"""The control surface's JSON API (`/control/api/…`): drives the sandbox into any scenario.

Unsigned, so it answers loopback clients only (403 for anyone else).
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Router, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from portal.simulator import db
from portal.simulator.api import json_response, parse
from portal.simulator.errors import SimError
from portal.simulator.services import (
    callbacks,
    cards,
    clock,
    inquiries,
    overview,
    payins,
    payouts,
    rails,
    services,
)


def loopback_only(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Guard: the control surface is unsigned, so only this machine may use it."""
    host = connection.client.host if connection.client else ""
    try:
        allowed = ipaddress.ip_address(host).is_loopback
    except ValueError:
        allowed = False
    if not allowed:
        raise SimError(403, "loopback_only", "The control surface answers only on the loopback interface.")
    refuse_cross_site(connection)


def refuse_cross_site(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """A browser on this machine must not be made to post here by another site (it sends `Origin`)."""
    if connection.scope.get("method", "GET") in ("GET", "HEAD"):
        return
    origin = connection.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != connection.headers.get("host", ""):
        raise SimError(403, "cross_site", "Requests from another site are refused.")


async def _body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    raw = await request.body()
    return parse(raw) if raw.strip() else {}


async def state() -> dict[str, Any]:
    async with db.pool().acquire() as conn:
        return {
            "rails": await rails.modes(conn),
            "callbacks": await callbacks.delivery_mode(conn),
            "callback_url": await callbacks.callback_url(conn),
        }


@get("/control/api/state")
async def control_state() -> Any:
    return json_response(await state())


@post("/control/api/payins/{payin_id:str}/pay", status_code=200)
async def pay_payin(payin_id: str) -> Any:
    async with db.transaction() as conn:
        return json_response(await payins.pay(conn, payin_id))


@post("/control/api/payins/pay", status_code=200)
async def pay_payin_by_reference(reference: str) -> Any:
    async with db.transaction() as conn:
        return json_response(await payins.pay(conn, await payins.payin_id_by(conn, reference=reference)))


@post("/control/api/va/{va_number:str}/pay", status_code=200)
async def pay_va(va_number: str) -> Any:
    async with db.transaction() as conn:
        return json_response(await payins.pay(conn, await payins.payin_id_by(conn, va_number=va_number)))


@post("/control/api/cards/{token:str}/decline-next", status_code=200)
async def decline_next(request: Request[Any, Any, Any], token: str) -> Any:
    body = await _body(request)
    async with db.transaction() as conn:
        return json_response(await cards.decline_next(conn, token, body))


@post("/control/api/bank-accounts", status_code=200)
async def put_bank_account(request: Request[Any, Any, Any]) -> Any:
    body = await _body(request)
    async with db.transaction() as conn:
        return json_response(await inquiries.register_account(conn, body))


@get("/control/api/bank-accounts")
async def list_bank_accounts() -> Any:
    async with db.pool().acquire() as conn:
        return json_response(await inquiries.directory(conn))


@post("/control/api/rails/{rail:str}", status_code=200)
async def set_rail(request: Request[Any, Any, Any], rail: str) -> Any:
    body = await _body(request)
    async with db.transaction() as conn:
        return json_response(await rails.set_mode(conn, rail, body.get("mode")))  # type: ignore[arg-type]


@get("/control/api/rails")
async def list_rails() -> Any:
    async with db.pool().acquire() as conn:
        return json_response(await rails.modes(conn))


@post("/control/api/payouts/{payout_id:str}/reverse", status_code=200)
async def reverse_payout(payout_id: str) -> Any:
    async with db.transaction() as conn:
        return json_response(await payouts.reverse(conn, payout_id))


@post("/control/api/callbacks/mode", status_code=200)
async def callback_mode(request: Request[Any, Any, Any]) -> Any:
    body = await _body(request)
    async with db.transaction() as conn:
        return json_response(await callbacks.set_mode(conn, body.get("mode"), body.get("delay_s")))


@post("/control/api/callbacks/url", status_code=200)
async def callback_url(request: Request[Any, Any, Any]) -> Any:
    body = await _body(request)
    async with db.transaction() as conn:
        return json_response(await callbacks.set_callback_url(conn, body.get("url")))


@post("/control/api/callbacks/{event_id:str}/resend", status_code=200)
async def resend_callback(event_id: str) -> Any:
    async with db.transaction() as conn:
        return json_response(await callbacks.resend(conn, event_id))


@get("/control/api/callbacks")
async def callback_log(merchant_id: str | None = None, limit: int = 100) -> Any:
    async with db.pool().acquire() as conn:
        return json_response(
            await callbacks.log(conn, merchant_id=merchant_id, limit=max(1, min(limit, 500)))
        )


@post("/control/api/clock/{merchant_id:str}/advance", status_code=200)
async def advance_clock(request: Request[Any, Any, Any], merchant_id: str) -> Any:
    body = await _body(request)
    async with db.transaction() as conn:
        moment = await clock.advance(conn, merchant_id, body.get("seconds"))  # type: ignore[arg-type]
        return json_response({"merchant_id": merchant_id, "now": moment.isoformat()})


@post("/control/api/clock/{merchant_id:str}/reset", status_code=200)
async def reset_clock(merchant_id: str) -> Any:
    async with db.transaction() as conn:
        moment = await clock.reset(conn, merchant_id)
        return json_response({"merchant_id": merchant_id, "now": moment.isoformat()})


@get("/control/api/clock/{merchant_id:str}")
async def read_clock(merchant_id: str) -> Any:
    async with db.pool().acquire() as conn:
        return json_response(
            {"merchant_id": merchant_id, "now": (await clock.now(conn, merchant_id)).isoformat()}
        )


@get("/control/api/merchants/{merchant_id:str}/balance")
async def merchant_balance(merchant_id: str) -> Any:
    async with db.pool().acquire() as conn:
        return json_response(await overview.balance(conn, merchant_id))


@post("/control/api/services/{merchant_id:str}/{service:str}/verify", status_code=200)
async def verify_service(merchant_id: str, service: str) -> Any:
    """The provider's review of a merchant's service request passes (sandbox): `updating` → `active`."""
    async with db.transaction() as conn:
        return json_response(await services.verify(conn, merchant_id, service))


@get("/control/api/services")
async def list_services() -> Any:
    async with db.pool().acquire() as conn:
        return json_response(await services.listing(conn))


ROUTER = Router(
    path="/",
    guards=[loopback_only],
    route_handlers=[
        control_state,
        pay_payin,
        pay_payin_by_reference,
        pay_va,
        decline_next,
        put_bank_account,
        list_bank_accounts,
        set_rail,
        list_rails,
        reverse_payout,
        callback_mode,
        callback_url,
        resend_callback,
        callback_log,
        advance_clock,
        reset_clock,
        read_clock,
        merchant_balance,
        verify_service,
        list_services,
    ],
)
