"""Authentication for every request, as app middleware (discovered by create_app()).

- Portal pages: the server-side session (cookie `neraca_session`) → `scope["user"]` and
  `scope["actor"]`. A page that is not public redirects to the login form when there is no session
  (default deny: a new domain's pages are behind the login even before they add guards).
- `/api/v1/*`: the request signature (docs/api-contract.md) → `scope["actor"]` for the API key, then replay
  protection and idempotency for POST (portal.domains.identity.api_auth).
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from litestar import Litestar
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from portal.domains.identity import api_auth, auth
from portal.lib import i18n
from portal.lib.actor import Actor, Level

PUBLIC_PATHS = {"/healthz", "/readyz", "/metrics", "/language", "/favicon.ico"}
PUBLIC_PREFIXES = ("/static/", "/api/", "/provider/callbacks/")


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in user as pages see it (`user` in templates)."""

    id: str
    username: str
    full_name: str
    email: str
    business_id: str
    business_name: str
    business_mode: str
    language: str
    role: str
    rights: frozenset[str]
    scope_account_id: str | None
    session_public_id: str

    def can(self, menu: str, level: Level = "view") -> bool:
        if f"{menu}:manage" in self.rights:
            return True
        return level == "view" and f"{menu}:view" in self.rights

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def session_cookie(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    try:
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(raw)
    except Exception:
        return None
    morsel = cookie.get(auth.SESSION_COOKIE)
    return morsel.value if morsel else None


def client_info(scope: Scope) -> auth.ClientInfo:
    client = scope.get("client")
    return auth.ClientInfo(
        ip=client[0] if client else None, user_agent=(_header(scope, b"user-agent") or "")[:300] or None
    )


def cookie_header(token: str | None, *, secure: bool) -> bytes:
    """Set-Cookie for the session (None deletes it)."""
    parts = [f"{auth.SESSION_COOKIE}={token or ''}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if token is None:
        parts.append("Max-Age=0")
    else:
        parts.append(f"Max-Age={int(auth.ABSOLUTE_TIMEOUT.total_seconds())}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


def is_public(scope: Scope) -> bool:
    path = scope.get("path", "")
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return True
    handler = scope.get("route_handler")
    return bool(handler is not None and getattr(handler, "opt", {}).get("public"))


def install_session(scope: Scope, session: auth.Session) -> None:
    user = session.user
    client = client_info(scope)
    actor = auth.user_actor(user, session.business, client)
    scope["user"] = CurrentUser(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        email=user.email,
        business_id=user.business_id,
        business_name=session.business.name,
        business_mode=session.business.mode,
        language=user.language,
        role=user.role,
        rights=user.rights,
        scope_account_id=user.scope_account_id,
        session_public_id=session.public_id,
    )
    scope["actor"] = actor  # type: ignore[typeddict-unknown-key]
    state = scope.setdefault("state", {})
    state["session_token_hash"] = session.id_hash
    state["language"] = user.language
    i18n.current_language.set(user.language)


class IdentityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope["user"] = None
        scope["actor"] = None  # type: ignore[typeddict-unknown-key]
        path = scope.get("path", "")
        if path.startswith("/api/v1/") or path == "/api/v1":
            await api_auth.handle(self.app, scope, receive, send)
            return
        if path.startswith("/static/") or path in ("/healthz", "/readyz", "/metrics"):
            await self.app(scope, receive, send)
            return
        token = session_cookie(scope)
        session = await auth.load_session(token) if token else None
        new_cookie: bytes | None = None
        if session is not None and token:
            if session.rotate_pending:
                rotated = await auth.rotate_session(token)
                if rotated:
                    new_cookie = cookie_header(rotated, secure=_secure(scope))
                    scope.setdefault("state", {})["session_token"] = rotated
            else:
                scope.setdefault("state", {})["session_token"] = token
            install_session(scope, session)
        elif token:
            new_cookie = cookie_header(None, secure=_secure(scope))  # expired or unknown: forget it
        if session is None and not is_public(scope):
            from litestar.connection import ASGIConnection

            from portal.server.guards import login_required

            raise login_required(ASGIConnection(scope, receive, send))

        if new_cookie is None:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(
                    k.lower() == b"set-cookie" and v.startswith(auth.SESSION_COOKIE.encode())
                    for k, v in headers
                ):
                    headers.append((b"set-cookie", new_cookie))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _secure(scope: Scope) -> bool:
    app = scope.get("app")
    return bool(getattr(getattr(app, "state", None), "cookie_secure", True))


MIDDLEWARE = [IdentityMiddleware]


def on_app(app: Litestar) -> None:
    async def on_language_change(request: Any, language: str) -> None:
        actor: Actor | None = request.scope.get("actor")
        if actor is not None:
            await auth.set_language(actor, language)

    app.state.on_language_change = on_language_change

    async def load_user(scope: Scope) -> None:
        # For pages answered before this middleware ran (an unknown address): the layout of who is signed in.
        token = session_cookie(scope)
        session = await auth.load_session(token) if token else None
        if session is not None:
            install_session(scope, session)

    app.state.load_user = load_user
