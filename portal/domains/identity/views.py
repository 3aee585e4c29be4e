"""Identity pages: sign-in, enrolment, password reset, account settings, sessions, users, API keys,
business settings and the local mail outbox. Thin controllers over services/auth."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import segno
from litestar import Request, Response, get, post
from litestar.response import Redirect
from markupsafe import Markup

from portal.domains.identity import auth, mail, roles, services
from portal.domains.identity.server_hooks import client_info, cookie_header
from portal.lib.actor import Actor
from portal.lib.errors import NeracaError, NotFound, RateLimited, ValidationFailed
from portal.lib.i18n import gettext
from portal.server.forms import (
    check_text,
    field_errors,
    handle_form,
    htmx,
    pages_router,
    posted,
    read_form,
    see_other,
    shown_back,
)
from portal.server.guards import ACTOR_DEPENDENCY, requires, signed_in
from portal.server.nav import MENUS
from portal.server.routes import safe_next
from portal.server.templating import page
from portal.settings import get_settings

PUBLIC = {"public": True}


def _session_token(request: Request[Any, Any, Any]) -> str | None:
    state = request.scope.get("state", {})
    return state.get("session_token")


def _with_session_cookie(
    request: Request[Any, Any, Any], response: Response[Any], token: str
) -> Response[Any]:
    response.headers["Set-Cookie"] = cookie_header(token, secure=request.app.state.cookie_secure).decode()
    return response


# ---- sign in / out -------------------------------------------------------------------------------


@get("/login", operation_id="login_form", opt=PUBLIC)
async def login_form(request: Request[Any, Any, Any], next: str = "/") -> Response[str]:
    if request.scope.get("user") is not None:
        return Redirect(safe_next(next), status_code=303)
    return page(request, "identity/login.html", {"next": safe_next(next), "username": "", "errors": {}})


@post("/login", operation_id="login", opt=PUBLIC)
async def login(request: Request[Any, Any, Any]) -> Response[str]:
    data = await posted(request)
    next_url = safe_next(data.get("next", "/"))
    username = data.get("username", "")
    try:
        check_text(data)
        user = await auth.authenticate(
            username, data.get("password", ""), data.get("otp", ""), client_info(request.scope)
        )
    except (auth.LoginFailed, ValidationFailed, RateLimited) as exc:
        context = {
            "next": next_url,
            "username": shown_back({"username": username[:64]})["username"],
            "errors": field_errors(exc.errors),
            "message": exc.detail,
        }
        return page(request, "identity/login.html", context, status_code=exc.status, headers=exc.headers)
    token = await auth.start_session(
        user, client_info(request.scope), replaces=_session_token(request) or _cookie(request)
    )
    return _with_session_cookie(request, see_other(request, next_url), token)


def _cookie(request: Request[Any, Any, Any]) -> str | None:
    return request.cookies.get(auth.SESSION_COOKIE)


@post("/logout", operation_id="logout", opt=PUBLIC)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    token = _session_token(request) or _cookie(request)
    if token:
        await auth.end_session(token, request.scope.get("actor"))  # type: ignore[arg-type]
    response = see_other(request, "/login")
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


@get("/enroll/{token:str}", operation_id="enroll_form", opt=PUBLIC)
async def enroll_form(request: Request[Any, Any, Any], token: str) -> Response[str]:
    try:
        return await _enroll_page(request, token, {})
    except auth.LinkInvalid as exc:
        return await _link_invalid(request, exc)


@post("/enroll/{token:str}", operation_id="enroll", opt=PUBLIC)
async def enroll(request: Request[Any, Any, Any], token: str) -> Response[str]:
    try:
        data = await read_form(request)
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
        return await _enroll_page(request, token, field_errors(exc.errors), status=422)
    return page(request, "identity/recovery_codes.html", {"codes": codes})


@get("/reset/{token:str}", operation_id="reset_form", opt=PUBLIC)
async def reset_form(request: Request[Any, Any, Any], token: str) -> Response[str]:
    try:
        user = await auth.token_user(token, "reset")
    except auth.LinkInvalid as exc:
        return await _link_invalid(request, exc)
    return page(request, "identity/reset.html", {"token": token, "enrollee": user, "errors": {}})


@post("/reset/{token:str}", operation_id="reset", opt=PUBLIC)
async def reset(request: Request[Any, Any, Any], token: str) -> Response[Any]:
    try:
        data = await read_form(request)
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
            {"token": token, "enrollee": user, "errors": field_errors(exc.errors)},
            status_code=422,
        )
    return see_other(request, "/login")


_HANDLERS: list[Any] = [login_form, login, logout, enroll_form, enroll, reset_form, reset]


# ---- manage users (menu "users") -----------------------------------------------------------------


def _role_options() -> list[tuple[str, str]]:
    return [(key, gettext(label)) for key, label in roles.ROLE_LABELS.items()]


def _menu_rows(rights: frozenset[str]) -> list[dict[str, str]]:
    return [{"key": m.key, "label": gettext(m.label), "level": roles.level_of(rights, m.key)} for m in MENUS]


def _rights_from_form(data: dict[str, str]) -> frozenset[str]:
    rights = set()
    for menu in MENUS:
        level = data.get(f"right_{menu.key}", "none")
        if level in ("view", "manage"):
            rights.add(f"{menu.key}:{level}")
    return frozenset(rights)


@get(
    "/users",
    operation_id="users_list",
    guards=[requires("users")],
)
async def users_list(
    request: Request[Any, Any, Any], actor: Actor, q: str = "", role: str = "", status: str = ""
) -> Response[str]:
    q, role, status = (
        q[:100],
        role if role in roles.ROLES else "",
        status if status in ("active", "locked") else "",
    )
    users = await services.list_users(actor, q=q, role=role, status=status)
    context = {
        "users": users,
        "q": q,
        "role": role,
        "status": status,
        "role_options": _role_options(),
        "can_manage": actor.can("users", "manage"),
    }
    block = "results" if htmx(request).target == "user-results" else "content"
    return page(request, "identity/users.html", context, block=block)


@get(
    "/users/new",
    operation_id="users_new",
    guards=[requires("users", "manage")],
)
async def users_new(
    request: Request[Any, Any, Any], actor: Actor, scope_account_id: str = "", role: str = ""
) -> Response[str]:
    """The new-user form; opened from an account's page it starts scoped to that account."""
    options = await services.scope_options(actor)
    scope = scope_account_id if scope_account_id in {value for value, _ in options} else ""
    if not scope and actor.scope_account_id:
        scope = actor.scope_account_id
    chosen = role if role in roles.ROLES else ("partner" if scope else "viewer")
    return page(
        request,
        "identity/user_new.html",
        {
            "form": {"role": chosen, "language": "en", "scope_account_id": scope},
            "errors": {},
            "role_options": _role_options(),
            "scope_options": options,
        },
    )


