"""Navigation: the portal's menus (portal/lib/menus.py), each shown once its domain has a page and the
user may view it."""

from __future__ import annotations

from typing import Any

from litestar import Request

from portal.lib.i18n import gettext
from portal.lib.menus import MENU_KEYS, MENUS, Menu

__all__ = ["MENUS", "MENU_KEYS", "Menu", "build_nav"]


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
