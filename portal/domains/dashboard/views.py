"""The dashboard at `/`: balances of the actor's scope, money in/out over a week or a month (htmx toggle,
server-rendered SVG chart), top sub-accounts, items needing action, recent transfers."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from portal.domains.dashboard import chart, services
from portal.domains.payments import services as payments
from portal.lib import i18n
from portal.lib.actor import Actor
from portal.server.forms import htmx, pages_router
from portal.server.guards import ACTOR_DEPENDENCY, signed_in
from portal.server.templating import page

WINDOW_TARGET = "dash-window"


async def _window_context(actor: Actor, key: services.WindowKey) -> dict[str, Any]:
    window = await services.window_flows(actor, key)
    locale = i18n.babel_locale()
    return {
        "window": window,
        "charts": {flow.currency: chart.build(flow, locale) for flow in window.flows},
    }


@get("/", operation_id="dashboard", guards=[signed_in])
async def dashboard(request: Request[Any, Any, Any], actor: Actor, window: str = "week") -> Response[str]:
    key = services.window_key(window)
    can_view = actor.can("dashboard", "view")
    context: dict[str, Any] = {
        "dash": {
            "can_view": can_view,
            "window_key": key,
            "can_accounts": actor.can("accounts", "view"),
            "can_transfers": actor.can("transfers", "view"),
            "can_move": actor.can("transfers", "manage"),
            "can_payouts": actor.can("payouts", "manage"),
            "sandbox": actor.business_mode == "sandbox",
        }
    }
    if not can_view:
        return page(request, "home.html", context)
    if htmx(request).target == WINDOW_TARGET:
        context.update(await _window_context(actor, key))
        return page(request, "home.html", context, block="window_panel")
    context.update(await _window_context(actor, key))
    context.update(
        balances=await services.balances(actor) or [services.CurrencyTotals("IDR", 0, 0, 0, 0, 0)],
        scope_name=await services.scope_name(actor),
        top=await services.top_accounts(actor),
        actions=await services.action_items(actor),
        recent=await services.recent_transfers(actor) if actor.can("transfers", "view") else [],
        payments=await payments.summary(actor),
    )
    return page(request, "home.html", context)


ROUTES = [pages_router(ACTOR_DEPENDENCY, [dashboard])]