@post(
    "/users",
    operation_id="users_create",
    guards=[requires("users", "manage")],
)
async def users_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    async def create(data: dict[str, str]) -> services.User:
        return await services.create_user(
            actor,
            username=data.get("username", ""),
            full_name=data.get("full_name", ""),
            email=data.get("email", ""),
            mobile=data.get("mobile", ""),
            role=data.get("role", ""),
            scope_account_id=data.get("scope_account_id") or None,
            language=data.get("language", "en"),
        )

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        context = {
            "form": data,
            "errors": errors,
            "role_options": _role_options(),
            "scope_options": await services.scope_options(actor),
            "message": message,
        }
        return page(request, "identity/user_new.html", context)

    return await handle_form(
        request, create, render=render, success=lambda user: f"/users/{user.id}?created=1"
    )


@get(
    "/users/{user_id:str}",
    operation_id="users_detail",
    guards=[requires("users")],
)
async def users_detail(request: Request[Any, Any, Any], actor: Actor, user_id: str) -> Response[str]:
    target = await services.get_user(actor, user_id)
    if actor.scope_account_id is not None and target.scope_account_id != actor.scope_account_id:
        raise NotFound(gettext("There is no such user."))
    return await _user_page(
        request,
        actor,
        target,
        {},
        notice=gettext("User added. An enrolment link was e-mailed.")
        if request.query_params.get("created")
        else None,
    )


