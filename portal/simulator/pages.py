"""HTML pages of the simulator: the customer's pay page, the hosted card page, the control page.

The pages call the same services as the API; the control page's forms post to `/control/forms/…` and
come back to `/control` (loopback only, like the control API).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jinja2
import segno
from litestar import Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect

from portal.lib import i18n
from portal.lib.i18n import N_
from portal.lib.money import format_money
from portal.lib.timefmt import format_wib_datetime
from portal.settings import get_settings
from portal.simulator import db
from portal.simulator import reference as ref
from portal.simulator.control import loopback_only, refuse_cross_site, state
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

_environment: jinja2.Environment | None = None


STATUS_LABELS = {
    "pending": N_("Waiting for payment"),
    "paid": N_("Paid"),
    "failed": N_("Declined"),
    "expired": N_("Expired"),
    "cancelled": N_("Cancelled"),
    "refunded": N_("Refunded"),
    "partially_refunded": N_("Partly refunded"),
    "registered": N_("Card saved"),
}


def _status(code: str) -> str:
    """A pay-in or registration status as the customer reads it (the stored codes never change)."""
    return i18n.gettext(STATUS_LABELS[code]) if code in STATUS_LABELS else code


def _datetime(value: str | datetime | None) -> str:
    """An ISO time (as the API views carry it) in WIB, in the page's language."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_wib_datetime(moment, i18n.babel_locale())


def environment() -> jinja2.Environment:
    global _environment
    if _environment is None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(get_settings().templates_dir)),
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
        )
        env.install_gettext_callables(  # type: ignore[attr-defined]
            i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext, npgettext=i18n.npgettext
        )
        env.filters["money"] = lambda amount, currency="IDR": format_money(
            amount, currency, i18n.babel_locale()
        )
        env.filters["datetime"] = _datetime
        env.filters["status"] = _status
        env.globals["banks"] = ref.BANKS
        _environment = env
    return _environment


def render(
    request: Request[Any, Any, Any], template: str, status_code: int = 200, **context: Any
) -> Response[str]:
    language = i18n.negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))
    i18n.current_language.set(language)
    html = environment().get_template(f"simulator/{template}").render(lang=language, **context)
    return Response(html, status_code=status_code, media_type="text/html")


def qr_data_uri(payload: str) -> str:
    return str(segno.make(payload, error="m").svg_data_uri(scale=5, border=2))


async def _payin_page(
    request: Request[Any, Any, Any], payin_id: str, error: str | None, status_code: int
) -> Response[str]:
    async with db.pool().acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM sim_payins WHERE id = $1", payin_id)
        if row is None:
            return render(request, "not_found.html", 404)
        payin = payins.view(row)
    qr = qr_data_uri(payin["qris_string"]) if payin["qris_string"] else None
    return render(request, "pay.html", status_code, payin=payin, qr=qr, error=error)


