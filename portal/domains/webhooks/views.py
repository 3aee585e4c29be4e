"""Webhook pages (menu "developers", beside API keys): endpoints, their secrets, and the delivery console.
Thin controllers over webhooks.services."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, get, post

from portal.domains.webhooks import services
from portal.domains.webhooks.event_types import EVENT_TYPES
from portal.lib.actor import Actor
from portal.lib.errors import N_, FieldError, ValidationFailed
from portal.lib.i18n import gettext
from portal.server.forms import Render, check_text, handle_form, pages_router, query, see_other, shown_back
from portal.server.guards import ACTOR_DEPENDENCY, requires
from portal.server.templating import page

VIEW = [requires("developers")]
MANAGE = [requires("developers", "manage")]


async def _ticked(request: Request[Any, Any, Any]) -> list[str]:
    """The ticked event types (a repeated field, which the form helper's one-value mapping leaves out)."""
    data = await request.form()
    return [str(v) for v in data.getall("event_types") if isinstance(v, str)] if "event_types" in data else []


async def _event_types(request: Request[Any, Any, Any]) -> list[str]:
    """The ticked event types, each checked like every other field."""
    types = await _ticked(request)
    for value in types:
        check_text({"event_types": value})
    return types


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
    guards=VIEW,
)
async def endpoints(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    return await _list_page(request, actor)


@post(
    "/developers/webhooks",
    operation_id="webhooks_endpoint_create",
    guards=MANAGE,
)
async def endpoint_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    async def create(fields: dict[str, str]) -> tuple[services.Endpoint, str]:
        return await services.create_endpoint(
            actor,
            url=fields.get("url", "").strip(),
            description=fields.get("description", ""),
            event_types=await _event_types(request),
        )

    async def render(fields: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        shown = [shown_back({"event_types": t})["event_types"] for t in await _ticked(request)]
        form = {**fields, "event_types": shown}
        return await _list_page(request, actor, errors=errors, form=form)

    async def created(result: tuple[services.Endpoint, str]) -> Response[Any]:
        return await _list_page(request, actor, created=result[0], secret=result[1])

    return await handle_form(request, create, render=render, success=created)


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
    guards=VIEW,
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
    guards=MANAGE,
)
async def endpoint_update(request: Request[Any, Any, Any], actor: Actor, endpoint_id: str) -> Response[Any]:
    await services.get_endpoint(actor, endpoint_id)

    async def update(fields: dict[str, str]) -> None:
        changes: dict[str, Any] = {
            "url": fields.get("url", "").strip(),
            "description": fields.get("description", ""),
            "event_types": await _event_types(request),
            "enabled": fields.get("enabled") == "1",
        }
        await services.update_endpoint(actor, endpoint_id, changes)

    return await handle_form(
        request,
        update,
        render=_detail_render(request, actor, endpoint_id),
        success=lambda _: query(f"/developers/webhooks/{endpoint_id}", notice="saved"),
    )


def _detail_render(request: Request[Any, Any, Any], actor: Actor, endpoint_id: str) -> Render:
    async def render(fields: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        return await _detail_page(request, actor, endpoint_id, errors=errors)

    return render


@post(
    "/developers/webhooks/{endpoint_id:str}/rotate",
    operation_id="webhooks_endpoint_rotate",
    guards=MANAGE,
)
async def endpoint_rotate(request: Request[Any, Any, Any], actor: Actor, endpoint_id: str) -> Response[str]:
    _endpoint, secret = await services.rotate_secret(actor, endpoint_id)
    return await _detail_page(request, actor, endpoint_id, secret=secret)


@post(
    "/developers/webhooks/{endpoint_id:str}/delete",
    operation_id="webhooks_endpoint_delete",
    guards=MANAGE,
)
async def endpoint_delete(request: Request[Any, Any, Any], actor: Actor, endpoint_id: str) -> Response[Any]:
    await services.delete_endpoint(actor, endpoint_id)
    return see_other(request, "/developers/webhooks")


@post(
    "/developers/webhooks/{endpoint_id:str}/test",
    operation_id="webhooks_endpoint_test",
    guards=MANAGE,
)
async def endpoint_test(request: Request[Any, Any, Any], actor: Actor, endpoint_id: str) -> Response[Any]:
    async def send(_: dict[str, str]) -> None:
        await services.send_test(actor, endpoint_id)

    return await handle_form(
        request,
        send,
        render=_detail_render(request, actor, endpoint_id),
        success=lambda _: query(f"/developers/webhooks/{endpoint_id}", notice="test"),
    )


@post(
    "/developers/webhooks/{endpoint_id:str}/events/{event_id:str}/resend",
    operation_id="webhooks_resend",
    guards=MANAGE,
)
async def resend(
    request: Request[Any, Any, Any], actor: Actor, endpoint_id: str, event_id: str
) -> Response[Any]:
    async def again(_: dict[str, str]) -> None:
        await services.resend(actor, event_id, endpoint_id)

    return await handle_form(
        request,
        again,
        render=_detail_render(request, actor, endpoint_id),
        success=lambda _: query(f"/developers/webhooks/{endpoint_id}", notice="resent"),
    )


@post(
    "/developers/webhooks/{endpoint_id:str}/resend-failed",
    operation_id="webhooks_resend_failed",
    guards=MANAGE,
)
async def resend_failed(request: Request[Any, Any, Any], actor: Actor, endpoint_id: str) -> Response[Any]:
    await services.get_endpoint(actor, endpoint_id)

    async def again(fields: dict[str, str]) -> int:
        since = _parse_since(fields.get("since", ""))
        return await services.resend_failed_since(actor, since, endpoint_id=endpoint_id)

    return await handle_form(
        request,
        again,
        render=_detail_render(request, actor, endpoint_id),
        success=lambda count: query(
            f"/developers/webhooks/{endpoint_id}", notice="resent_failed", count=str(count)
        ),
    )


@get(
    "/developers/events",
    operation_id="webhooks_events",
    guards=VIEW,
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
    guards=MANAGE,
)
async def events_resend_failed(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    async def again(fields: dict[str, str]) -> int:
        return await services.resend_failed_since(actor, _parse_since(fields.get("since", "")))

    async def render(fields: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        return await _events_page(request, actor, errors=errors)

    return await handle_form(
        request,
        again,
        render=render,
        success=lambda count: query("/developers/events", notice="resent_failed", count=str(count)),
    )


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
    pages_router(
        ACTOR_DEPENDENCY,
        [
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
        ],
    )
]
