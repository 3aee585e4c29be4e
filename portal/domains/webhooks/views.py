"""Webhook pages (menu "developers", beside API keys): endpoints, their secrets, and the delivery console.
Thin controllers over webhooks.services."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect

from portal.domains.webhooks import services
from portal.domains.webhooks.event_types import EVENT_TYPES
from portal.lib.actor import Actor
from portal.lib.errors import N_, FieldError, ValidationFailed
from portal.lib.i18n import gettext
from portal.server.guards import ACTOR_DEPENDENCY, requires
from portal.server.templating import page

DEPS = {"actor": ACTOR_DEPENDENCY}
VIEW = [requires("developers")]
MANAGE = [requires("developers", "manage")]


def _errors(exc: ValidationFailed) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for error in exc.errors:
        out.setdefault(error.pointer.lstrip("/"), []).append(error.detail)
    if not out:
        out[""] = [exc.detail]
    return out


async def _form(request: Request[Any, Any, Any]) -> tuple[dict[str, str], list[str]]:
    data = await request.form()
    fields = {k: str(v) for k, v in data.items() if isinstance(v, str)}
    types = (
        [str(v) for v in data.getall("event_types") if isinstance(v, str)] if "event_types" in data else []
    )
    return fields, types


def _type_options() -> list[dict[str, str]]:
    return [{"type": t, "description": gettext(d)} for t, d in EVENT_TYPES.items() if t != "webhook.test"]


async def _list_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    *,
    errors: dict[str, list[str]] | None = None,
    form: dict[str, Any] | None = None,
    created: services.Endpoint | None = None,
    secret: str | None = None,
    status_code: int = 200,
) -> Response[str]:
    context = {
        "endpoints": await services.all_endpoints(actor),
        "event_types": _type_options(),
        "can_manage": actor.can("developers", "manage") and not actor.scope_account_id,
        "errors": errors or {},
        "form": form or {"event_types": []},
        "created": created,
        "secret": secret,
    }
    return page(request, "webhooks/endpoints.html", context, status_code=status_code)


@get(
    "/developers/webhooks",
    operation_id="webhooks_endpoints",
    include_in_schema=False,
    guards=VIEW,
    dependencies=DEPS,
)
async def endpoints(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    return await _list_page(request, actor)


@post(
    "/developers/webhooks",
    operation_id="webhooks_endpoint_create",
    include_in_schema=False,
    guards=MANAGE,
    dependencies=DEPS,
)
async def endpoint_create(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    fields, types = await _form(request)
    try:
        endpoint, secret = await services.create_endpoint(
            actor,
            url=fields.get("url", "").strip(),
            description=fields.get("description", ""),
            event_types=types,
        )
    except ValidationFailed as exc:
        form = {**fields, "event_types": types}
        return await _list_page(request, actor, errors=_errors(exc), form=form, status_code=422)
    return await _list_page(request, actor, created=endpoint, secret=secret)


async def _detail_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    endpoint_id: str,
    *,
    errors: dict[str, list[str]] | None = None,
    secret: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response[str]:
    endpoint = await services.get_endpoint(actor, endpoint_id)
    context = {
        "endpoint": endpoint,
        "event_types": _type_options(),
        "can_manage": actor.can("developers", "manage") and not actor.scope_account_id,
        "errors": errors or {},
        "secret": secret,
        "events": await services.console(actor, endpoint_id=endpoint_id, limit=50),
        "notice": notice,
    }
    return page(request, "webhooks/endpoint.html", context, status_code=status_code)


@get(
    "/developers/webhooks/{endpoint_id:str}",
    operation_id="webhooks_endpoint",
    include_in_schema=False,
    guards=VIEW,
    dependencies=DEPS,
)
async def endpoint_detail(
    request: Request[Any, Any, Any], actor: Actor, endpoint_id: str, notice: str | None = None, count: int = 0
) -> Response[str]:
    return await _detail_page(request, actor, endpoint_id, notice=_notice(notice, count))


def _notice(kind: str | None, count: int = 0) -> str | None:
    """The sentence confirming what the previous POST did (Post/Redirect/Get)."""
    if kind == "saved":
        return gettext("Saved")
    if kind == "test":
        return gettext("Test event queued for delivery.")
    if kind == "resent":
        return gettext("Queued to send again.")
    if kind == "resent_failed":
        return gettext("%(count)d failed deliveries queued to send again.") % {"count": count}
    return None


@post(
    "/developers/webhooks/{endpoint_id:str}",
    operation_id="webhooks_endpoint_update",
    include_in_schema=False,
    guards=MANAGE,
    dependencies=DEPS,
)
async def endpoint_update(request: Request[Any, Any, Any], actor: Actor, endpoint_id: str) -> Response[Any]:
    await services.get_endpoint(actor, endpoint_id)
    fields, types = await _form(request)
    changes: dict[str, Any] = {
        "url": fields.get("url", "").strip(),
        "description": fields.get("description", ""),
        "event_types": types,
        "enabled": fields.get("enabled") == "1",
    }
    try:
        await services.update_endpoint(actor, endpoint_id, changes)
    except ValidationFailed as exc:
        return await _detail_page(request, actor, endpoint_id, errors=_errors(exc), status_code=422)
    return Redirect(f"/developers/webhooks/{endpoint_id}?notice=saved", status_code=303)


@post(
    "/developers/webhooks/{endpoint_id:str}/rotate",
    operation_id="webhooks_endpoint_rotate",
    include_in_schema=False,
    guards=MANAGE,
    dependencies=DEPS,
)
async def endpoint_rotate(request: Request[Any, Any, Any], actor: Actor, endpoint_id: str) -> Response[str]:
    _endpoint, secret = await services.rotate_secret(actor, endpoint_id)
    return await _detail_page(request, actor, endpoint_id, secret=secret)


@post(
    "/developers/webhooks/{endpoint_id:str}/delete",
    operation_id="webhooks_endpoint_delete",
    include_in_schema=False,
    guards=MANAGE,
    dependencies=DEPS,
)
async def endpoint_delete(request: Request[Any, Any, Any], actor: Actor, endpoint_id: str) -> Response[Any]:
    await services.delete_endpoint(actor, endpoint_id)
    return Redirect("/developers/webhooks", status_code=303)


@post(
    "/developers/webhooks/{endpoint_id:str}/test",
    operation_id="webhooks_endpoint_test",
    include_in_schema=False,
    guards=MANAGE,
    dependencies=DEPS,
)
async def endpoint_test(request: Request[Any, Any, Any], actor: Actor, endpoint_id: str) -> Response[Any]:
    try:
        await services.send_test(actor, endpoint_id)
    except ValidationFailed as exc:
        return await _detail_page(request, actor, endpoint_id, errors=_errors(exc), status_code=422)
    return Redirect(f"/developers/webhooks/{endpoint_id}?notice=test", status_code=303)


@post(
    "/developers/webhooks/{endpoint_id:str}/events/{event_id:str}/resend",
    operation_id="webhooks_resend",
    include_in_schema=False,
    guards=MANAGE,
    dependencies=DEPS,
)
async def resend(
    request: Request[Any, Any, Any], actor: Actor, endpoint_id: str, event_id: str
) -> Response[Any]:
    try:
        await services.resend(actor, event_id, endpoint_id)
    except ValidationFailed as exc:
        return await _detail_page(request, actor, endpoint_id, errors=_errors(exc), status_code=422)
    return Redirect(f"/developers/webhooks/{endpoint_id}?notice=resent", status_code=303)


@post(
    "/developers/webhooks/{endpoint_id:str}/resend-failed",
    operation_id="webhooks_resend_failed",
    include_in_schema=False,
    guards=MANAGE,
    dependencies=DEPS,
)
async def resend_failed(request: Request[Any, Any, Any], actor: Actor, endpoint_id: str) -> Response[Any]:
    await services.get_endpoint(actor, endpoint_id)
    fields, _types = await _form(request)
    try:
        since = _parse_since(fields.get("since", ""))
        count = await services.resend_failed_since(actor, since, endpoint_id=endpoint_id)
    except ValidationFailed as exc:
        return await _detail_page(request, actor, endpoint_id, errors=_errors(exc), status_code=422)
    return Redirect(f"/developers/webhooks/{endpoint_id}?notice=resent_failed&count={count}", status_code=303)


@get(
    "/developers/events",
    operation_id="webhooks_events",
    include_in_schema=False,
    guards=VIEW,
    dependencies=DEPS,
)
async def events(
    request: Request[Any, Any, Any], actor: Actor, notice: str | None = None, count: int = 0
) -> Response[str]:
    """Every event of the business with its deliveries and their attempts."""
    return await _events_page(request, actor, notice=_notice(notice, count))


async def _events_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    *,
    errors: dict[str, list[str]] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response[str]:
    context = {
        "events": await services.console(actor, limit=100),
        "can_manage": actor.can("developers", "manage") and not actor.scope_account_id,
        "errors": errors or {},
        "notice": notice,
    }
    return page(request, "webhooks/events.html", context, status_code=status_code)


@post(
    "/developers/events/resend-failed",
    operation_id="webhooks_events_resend_failed",
    include_in_schema=False,
    guards=MANAGE,
    dependencies=DEPS,
)
async def events_resend_failed(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    fields, _types = await _form(request)
    try:
        since = _parse_since(fields.get("since", ""))
        count = await services.resend_failed_since(actor, since)
    except ValidationFailed as exc:
        return await _events_page(request, actor, errors=_errors(exc), status_code=422)
    return Redirect(f"/developers/events?notice=resent_failed&count={count}", status_code=303)


def _parse_since(value: str) -> datetime:
    """`datetime-local` input in WIB (the portal's time zone)."""
    from zoneinfo import ZoneInfo

    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValidationFailed(
            N_("Choose the time to resend from."),
            code="invalid_since",
            errors=[FieldError("since", N_("a date and time, e.g. 2026-11-29 08:00"))],
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("Asia/Jakarta"))
    return moment.astimezone(UTC)


ROUTES = [
    endpoints,
    endpoint_create,
    endpoint_detail,
    endpoint_update,
    endpoint_rotate,
    endpoint_delete,
    endpoint_test,
    resend,
    resend_failed,
    events,
    events_resend_failed,
]