def _same_site(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    refuse_cross_site(connection)


@get("/pay/{payin_id:str}")
async def pay_page(request: Request[Any, Any, Any], payin_id: str) -> Response[str]:
    """The customer's page for a VA, QRIS or e-wallet pay-in: what to pay, and a button that pays it."""
    return await _payin_page(request, payin_id, None, 200)


@post("/pay/{payin_id:str}", status_code=303, guards=[_same_site])
async def pay_submit(request: Request[Any, Any, Any], payin_id: str) -> Any:
    try:
        async with db.transaction() as conn:
            await payins.pay(conn, payin_id)
    except SimError as exc:
        if exc.status == 404:
            return render(request, "not_found.html", 404)
        return await _payin_page(request, payin_id, exc.code, exc.status)
    return Redirect(f"/pay/{payin_id}", status_code=303)


async def _card_page(
    request: Request[Any, Any, Any],
    registration_id: str,
    errors: dict[str, str],
    status_code: int,
    form: dict[str, str],
) -> Response[str]:
    async with db.pool().acquire() as conn:
        try:
            registration = await cards.get_registration(conn, registration_id)
        except SimError:
            return render(request, "not_found.html", 404)
    return render(request, "card.html", status_code, registration=registration, errors=errors, form=form)


@get("/cards/register/{registration_id:str}")
async def card_page(request: Request[Any, Any, Any], registration_id: str) -> Response[str]:
    """The hosted card registration page: the card number is typed here, never on Neraca."""
    return await _card_page(request, registration_id, {}, 200, {})


@post("/cards/register/{registration_id:str}", status_code=303, guards=[_same_site])
async def card_submit(request: Request[Any, Any, Any], registration_id: str) -> Any:
    data = await request.form()
    form = cards.CardForm(
        number=str(data.get("card_number", "")),
        expiry=str(data.get("expiry", "")),
        cvv=str(data.get("cvv", "")),
        holder=str(data.get("holder", "")),
    )
    try:
        async with db.transaction() as conn:
            _registration, back = await cards.submit(conn, registration_id, form)
    except SimError as exc:
        if exc.status == 404:
            return render(request, "not_found.html", 404)
        field = (exc.field or "/form").lstrip("/")
        # The number is never echoed back; the rest of the form is.
        keep = {"expiry": form.expiry, "holder": form.holder}
        return await _card_page(
            request, registration_id, {field: i18n.gettext(exc.message)}, exc.status, keep
        )
    return Redirect(back, status_code=303)


@post("/cards/register/{registration_id:str}/cancel", status_code=303, guards=[_same_site])
async def card_cancel(request: Request[Any, Any, Any], registration_id: str) -> Any:
    try:
        async with db.transaction() as conn:
            back = await cards.abandon(conn, registration_id)
    except SimError:
        return await _card_page(request, registration_id, {}, 409, {})
    return Redirect(back, status_code=303)


# --- control page (loopback only) ---


@get("/control")
async def control_page(request: Request[Any, Any, Any], merchant_id: str | None = None) -> Response[str]:
    """Everything the control surface can do, as forms, with the latest pay-ins, payouts and callbacks."""
    async with db.pool().acquire() as conn:
        recent = await overview.recent(conn)
        log = await callbacks.log(conn, limit=30)
        balance = await overview.balance(conn, merchant_id) if merchant_id else None
        directory = await inquiries.directory(conn)
        merchant_now = (await clock.now(conn, merchant_id)).isoformat() if merchant_id else None
        service_list = await services.listing(conn)
    return render(
        request,
        "control.html",
        state=await state(),
        recent=recent,
        log=log,
        balance=balance,
        directory=directory,
        merchant_id=merchant_id or "",
        merchant_now=merchant_now,
        services=service_list,
        notice=request.query_params.get("notice"),
        rail_modes=ref.RAIL_MODES,
        callback_modes=callbacks.MODES,
        response_codes={code: text for code, text in ref.RESPONSE_CODES.items() if code != "00"},
    )


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    data = await request.form()
    return {key: str(value).strip() for key, value in data.items()}


def _back(notice: str, merchant_id: str | None = None) -> Redirect:
    from urllib.parse import urlencode

    query = {"notice": notice, **({"merchant_id": merchant_id} if merchant_id else {})}
    return Redirect(f"/control?{urlencode(query)}", status_code=303)


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SimError(422, "invalid_request", f"{name} must be a whole number.", field=f"/{name}") from None


async def _run_form(request: Request[Any, Any, Any], action: str) -> Redirect:
    form = await _form(request)
    async with db.transaction() as conn:
        if action == "pay":
            if form.get("va_number"):
                payin_id = await payins.payin_id_by(conn, va_number=form["va_number"])
            elif form.get("reference"):
                payin_id = await payins.payin_id_by(conn, reference=form["reference"])
            else:
                payin_id = form.get("payin_id", "")
            paid = await payins.pay(conn, payin_id)
            return _back(f"{paid['payin_id']}: {paid['status']}")
        if action == "decline-next":
            answer = await cards.decline_next(
                conn, form.get("token", ""), {"response_code": form.get("response_code")}
            )
            return _back(f"{answer['token']}: {answer['next_decline_code']}")
        if action == "bank-account":
            account = await inquiries.register_account(conn, form)
            return _back(f"{account['bank_code']} {account['account_number']}: {account['status']}")
        if action == "rail":
            changed = await rails.set_mode(conn, form.get("rail", ""), form.get("mode", ""))
            return _back(f"{changed['rail']}: {changed['mode']}")
        if action == "reverse":
            reversed_ = await payouts.reverse(conn, form.get("payout_id", ""))
            return _back(f"{reversed_['payout_id']}: {reversed_['status']}")
        if action == "callback-mode":
            delay = _int(form["delay_s"], "delay_s") if form.get("delay_s") else None
            mode = await callbacks.set_mode(conn, form.get("mode"), delay)
            return _back(f"{mode['mode']}")
        if action == "resend":
            resent = await callbacks.resend(conn, form.get("event_id", ""))
            return _back(f"{resent['event_id']}: {resent['status']}")
        if action == "verify-service":
            verified = await services.verify(conn, form.get("merchant_id", ""), form.get("service", ""))
            return _back(f"{verified['merchant_id']} {verified['service']}: {verified['status']}")
        if action in ("advance", "reset"):
            merchant_id = form.get("merchant_id", "")
            if not merchant_id:
                raise SimError(422, "invalid_request", "merchant_id is required.", field="/merchant_id")
            if action == "advance":
                seconds = (
                    _int(form.get("days") or "0", "days") * 86_400
                    + _int(form.get("hours") or "0", "hours") * 3_600
                )
                moment = await clock.advance(
                    conn, merchant_id, seconds + _int(form.get("seconds") or "0", "seconds")
                )
            else:
                moment = await clock.reset(conn, merchant_id)
            return _back(moment.isoformat(), merchant_id)
    raise SimError(404, "not_found", "No such control action.")


@post("/control/forms/{action:str}", status_code=303)
async def control_form(request: Request[Any, Any, Any], action: str) -> Any:
    try:
        return await _run_form(request, action)
    except SimError as exc:
        return _back(f"{exc.code}: {exc.message}")


CONTROL_PAGES = Router(path="/", guards=[loopback_only], route_handlers=[control_page, control_form])
ROUTES: list[Any] = [pay_page, pay_submit, card_page, card_submit, card_cancel, CONTROL_PAGES]
