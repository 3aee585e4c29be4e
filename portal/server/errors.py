"""One place mapping exceptions to responses: problem+json under /api/, HTML pages or fragments elsewhere."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from portal.lib.errors import N_, FieldError, NeracaError
from portal.lib.i18n import gettext
from portal.lib.sql import NoConnection, connection_lost
from portal.server.templating import render_html, wants_fragment

log = structlog.get_logger("neraca.errors")

PROBLEM_BASE = "https://neraca.dev/problems/"
HTML_PAGES = {403, 404, 429, 500}
TITLES = {
    400: N_("Bad request"),
    401: N_("Authentication required"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Request too large"),
    415: N_("Unsupported media type"),
    422: N_("The request has invalid fields"),
    429: N_("Too many requests"),
    500: N_("Something went wrong on our side"),
    503: N_("Service unavailable"),
}
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


class ProblemFieldError(msgspec.Struct):
    pointer: str
    detail: str
    code: str


class Problem(msgspec.Struct):
    """RFC 9457 problem details, as every /api/ error is answered."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ProblemFieldError]
    request_id: str


_PROBLEM_STATUSES = {
    400: "The request is malformed.",
    401: "Missing, invalid or expired credentials or signature (`unauthorized`, `invalid_signature`, "
    "`timestamp_out_of_range`, `request_id_reused`).",
    403: "The API key lacks the permission (`forbidden`).",
    404: "No such object in this business or scope (`not_found`).",
    409: "Conflict (`duplicate_reference`, `request_in_progress`, or a state that does not allow this).",
    422: "Invalid input (`validation_failed`, `unknown_field`, `insufficient_funds`, "
    "`idempotency_key_reused`, …).",
    429: "Rate limited; see `Retry-After` (`rate_limited`).",
}


def document_problems(handler: Any) -> None:
    """Declare the problem+json error answers of an /api/v1 handler in the OpenAPI document."""
    from litestar.openapi.datastructures import ResponseSpec

    responses = dict(handler.responses or {})
    for status, description in _PROBLEM_STATUSES.items():
        responses.setdefault(
            status,
            ResponseSpec(
                data_container=Problem,
                description=description,
                media_type="application/problem+json",
                generate_examples=False,
            ),
        )
    handler.responses = responses


def is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/")


