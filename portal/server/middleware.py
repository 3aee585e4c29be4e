"""ASGI middleware: request id, CSP nonce, security headers, language, metrics."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from typing import Any

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram

from portal.lib import i18n

REQUESTS = Counter("neraca_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "neraca_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def content_security_policy(nonce: str) -> str:
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        f"style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Bind request id, CSP nonce and language for the request; add security headers to every response."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        supplied = _header(scope, b"request-id") or _header(scope, b"x-request-id")
        request_id = supplied if supplied and _REQUEST_ID_RE.match(supplied) else uuid.uuid4().hex
        nonce = secrets.token_urlsafe(16)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["csp_nonce"] = nonce
        language = i18n.negotiate(_cookie(scope, i18n.LANGUAGE_COOKIE), _header(scope, b"accept-language"))
        state["language"] = language
        token = i18n.current_language.set(language)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        path: str = scope.get("path", "")
        is_static = path.startswith("/static/")
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [
                    (b"x-request-id", request_id.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", content_security_policy(nonce).encode()))
                if not is_static:
                    extra.append((b"vary", b"HX-Request, Cookie"))
                    if b"cache-control" not in names:
                        # Pages show balances: never cache them anywhere.
                        extra.append((b"cache-control", b"no-store"))
                headers.extend(extra)
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_headers)
        finally:
            route = "/static" if is_static else str(scope.get("path_template") or "unmatched")
            REQUESTS.labels(scope.get("method", ""), route, str(status_holder["status"])).inc()
            LATENCY.labels(scope.get("method", ""), route).observe(time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")
            i18n.current_language.reset(token)

    return middleware
