"""The Jinja2 environment (i18n, money and WIB date filters) and page rendering with htmx fragments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
from babel.numbers import format_decimal
from jinja2_fragments import render_block
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.plugins.htmx import TriggerEvent
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.base import csrf_token

import portal
from portal.lib import i18n
from portal.lib.money import format_money, format_signed
from portal.lib.timefmt import format_wib_date, format_wib_datetime
from portal.server.discovery import domain_modules
from portal.server.forms import htmx
from portal.server.nav import build_nav
from portal.settings import get_settings


def _money(amount: int | None, currency: str = "IDR") -> str:
    return format_money(amount, currency, i18n.babel_locale())


def _signed_money(amount: int | None, currency: str = "IDR") -> str:
    return format_signed(amount, currency, i18n.babel_locale())


def _datetime(value: Any) -> str:
    return format_wib_datetime(value, i18n.babel_locale())


def _date(value: Any) -> str:
    return format_wib_date(value, i18n.babel_locale())


def _number(value: int | float | None) -> str:
    """A count in the request's locale: 12,345 in English, 12.345 in Indonesian."""
    return format_decimal(value or 0, locale=i18n.babel_locale())


def _file_size(size: int | None) -> str:
    n = size or 0
    return i18n.ngettext("%(num)s byte", "%(num)s bytes", n) % {"num": _number(n)}


def build_environment() -> jinja2.Environment:
    settings = get_settings()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(settings.templates_dir)),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined if settings.debug else jinja2.Undefined,
        extensions=["jinja2.ext.i18n"],
        enable_async=False,
        auto_reload=settings.debug,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext, npgettext=i18n.npgettext
    )
    env.filters["money"] = _money
    env.filters["signed_money"] = _signed_money
    env.filters["datetime"] = _datetime
    env.filters["date"] = _date
    env.filters["number"] = _number
    env.filters["file_size"] = _file_size
    env.globals["static"] = lambda path: f"/static/{path}"
    env.globals["app_version"] = portal.__version__
    # Each domain's labels for its stored codes ("transaction_kind", "account_kind", …), found by name.
    for labels in domain_modules("labels"):
        env.filters.update(getattr(labels, "TEMPLATE_FILTERS", {}))
        env.globals.update(getattr(labels, "TEMPLATE_GLOBALS", {}))
    return env


_ENVIRONMENT: jinja2.Environment | None = None


def environment() -> jinja2.Environment:
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        _ENVIRONMENT = build_environment()
    return _ENVIRONMENT


def template_engine() -> JinjaTemplateEngine:
    return JinjaTemplateEngine.from_environment(environment())


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return bool(htmx(request))


def wants_fragment(request: Request[Any, Any, Any]) -> bool:
    """htmx requests get a block; boosted navigation and history restores get the whole page."""
    details = htmx(request)
    return bool(details) and not details.boosted and not details.history_restore_request


def common_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    state = request.scope.get("state", {})
    user = request.scope.get("user")
    context: dict[str, Any] = {
        "request": request,
        "csp_nonce": state.get("csp_nonce", ""),
        "request_id": state.get("request_id", ""),
        "lang": i18n.current_language.get(),
        "languages": i18n.LANGUAGES,
        "user": user,
        "nav": build_nav(request, user),
        "environment": get_settings().environment,
    }
    context["csrf_token"] = lambda: csrf_token(context)
    return context


def _blocks(env: jinja2.Environment, template_name: str) -> Mapping[str, Any]:
    return env.get_template(template_name).blocks


def _title_element(env: jinja2.Environment, template_name: str, context: Mapping[str, Any]) -> str:
    """The page's `<title>` as base.html writes it, or "" for a template without a title block."""
    if "title" not in _blocks(env, template_name):
        return ""
    text = render_block(env, template_name, "title", context).strip()
    return f"<title>{text} · Neraca</title>" if text else "<title>Neraca</title>"


def render_html(
    request: Request[Any, Any, Any],
    template_name: str,
    context: Mapping[str, Any] | None = None,
    *,
    block: str | None = None,
) -> str:
    full_context = {**common_context(request), **(context or {})}
    env = environment()
    if block is not None:
        # Positional: the context has a key `environment`, which is also render_block's first parameter.
        html = render_block(env, template_name, block, full_context)
        if block == "content":
            details = htmx(request)
            if details and details.target == "main" and "page_header" in _blocks(env, template_name):
                # The whole of <main> is swapped (a create, a page loaded into it): its header too.
                html = render_block(env, template_name, "page_header", full_context) + html
            # htmx takes a top-level <title> of a swapped page as the document's title.
            html = _title_element(env, template_name, full_context) + html
        return html
    return env.get_template(template_name).render(**full_context)


def page(
    request: Request[Any, Any, Any],
    template_name: str,
    context: Mapping[str, Any] | None = None,
    *,
    block: str = "content",
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    toast: tuple[str, str] | None = None,
) -> Response[str]:
    """Render a page, or only `block` of it for an htmx request; `toast` = (level, message) as an htmx
    trigger event."""
    html = render_html(request, template_name, context, block=block if wants_fragment(request) else None)
    if toast is not None:
        event = TriggerEvent(
            html,
            name="toast",
            params={"level": toast[0], "message": toast[1]},
            after="receive",
            status_code=status_code,
            media_type=MediaType.HTML,
        )
        event.headers.update(headers or {})
        return event
    return Response(html, status_code=status_code, media_type=MediaType.HTML, headers=headers)