def _request_id(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def problem_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "errors": [e.as_dict() for e in errors or []],
        "request_id": _request_id(request),
    }
    if extra:
        body.update(extra)
    return Response(
        content=json.dumps(body).encode(),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


class _PageOnceSignedIn(Response[Any]):
    """An error page rendered after the visitor's session is read.

    An unknown address is refused by routing, before the sign-in middleware runs: without this the
    404 would show the signed-out layout to a signed-in user."""

    def __init__(self, load_user: Callable[[Any], Awaitable[None]], render: Callable[[], Response[Any]]):
        super().__init__(content=b"", status_code=404)
        self._load_user = load_user
        self._render = render

    def to_asgi_response(self, app: Any, request: Request[Any, Any, Any], **kwargs: Any) -> Any:
        async def respond(scope: Any, receive: Any, send: Any) -> None:
            try:
                await self._load_user(scope)
            except Exception:  # an unreadable session only costs the layout, never the 404 itself
                log.warning("session not read for the error page", exc_info=True)
            await self._render().to_asgi_response(app, request, **kwargs)(scope, receive, send)

        return respond


def html_error_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    load_user = getattr(request.app.state, "load_user", None)
    if status == 404 and request.scope.get("user") is None and load_user is not None:
        return _PageOnceSignedIn(
            load_user,
            lambda: _html_error_page(
                request, status=status, title=title, detail=detail, errors=errors, headers=headers
            ),
        )
    return _html_error_page(
        request, status=status, title=title, detail=detail, errors=errors, headers=headers
    )


def _html_error_page(
    request: Request[Any, Any, Any],
    *,
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None,
    headers: dict[str, str] | None,
) -> Response[Any]:
    template = f"errors/{status}.html" if status in HTML_PAGES else "errors/generic.html"
    context = {
        "status": status,
        "title": gettext(title),
        "detail": detail,
        "errors": errors or [],
        "request_id": _request_id(request),
    }
    response_headers = dict(headers or {})
    fragment = wants_fragment(request)
    if fragment:
        # htmx does not swap error responses into the target by default: point it at the main area.
        response_headers.update({"HX-Retarget": "#main", "HX-Reswap": "innerHTML"})
    try:
        html = render_html(request, template, context, block="content" if fragment else None)
    except Exception:  # the error page itself failed: never answer with a second traceback
        log.exception("error page failed to render", template=template)
        html = f"<h1>{status}</h1><p>{title}</p><p>Reference: {_request_id(request)}</p>"
    return Response(content=html, status_code=status, media_type=MediaType.HTML, headers=response_headers)


def _respond(
    request: Request[Any, Any, Any],
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[Any]:
    title = gettext(title)
    if is_api(request):
        return problem_response(
            request,
            status=status,
            code=code,
            title=title,
            detail=detail,
            errors=errors,
            headers=headers,
            extra=extra,
        )
    return html_error_response(
        request, status=status, title=title, detail=detail, errors=errors, headers=headers
    )


def neraca_error_handler(request: Request[Any, Any, Any], exc: NeracaError) -> Response[Any]:
    return _respond(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extra=exc.extra,
    )


def _validation_errors(exc: ValidationException) -> tuple[str, list[FieldError]]:
    errors: list[FieldError] = []
    code = "validation_failed"
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid"))
        key = str(item.get("key", "") or "")
        if "unknown field" in message:
            code = "unknown_field"
        pointer = "/" + key.replace(".", "/") if key and not key.startswith("/") else key or "/"
        errors.append(
            FieldError(pointer, message, "unknown_field" if "unknown field" in message else "invalid")
        )
    return code, errors


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    detail = exc.detail or gettext(TITLES.get(status, N_("Error")))
    code = CODES.get(status, "error")
    errors: list[FieldError] = []
    if isinstance(exc, ValidationException):
        status = 422
        code, errors = _validation_errors(exc)
        detail = errors[0].detail if len(errors) == 1 else gettext(N_("Some fields are invalid."))
        if not errors:
            detail = exc.detail or gettext(N_("The request body is not valid."))
    elif isinstance(exc, NotFoundException):
        detail = gettext(N_("There is nothing at this address."))
    elif isinstance(exc, PermissionDeniedException) and "CSRF" in (exc.detail or ""):
        code = "csrf_failed"
        detail = gettext(
            N_("The form's security token is missing or out of date. Reload the page and try again.")
        )
    elif isinstance(exc, PermissionDeniedException):
        # The 403 page explains it in the user's language; a guard's own wording is not for users.
        detail = gettext(N_("These credentials do not allow this request.")) if is_api(request) else ""
    elif isinstance(exc, NotAuthorizedException):
        detail = exc.detail or gettext(N_("Sign in first."))
    headers = dict(exc.headers or {})
    if status >= 500:
        log.error("http error", status=status, detail=exc.detail)
        detail = gettext(N_("An unexpected error happened. It has been logged."))
    return _respond(
        request,
        status=status,
        code=code,
        title=TITLES.get(status, N_("Error")),
        detail=detail,
        errors=errors,
        headers=headers,
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # A read outside `transaction()` (authentication, a page's queries) meets a lost database as the
    # driver's own errors: the same 503 as NoConnection, not a 500.
    if connection_lost(exc):
        return no_connection_handler(request, NoConnection(f"{exc.__class__.__name__}: {exc}"))
    log.exception("unhandled error", path=request.url.path, method=request.method, exc_info=exc)
    return _respond(
        request,
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        code="internal_error",
        title=TITLES[500],
        detail=gettext(
            N_("An unexpected error happened. It has been logged; quote the reference to support.")
        ),
    )


def no_connection_handler(request: Request[Any, Any, Any], exc: NoConnection) -> Response[Any]:
    """The database cannot be reached: a 503 to retry, not a 500 (nothing was written)."""
    log.warning("database unreachable", path=request.url.path, error=str(exc))
    return _respond(
        request,
        status=503,
        code="database_unavailable",
        title=TITLES[503],
        detail=gettext(
            N_("The database cannot be reached right now. Nothing was changed; try again in a moment.")
        ),
        headers={"Retry-After": "2"},
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    NoConnection: no_connection_handler,
    NeracaError: neraca_error_handler,
    HTTPException: http_exception_handler,
    Exception: internal_error_handler,
}
