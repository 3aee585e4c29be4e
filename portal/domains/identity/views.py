"""Identity pages: sign-in, enrolment, password reset, account settings, sessions, users, API keys,
business settings and the local mail outbox. Thin controllers over services/auth."""

from __future__ import annotations

from typing import Any

import segno
from litestar import Request, Response, get, post
from litestar.response import Redirect
from markupsafe import Markup

from portal.domains.identity import auth
from portal.domains.identity.guards import ACTOR_DEPENDENCY
from portal.domains.identity.server_hooks import client_info, cookie_header
from portal.lib.errors import FieldError, NeracaError, RateLimited, ValidationFailed
from portal.server.routes import safe_next
from portal.server.templating import page

PUBLIC = {"public": True}
DEPS = {"actor": ACTOR_DEPENDENCY}


def errors_dict(errors: list[FieldError]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for error in errors:
        out.setdefault(error.pointer.lstrip("/"), []).append(error.detail)
    return out


async def form(request: Request[Any, Any, Any]) -> dict[str, str]:
    data = await request.form()
    return {k: str(v) for k, v in data.items() if isinstance(v, str)}


def _session_token(request: Request[Any, Any, Any]) -> str | None:
    state = request.scope.get("state", {})
    return state.get("session_token")


def _with_session_cookie(
    request: Request[Any, Any, Any], response: Response[Any], token: str
) -> Response[Any]:
    response.headers["Set-Cookie"] = cookie_header(token, secure=request.app.state.cookie_secure).decode()
    return response


# ---- sign in / out -------------------------------------------------------------------------------


@get("/login", operation_id="login_form", include_in_schema=False, opt=PUBLIC)
async def login_form(request: Request[Any, Any, Any], next: str = "/") -> Response[str]:
    if request.scope.get("user") is not None:
        return Redirect(safe_next(next), status_code=303)
    return page(request, "identity/login.html", {"next": safe_next(next), "username": "", "errors": {}})


@post("/login", operation_id="login", include_in_schema=False, opt=PUBLIC)
async def login(request: Request[Any, Any, Any]) -> Response[str]:
    data = await form(request)
    next_url = safe_next(data.get("next", "/"))
    username = data.get("username", "")
    try:
        user = await auth.authenticate(
            username, data.get("password", ""), data.get("otp", ""), client_info(request.scope)
        )
    except (auth.LoginFailed, ValidationFailed, RateLimited) as exc:
        context = {
            "next": next_url,
            "username": username[:64] if "\x00" not in username else "",
            "errors": errors_dict(exc.errors),
            "message": exc.detail,
        }
        return page(request, "identity/login.html", context, status_code=exc.status, headers=exc.headers)
    token = await auth.start_session(
        user, client_info(request.scope), replaces=_session_token(request) or _cookie(request)
    )
    response: Response[Any] = Redirect(next_url, status_code=303)
    return _with_session_cookie(request, response, token)


def _cookie(request: Request[Any, Any, Any]) -> str | None:
    return request.cookies.get(auth.SESSION_COOKIE)


@post("/logout", operation_id="logout", include_in_schema=False, opt=PUBLIC)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    token = _session_token(request) or _cookie(request)
    if token:
        await auth.end_session(token, request.scope.get("actor"))  # type: ignore[arg-type]
    response: Response[Any] = Redirect("/login", status_code=303)
    response.headers["Set-Cookie"] = cookie_header(None, secure=request.app.state.cookie_secure).decode()
    return response


# ---- enrolment and reset links -------------------------------------------------------------------


def _qr(secret: str, username: str) -> Markup:
    from portal.lib import security

    svg = segno.make(security.provisioning_uri(secret, username), error="m").svg_inline(
        scale=4, omitsize=False
    )
    return Markup(svg)  # noqa: S704 - segno's own SVG, built from our secret and a validated username


async def _link_invalid(request: Request[Any, Any, Any], exc: NeracaError) -> Response[str]:
    return page(request, "identity/link_invalid.html", {"detail": exc.detail}, status_code=410)


async def _enroll_page(
    request: Request[Any, Any, Any], token: str, errors: dict[str, Any], status: int = 200
) -> Response[str]:
    user = await auth.token_user(token, "enroll")
    secret = await auth.enrolment_secret(user)
    context = {
        "token": token,
        "enrollee": user,
        "secret": secret,
        "qr_svg": _qr(secret, user.username),
        "errors": errors,
    }
    return page(request, "identity/enroll.html", context, status_code=status)


@get("/enroll/{token:str}", operation_id="enroll_form", include_in_schema=False, opt=PUBLIC)
async def enroll_form(request: Request[Any, Any, Any], token: str) -> Response[str]:
    try:
        return await _enroll_page(request, token, {})
    except auth.LinkInvalid as exc:
        return await _link_invalid(request, exc)


@post("/enroll/{token:str}", operation_id="enroll", include_in_schema=False, opt=PUBLIC)
async def enroll(request: Request[Any, Any, Any], token: str) -> Response[str]:
    data = await form(request)
    try:
        _user, codes = await auth.complete_enrolment(
            token,
            data.get("password", ""),
            data.get("password_confirm", ""),
            data.get("otp", ""),
            client_info(request.scope),
        )
    except auth.LinkInvalid as exc:
        return await _link_invalid(request, exc)
    except ValidationFailed as exc:
        return await _enroll_page(request, token, errors_dict(exc.errors), status=422)
    return page(request, "identity/recovery_codes.html", {"codes": codes})


@get("/reset/{token:str}", operation_id="reset_form", include_in_schema=False, opt=PUBLIC)
async def reset_form(request: Request[Any, Any, Any], token: str) -> Response[str]:
    try:
        user = await auth.token_user(token, "reset")
    except auth.LinkInvalid as exc:
        return await _link_invalid(request, exc)
    return page(request, "identity/reset.html", {"token": token, "enrollee": user, "errors": {}})


@post("/reset/{token:str}", operation_id="reset", include_in_schema=False, opt=PUBLIC)
async def reset(request: Request[Any, Any, Any], token: str) -> Response[Any]:
    data = await form(request)
    try:
        await auth.complete_reset(
            token,
            data.get("password", ""),
            data.get("password_confirm", ""),
            data.get("otp", ""),
            client_info(request.scope),
        )
    except auth.LinkInvalid as exc:
        return await _link_invalid(request, exc)
    except ValidationFailed as exc:
        user = await auth.token_user(token, "reset")
        return page(
            request,
            "identity/reset.html",
            {"token": token, "enrollee": user, "errors": errors_dict(exc.errors)},
            status_code=422,
        )
    return Redirect("/login", status_code=303)


ROUTES: list[Any] = [login_form, login, logout, enroll_form, enroll, reset_form, reset]
