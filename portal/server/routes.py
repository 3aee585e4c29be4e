"""Platform routes: health, readiness, metrics, language switch."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from portal.lib import i18n
from portal.lib.errors import FieldError, NotFound, ValidationFailed


@get("/healthz", operation_id="healthz", include_in_schema=False, sync_to_thread=False)
def healthz() -> dict[str, str]:
    """The process is up (no database call)."""
    return {"status": "ok"}


@get("/readyz", operation_id="readyz", include_in_schema=False)
async def readyz() -> Response[dict[str, Any]]:
    """Ready when the database answers, every migration has been applied and each domain's write path
    works (a domain declares `health.readiness()`, as it declares its routes)."""
    from portal.db.migrate import pending_migrations
    from portal.db.tables import SystemSetting

    try:
        await SystemSetting.raw("SELECT 1")
        pending = await pending_migrations()
    except Exception as exc:  # readiness reports the failure rather than raising it
        return Response(
            {"status": "unavailable", "database": "unreachable", "error": f"{exc.__class__.__name__}: {exc}"},
            status_code=503,
        )
    if pending:
        return Response(
            {"status": "unavailable", "database": "ok", "pending_migrations": pending}, status_code=503
        )
    problems: dict[str, str] = {}
    for check in _readiness_checks():
        problems.update(await check() or {})
    if problems:
        return Response({"status": "unavailable", "database": "ok", **problems}, status_code=503)
    return Response({"status": "ok", "database": "ok", "pending_migrations": []}, status_code=200)


@functools.cache
def _readiness_checks() -> list[Callable[[], Awaitable[dict[str, str] | None]]]:
    from portal.server.discovery import domain_modules

    return [module.readiness for module in domain_modules("health")]


@get("/metrics", operation_id="metrics", include_in_schema=False, sync_to_thread=False)
def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus metrics of this process: for a local scraper that comes through no proxy, or one that
    presents NERACA_METRICS_TOKEN; anyone else (whatever spelling of the path) gets 404."""
    from portal.server.middleware import metrics_allowed

    if not metrics_allowed(request.scope):
        raise NotFound(i18n.gettext("There is nothing at this address."))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@get("/api/docs", operation_id="api_docs", include_in_schema=False)
async def api_docs(request: Request[Any, Any, Any]) -> Response[str]:
    """Interactive API documentation (Swagger UI, vendored) over /api/openapi.json."""
    from portal.server.middleware import content_security_policy
    from portal.server.templating import render_html

    nonce = request.scope.get("state", {}).get("csp_nonce", "")
    # Swagger UI sets style attributes while rendering: this page (no tenant data) allows inline styles.
    csp = content_security_policy(nonce).replace(
        f"style-src 'self' 'nonce-{nonce}'", "style-src 'self' 'unsafe-inline'"
    )
    return Response(
        render_html(request, "api_docs.html"),
        media_type="text/html",
        headers={"Content-Security-Policy": csp},
    )


class LanguageForm(msgspec.Struct, forbid_unknown_fields=False):
    language: str = ""
    next: str = "/"


def safe_next(target: str) -> str:
    """Only same-site relative paths; anything else (//evil, https://…) goes to the dashboard."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target or "\n" in target:
        return "/"
    return target


@post("/language", operation_id="set_language", include_in_schema=False, status_code=303)
async def set_language(
    request: Request[Any, Any, Any],
    data: Annotated[LanguageForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    if data.language not in i18n.LANGUAGE_CODES:
        raise ValidationFailed(
            i18n.gettext("Unknown language %(language)r.") % {"language": data.language},
            errors=[FieldError("language", i18n.gettext("Choose English or Bahasa Indonesia."))],
        )
    hook = getattr(request.app.state, "on_language_change", None)
    if hook is not None:
        await hook(request, data.language)
    response = Redirect(safe_next(data.next), status_code=303)
    response.set_cookie(
        i18n.LANGUAGE_COOKIE,
        data.language,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=request.app.state.cookie_secure,
    )
    return response


ROUTES = [healthz, readyz, metrics, set_language, api_docs]
