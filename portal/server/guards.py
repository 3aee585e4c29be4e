"""Route guards and the actor dependency.

    from portal.server.guards import ACTOR_DEPENDENCY, requires

    @get("/accounts", guards=[requires("accounts")], dependencies={"actor": ACTOR_DEPENDENCY})
    async def accounts(actor: Actor) -> ...

HTML requests without a session are sent to `/login?next=…` (303, or `HX-Redirect` for htmx); a
signed-in user without the right gets the 403 page; API requests get problem+json 401/403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler

from portal.lib.actor import Actor
from portal.lib.errors import Forbidden, Label, NeracaError, Unauthorized
from portal.lib.i18n import N_, gettext
from portal.lib.menus import MENUS


class LoginRequired(NeracaError):
    """Rendered as a 303 to the login page (or an HX-Redirect for htmx requests)."""

    status = 303
    code = "login_required"
    title_msgid = N_("Sign in first")


def login_redirect_target(path: str, query: str = "") -> str:
    target = path + (f"?{query}" if query else "")
    if target in ("", "/"):
        return "/login"
    return "/login?next=" + quote(target, safe="/")


def login_required(connection: ASGIConnection[Any, Any, Any, Any]) -> NeracaError:
    scope = connection.scope
    path = scope.get("path", "/")
    if path.startswith("/api/"):
        return Unauthorized(gettext("Sign the request with an API key."))
    query = scope.get("query_string", b"").decode("latin-1")
    is_htmx = connection.headers.get("hx-request") == "true"
    if is_htmx:
        # htmx follows redirects inside XHR; HX-Redirect makes the whole page go to the login form.
        current = connection.headers.get("hx-current-url", "")
        from urllib.parse import urlsplit

        parts = urlsplit(current)
        target = login_redirect_target(parts.path or "/", parts.query) if current else "/login"
        return Unauthorized(
            gettext("Your session has ended. Sign in again."), headers={"HX-Redirect": target}
        )
    target = login_redirect_target(path, query if scope.get("method") == "GET" else "")
    return LoginRequired(gettext("Sign in first."), headers={"Location": target})


def current_actor(request: Request[Any, Any, Any]) -> Actor:
    """The signed-in user's or API key's Actor; Unauthorized when there is none."""
    actor: Actor | None = request.scope.get("actor")  # type: ignore[assignment]
    if actor is None:
        raise Unauthorized(gettext("Sign in first."))
    return actor


async def current_actor_dependency(request: Request[Any, Any, Any]) -> Actor:
    actor: Actor | None = request.scope.get("actor")  # type: ignore[assignment]
    if actor is None:
        raise login_required(request)
    return actor


ACTOR_DEPENDENCY = Provide(current_actor_dependency)


def missing_right(menu: str, level: str) -> Forbidden:
    """The 403 that names the right a page needs and who can give it."""
    label = next((Label(m.label) for m in MENUS if m.key == menu), menu)
    message = (
        N_(
            "This needs the right to manage %(menu)s. An owner or admin of your business (anyone who "
            "manages Users) can add it to your access on the Users page."
        )
        if level == "manage"
        else N_(
            "This needs the right to view %(menu)s. An owner or admin of your business (anyone who "
            "manages Users) can add it to your access on the Users page."
        )
    )
    return Forbidden(message, params={"menu": label}, extra={"missing_right": f"{menu}:{level}"})


def requires(menu: str, level: str = "view") -> Any:
    """A guard: the actor must hold `menu:level` (manage implies view)."""
    if level not in ("view", "manage"):
        raise ValueError(f"level must be view or manage, not {level!r}")

    # async: Litestar runs a sync guard in a worker thread (a thread hop on every request).
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
        actor: Actor | None = connection.scope.get("actor")  # type: ignore[assignment]
        if actor is None:
            raise login_required(connection)
        if not actor.can(menu, level):  # type: ignore[arg-type]
            raise missing_right(menu, level)

    guard.__name__ = f"requires_{menu}_{level}"
    guard.menu = menu  # type: ignore[attr-defined]
    guard.level = level  # type: ignore[attr-defined]
    return guard


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """A guard for pages every signed-in user may open (account settings, sessions)."""
    if connection.scope.get("actor") is None or connection.scope.get("user") is None:
        raise login_required(connection)


def object_first(
    find: Callable[[Actor, str], Awaitable[object]], param: str
) -> Callable[[Request[Any, Any, Any]], Awaitable[None]]:
    """A `before_request` hook for routes that name an object in the path and take a body.

    Litestar reads and validates the body before the handler runs, so without this another business's
    (or an out-of-scope) object would answer 400/422 about the body instead of 404 — telling the caller
    the route exists for that id and leaking nothing useful, but breaking "404 for every object of
    another business". Guards still run first (401/403); `find(actor, id)` raises NotFound.

        @post("/api/v1/withdrawals/{withdrawal_id:str}/mark-failed",
              before_request=object_first(services.find_withdrawal, "withdrawal_id"), ...)
    """

    async def before_request(request: Request[Any, Any, Any]) -> None:
        actor: Actor | None = request.scope.get("actor")  # type: ignore[assignment]
        if actor is None:
            raise login_required(request)
        await find(actor, str(request.path_params[param]))

    return before_request