async def _target_scope_options(actor: Actor, target: services.User) -> list[tuple[str, str]]:
    """The picker for `target`'s scope; their current scope stays listed (and selected) even where the
    editor could not give it, so the form shows what is set rather than silently offering another."""
    options = await services.scope_options(actor)
    current = target.scope_account_id or ""
    if current not in {value for value, _ in options}:
        options = [(current, current or gettext("Whole business")), *options]
    return options


async def _user_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    target: services.User,
    errors: dict[str, Any],
    *,
    notice: str | None = None,
    status: int = 200,
    form_data: dict[str, str] | None = None,
) -> Response[str]:
    context = {
        "target": target,
        "errors": errors,
        "role_options": _role_options(),
        "scope_options": await _target_scope_options(actor, target),
        "menu_rows": _menu_rows(target.rights),
        "levels": [("none", gettext("No access")), ("view", gettext("View")), ("manage", gettext("Manage"))],
        "can_manage": actor.can("users", "manage")
        and (target.role != "owner" or actor.extra.get("is_owner")),
        "is_self": target.id == actor.user_id,
        "notice": notice,
        "form": form_data or {},
    }
    return page(request, "identity/user_detail.html", context, status_code=status)


@post(
    "/users/{user_id:str}",
    operation_id="users_update",
    guards=[requires("users", "manage")],
)
async def users_update(request: Request[Any, Any, Any], actor: Actor, user_id: str) -> Response[Any]:
    async def update(data: dict[str, str]) -> None:
        role = data.get("role", "")
        rights = (
            roles.ROLE_PRESETS.get(role, frozenset()) if data.get("use_preset") else _rights_from_form(data)
        )
        await services.update_user(
            actor,
            user_id,
            full_name=data.get("full_name", ""),
            mobile=data.get("mobile", ""),
            role=role,
            rights=rights,
            scope_account_id=data.get("scope_account_id") or None,
        )

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        target = await services.get_user(actor, user_id)
        return await _user_page(request, actor, target, errors, form_data=data)

    return await handle_form(request, update, render=render, success=lambda _: f"/users/{user_id}")


def _user_action(name: str, path: str, action: Any) -> Any:
    @post(
        f"/users/{{user_id:str}}/{path}",
        operation_id=f"users_{name}",
        guards=[requires("users", "manage")],
        name=f"users_{name}",
    )
    async def handler(request: Request[Any, Any, Any], actor: Actor, user_id: str) -> Response[Any]:
        await action(actor, user_id)
        return see_other(request, f"/users/{user_id}")

    return handler


async def _lock(actor: Actor, user_id: str) -> None:
    await services.set_status(actor, user_id, "locked")


async def _unlock(actor: Actor, user_id: str) -> None:
    await services.set_status(actor, user_id, "active")


users_lock = _user_action("lock", "lock", _lock)
users_unlock = _user_action("unlock", "unlock", _unlock)
users_reset_password = _user_action("reset_password", "reset-password", services.reset_password)
users_reset_authenticator = _user_action(
    "reset_authenticator", "reset-authenticator", services.reset_authenticator
)
users_resend = _user_action("resend_enrolment", "resend-enrolment", services.resend_enrolment)


# ---- own account (icon menu) ---------------------------------------------------------------------


