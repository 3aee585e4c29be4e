"""ASGI middleware: client address behind trusted proxies, request-body deadline, request id, CSP nonce,
security headers, language, metrics."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import re
import secrets
import time
import uuid
from collections.abc import Iterable
from typing import Any

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter, Histogram

from portal.lib import i18n
from portal.lib.errors import NeracaError
from portal.lib.i18n import N_
from portal.settings import get_settings

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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """NERACA_TRUSTED_PROXIES entries (addresses or CIDRs) as networks."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def forwarded_client(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client address: the peer itself unless it is a trusted proxy; then, walking X-Forwarded-For
    from the right (each proxy appends the address it saw), the first address that is not a trusted
    proxy. Anything a client wrote to the left of that is ignored, so it cannot choose its address."""

    def is_trusted(address: str) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in network for network in trusted)

    if not trusted or not is_trusted(peer) or not forwarded_for:
        return peer
    client = peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if _ip(hop) is None:
            break  # garbage from the left of the chain: keep the last address a trusted proxy vouched for
        client = str(_ip(hop))
        if not is_trusted(hop):
            break
    return client


def is_local_request(scope: Scope) -> bool:
    """A request from this machine that came through no proxy (for internal pages such as /metrics)."""
    client = scope.get("client")
    if not client or _ip(client[0]) is None or not _ip(client[0]).is_loopback:  # type: ignore[union-attr]
        return False
    return _header(scope, b"x-forwarded-for") is None and _header(scope, b"forwarded") is None


def metrics_allowed(scope: Scope) -> bool:
    """`/metrics` answers a request carrying `Authorization: Bearer <NERACA_METRICS_TOKEN>`, or, without a
    token setting, a local request that came through no proxy; anything else is told there is nothing."""
    token = get_settings().metrics_token
    if token:
        supplied = _header(scope, b"authorization") or ""
        return hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode())
    return is_local_request(scope)


class RequestBodyTimeout(NeracaError):
    """The client did not finish sending its request body in time (a stalled or slow-loris upload)."""

    status = 408
    code = "request_timeout"
    title_msgid = N_("Request timeout")


# A large upload gets more time on top of the body timeout: its declared length at this slowest rate.
MIN_BODY_RATE = 64 * 1024  # bytes per second


def body_deadline(seconds: float, content_length: str | None) -> float:
    """Seconds a request has for its whole body: `seconds`, plus Content-Length at MIN_BODY_RATE (a 10 MB
    upload over a slow line is not cut off; a slow-loris trickle still is, its rate being far lower)."""
    try:
        declared = int(content_length) if content_length else 0
    except ValueError:
        declared = 0
    return seconds + min(max(declared, 0), 64 * 1024 * 1024) / MIN_BODY_RATE


def deadline_receive(receive: Receive, seconds: float) -> Receive:
    """`receive` that raises RequestBodyTimeout once the body has not arrived `seconds` after the request
    started; after the last body chunk (or a disconnect) it passes straight through, so streamed
    responses can keep waiting for the disconnect."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    body_done = False

    async def receive_with_deadline() -> Any:
        nonlocal body_done
        if body_done:
            return await receive()
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise RequestBodyTimeout(
                N_("The request body did not arrive in time."), headers={"Connection": "close"}
            ) from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            body_done = True
        return message

    return receive_with_deadline


def _dedupe_parameters(content_type: bytes) -> bytes:
    """`text/csv; charset=utf-8; charset=utf-8` → `text/csv; charset=utf-8` (a handler naming the charset
    and the framework adding it again)."""
    parts = [p.strip() for p in content_type.split(b";")]
    seen: set[bytes] = set()
    kept = [parts[0]]
    for part in parts[1:]:
        name = part.split(b"=", 1)[0].strip().lower()
        if part and name not in seen:
            seen.add(name)
            kept.append(part)
    return b"; ".join(kept)


def content_security_policy(nonce: str) -> str:
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        f"style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def request_context_middleware(app: ASGIApp) -> ASGIApp:
    """Resolve the client address, bound the body read, bind request id, CSP nonce and language for the
    request; add each security header to every response once (a header the response already has is
    left as it is, so nothing is ever sent twice)."""
    settings = get_settings()
    trusted = trusted_networks(settings.trusted_proxies)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        client = scope.get("client")
        if trusted and client:
            address = forwarded_client(client[0], _joined_header(scope, b"x-forwarded-for"), trusted)
            if address != client[0]:
                scope["client"] = (address, 0)
                proto = _header(scope, b"x-forwarded-proto")
                if proto in ("http", "https"):
                    scope["scheme"] = proto
        receive = deadline_receive(
            receive, body_deadline(settings.body_timeout, _header(scope, b"content-length"))
        )
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
        status_holder = {"status": 500, "started": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                headers = [
                    (k, _dedupe_parameters(v) if k.lower() == b"content-type" else v)
                    for k, v in message.get("headers", [])
                ]
                names = {k.lower() for k, _ in headers}
                defaults = [
                    (b"x-request-id", request_id.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"content-security-policy", content_security_policy(nonce).encode()),
                ]
                if not is_static:
                    defaults.append((b"vary", b"HX-Request, Cookie"))
                    # Pages show balances: never cache them anywhere.
                    defaults.append((b"cache-control", b"no-store"))
                headers.extend((name, value) for name, value in defaults if name not in names)
                message["headers"] = headers
            await send(message)

        try:
            await app(scope, receive, send_with_headers)
        except RequestBodyTimeout:
            # Raised outside Litestar's own error handling (e.g. while an outer layer read the body).
            if not status_holder["started"]:
                await _send_timeout(send_with_headers)
        finally:
            route = "/static" if is_static else str(scope.get("path_template") or "unmatched")
            REQUESTS.labels(scope.get("method", ""), route, str(status_holder["status"])).inc()
            LATENCY.labels(scope.get("method", ""), route).observe(time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")
            i18n.current_language.reset(token)

    return middleware


def _joined_header(scope: Scope, name: bytes) -> str | None:
    """All values of a header that may be repeated, joined with commas (as HTTP defines)."""
    values = [value.decode("latin-1") for key, value in scope.get("headers", []) if key == name]
    return ", ".join(values) if values else None


async def _send_timeout(send: Send) -> None:
    body = b'{"type":"about:blank","title":"Request timeout","status":408,"code":"request_timeout"}'
    await send(
        {
            "type": "http.response.start",
            "status": 408,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
