"""Notifications: the bell (unread count, polled), the list page and mark-as-read."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from portal.domains.notifications import services
from portal.lib import i18n
from portal.lib.actor import Actor
from portal.server.forms import pages_router, see_other
from portal.server.guards import ACTOR_DEPENDENCY, signed_in
from portal.server.templating import page


@get(
    "/notifications/bell",
    operation_id="notifications_bell",
    guards=[signed_in],
)
async def bell(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    """The bell with its unread count; it re-polls itself every few seconds."""
    count = await services.unread_count(actor)
    return page(request, "notifications/bell.html", {"unread": count}, block="bell")


@get(
    "/notifications",
    operation_id="notifications_list",
    guards=[signed_in],
)
async def notifications_list(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    items = await services.list_for(actor, locale=i18n.babel_locale())
    return page(request, "notifications/list.html", {"items": items})


@post(
    "/notifications/read",
    operation_id="notifications_read_all",
    guards=[signed_in],
)
async def read_all(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    await services.mark_read(actor)
    return see_other(request, "/notifications")


@post(
    "/notifications/{notification_id:str}/read",
    operation_id="notifications_read",
    guards=[signed_in],
)
async def read_one(request: Request[Any, Any, Any], actor: Actor, notification_id: str) -> Response[Any]:
    await services.mark_read(actor, notification_id)
    return see_other(request, "/notifications")


ROUTES = [pages_router(ACTOR_DEPENDENCY, [bell, notifications_list, read_all, read_one])]