async def _account_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    *,
    errors: dict[str, Any] | None = None,
    codes: list[str] | None = None,
    notice: str | None = None,
    status: int = 200,
    section: str = "",
) -> Response[str]:
    me = await services.user_by_id(actor.user_id or "")
    sessions = await auth.list_sessions(actor.user_id or "")
    current = request.scope.get("state", {}).get("session_token_hash")
    context = {
        "me": me,
        "sessions": sessions,
        "current_session": current,
        "errors": errors or {},
        "codes": codes,
        "notice": notice,
        "section": section,
        "language_options": [("en", "English"), ("id", "Bahasa Indonesia")],
    }
    return page(request, "identity/account.html", context, status_code=status)


async def _account_change(
    request: Request[Any, Any, Any],
    actor: Actor,
    section: str,
    change: Callable[[dict[str, str]], Awaitable[Any]],
    success: Callable[[Any], str | Response[Any] | Awaitable[str | Response[Any]]] | None = None,
) -> Response[Any]:
    """An account-settings form post: apply `change` to the form data, back to /account, or the page again
    with the refusal under `section` (422)."""

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        return await _account_page(request, actor, errors=errors, section=section)

    return await handle_form(request, change, render=render, success=success or (lambda _: "/account"))


@get("/account", operation_id="account", guards=[signed_in])
async def account(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    return await _account_page(request, actor)


@post(
    "/account/profile",
    operation_id="account_profile",
    guards=[signed_in],
)
async def account_profile(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    return await _account_change(
        request,
        actor,
        "profile",
        lambda data: auth.update_profile(
            actor,
            full_name=data.get("full_name", ""),
            mobile=data.get("mobile", ""),
            language=data.get("language", ""),
        ),
    )


@post(
    "/account/password",
    operation_id="account_password",
    guards=[signed_in],
)
async def account_password(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    token = _session_token(request)

    async def changed(_: Any) -> Response[Any]:
        response = see_other(request, "/account")
        rotated = await auth.rotate_session(token) if token else None
        return _with_session_cookie(request, response, rotated) if rotated else response

    return await _account_change(
        request,
        actor,
        "password",
        lambda data: auth.change_password(
            actor,
            current_password=data.get("current_password", ""),
            otp=data.get("otp", ""),
            new_password=data.get("new_password", ""),
            confirm=data.get("new_password_confirm", ""),
            keep_session=token,
        ),
        changed,
    )


@post(
    "/account/email",
    operation_id="account_email",
    guards=[signed_in],
)
async def account_email(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    return await _account_change(
        request,
        actor,
        "email",
        lambda data: auth.change_email(
            actor,
            current_password=data.get("current_password", ""),
            otp=data.get("otp", ""),
            email=data.get("email", ""),
        ),
    )


@post(
    "/account/recovery-codes",
    operation_id="account_recovery_codes",
    guards=[signed_in],
)
async def account_recovery_codes(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    def shown(codes: list[str]) -> Response[Any]:
        context = {
            "codes": codes,
            "continue_href": "/account",
            "continue_label": gettext("Back to your account"),
        }
        return page(request, "identity/recovery_codes.html", context)

    return await _account_change(
        request,
        actor,
        "recovery",
        lambda data: auth.regenerate_recovery_codes(
            actor, current_password=data.get("current_password", ""), otp=data.get("otp", "")
        ),
        shown,
    )


@post(
    "/account/sessions/{public_id:str}/revoke",
    operation_id="account_session_revoke",
    guards=[signed_in],
)
async def account_session_revoke(
    request: Request[Any, Any, Any], actor: Actor, public_id: str
) -> Response[Any]:
    await auth.revoke_session(actor, public_id)
    return see_other(request, "/account")


# ---- API keys (menu "developers") ----------------------------------------------------------------


def _permission_rows() -> list[dict[str, str]]:
    return [{"key": m.key, "label": gettext(m.label)} for m in MENUS]


@get(
    "/developers",
    operation_id="developers",
    guards=[requires("developers")],
)
async def developers(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    return await _developers_page(request, actor)


@post(
    "/developers/keys",
    operation_id="developers_key_create",
    guards=[requires("developers", "manage")],
)
async def developers_key_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    async def create(data: dict[str, str]) -> tuple[Any, str]:
        return await services.create_api_key(
            actor,
            name=data.get("name", ""),
            permissions=_rights_from_form(data),
            scope_account_id=data.get("scope_account_id") or None,
        )

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        return await _developers_page(request, actor, errors=errors, form=data)

    async def created(result: tuple[Any, str]) -> Response[Any]:
        key, secret = result
        return await _developers_page(request, actor, created=key, secret=secret)

    return await handle_form(request, create, render=render, success=created)


async def _developers_page(request: Request[Any, Any, Any], actor: Actor, **extra: Any) -> Response[str]:
    context = {
        "keys": await services.list_api_keys(actor),
        "errors": {},
        "menu_rows": _permission_rows(),
        "can_manage": actor.can("developers", "manage"),
        "scope_options": await services.scope_options(actor),
        **extra,
    }
    return page(request, "identity/developers.html", context)


@post(
    "/developers/keys/{key_id:str}/revoke",
    operation_id="developers_key_revoke",
    guards=[requires("developers", "manage")],
)
async def developers_key_revoke(request: Request[Any, Any, Any], actor: Actor, key_id: str) -> Response[Any]:
    await services.revoke_api_key(actor, key_id)
    return see_other(request, "/developers")


# ---- business settings (menu "settings") ---------------------------------------------------------


@get(
    "/settings",
    operation_id="settings",
    guards=[requires("settings")],
)
async def settings_page(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    business = await services.get_business(actor.business_id)
    return page(
        request,
        "identity/settings.html",
        {"business": business, "errors": {}, "can_manage": actor.can("settings", "manage")},
    )


@post(
    "/settings",
    operation_id="settings_update",
    guards=[requires("settings", "manage")],
)
async def settings_update(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    async def update(data: dict[str, str]) -> None:
        await services.update_business(
            actor,
            name=data.get("name", ""),
            default_language=data.get("default_language", ""),
            mode=data.get("mode", ""),
            fees={kind: data.get(f"fee_{kind}", "") for kind in services.FEE_KINDS},
            code_above=data.get("code_above"),
        )

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        business = await services.get_business(actor.business_id)
        context = {"business": business, "errors": errors, "can_manage": True, "form": data}
        return page(request, "identity/settings.html", context)

    return await handle_form(request, update, render=render, success=lambda _: "/settings")


# ---- local mail outbox ---------------------------------------------------------------------------


def _outbox_allowed(request: Request[Any, Any, Any]) -> bool:
    from portal.server.middleware import is_local_request

    settings = get_settings()
    return is_local_request(request.scope) and not settings.smtp.configured and not settings.is_production


@get("/dev/mail", operation_id="mail_outbox", opt=PUBLIC)
async def mail_outbox(request: Request[Any, Any, Any]) -> Response[str]:
    """Mail that would have been sent (only without SMTP, only from this machine, never in production)."""
    if not _outbox_allowed(request):
        raise NotFound(gettext("There is nothing at this address."))
    return page(request, "identity/outbox.html", {"mails": await mail.outbox()})


_HANDLERS += [
    users_list,
    users_new,
    users_create,
    users_detail,
    users_update,
    users_lock,
    users_unlock,
    users_reset_password,
    users_reset_authenticator,
    users_resend,
    account,
    account_profile,
    account_password,
    account_email,
    account_recovery_codes,
    account_session_revoke,
    developers,
    developers_key_create,
    developers_key_revoke,
    settings_page,
    settings_update,
    mail_outbox,
]

ROUTES = [pages_router(ACTOR_DEPENDENCY, _HANDLERS)]
