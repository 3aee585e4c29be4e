"""Navigation: the menus of DESIGN.md §7, each shown once its domain has a page and the user may view it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request

from portal.lib.i18n import N_, gettext


@dataclass(frozen=True)
class Menu:
    key: str
    label: str  # English source text, translated at render time
    href: str
    icon: str


MENUS: tuple[Menu, ...] = (
    Menu("dashboard", N_("Dashboard"), "/", "home"),
    Menu("accounts", N_("Accounts"), "/accounts", "accounts"),
    Menu("transfers", N_("Transfers"), "/transfers", "transfers"),
    Menu("splits", N_("Splits"), "/splits", "splits"),
    Menu("billing", N_("Billing"), "/billing", "billing"),
    Menu("payouts", N_("Payouts"), "/payouts", "payouts"),
    Menu("reports", N_("Reports"), "/reports", "reports"),
    Menu("users", N_("Users"), "/users", "users"),
    Menu("activity", N_("Activity"), "/activity", "activity"),
    Menu("developers", N_("Developers"), "/developers", "developers"),
    Menu("settings", N_("Settings"), "/settings", "settings"),
)
MENU_KEYS = tuple(menu.key for menu in MENUS)


def _registered_paths(request: Request[Any, Any, Any]) -> set[str]:
    app = request.app
    cached: set[str] | None = getattr(app.state, "_nav_paths", None)
    if cached is None:
        cached = {route.path for route in app.routes}
        app.state._nav_paths = cached
    return cached


def build_nav(request: Request[Any, Any, Any], user: Any) -> list[dict[str, Any]]:
    paths = _registered_paths(request)
    current = request.url.path
    entries = []
    for menu in MENUS:
        if menu.href not in paths:
            continue  # the domain has not landed yet
        if user is not None and hasattr(user, "can") and not user.can(menu.key, "view"):
            continue
        active = current == menu.href if menu.href == "/" else current.startswith(menu.href)
        entries.append(
            {
                "key": menu.key,
                "label": gettext(menu.label),
                "href": menu.href,
                "icon": menu.icon,
                "active": active,
            }
        )
    return entries
