"""Which webhook URLs Neraca may call: checked when an endpoint is saved and again before every attempt.

Outside development and tests only `https` is allowed and the host must not resolve to a private,
loopback, link-local, multicast, reserved or unspecified address (a webhook is a request Neraca's
servers make on a customer's behalf: without this it could reach the internal network — SSRF). The
delivery connects to the very address that was checked, so a name re-resolving elsewhere between the
check and the connection (DNS rebinding) does not get through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from portal.lib.errors import N_, FieldError, ValidationFailed
from portal.settings import get_settings

MAX_URL_LENGTH = 2048
# Environments where a receiver on this machine over plain http is allowed.
LOCAL_ENVIRONMENTS = frozenset({"development", "test"})


def allows_local(environment: str | None = None) -> bool:
    """True where http to 127.0.0.1 is allowed (development and the test suite)."""
    return (environment or get_settings().environment) in LOCAL_ENVIRONMENTS


def _refused(msgid: str, code: str, pointer: str, **params: object) -> ValidationFailed:
    return ValidationFailed(
        N_("The webhook URL is not allowed."),
        code=code,
        errors=[FieldError(pointer, msgid, code=code, params=params)],
    )


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`address`) and what to ask for (`url`, `host` for TLS/Host)."""

    url: str
    scheme: str
    host: str
    port: int
    address: str
    path: str = "/"


def check_syntax(url: str, *, environment: str | None = None, pointer: str = "/url") -> tuple[str, str, int]:
    """Scheme, host and port of an acceptable URL; ValidationFailed (field `pointer`) otherwise."""
    if not url or not url.strip():
        raise _refused(N_("a URL is required"), "url_required", pointer)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise _refused(N_("not a valid URL"), "invalid_url", pointer)
    if len(url) > MAX_URL_LENGTH:
        raise _refused(N_("at most %(max)d characters"), "url_too_long", pointer, max=MAX_URL_LENGTH)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refused(N_("not a valid URL"), "invalid_url", pointer) from None
    local = allows_local(environment)
    allowed_schemes = ("https", "http") if local else ("https",)
    if parts.scheme not in allowed_schemes:
        raise _refused(N_("the URL must start with https://"), "url_not_https", pointer)
    if not parts.hostname:
        raise _refused(N_("not a valid URL"), "invalid_url", pointer)
    if parts.username or parts.password:
        raise _refused(N_("a URL must not carry a user name or password"), "invalid_url", pointer)
    if any(ch.isspace() for ch in url) or not url.isascii():  # international names: use punycode
        raise _refused(N_("not a valid URL"), "invalid_url", pointer)
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(url: str, *, environment: str | None = None, pointer: str = "/url") -> Target:
    """Check `url` and resolve its host to one address Neraca may connect to.

    Every address the name resolves to must be public (outside development): a name that resolves
    to one public and one private address is refused, since either could be used.
    """
    scheme, host, port = check_syntax(url, environment=environment, pointer=pointer)
    local = allows_local(environment)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except (OSError, UnicodeError):
            raise _refused(
                N_("the host %(host)s cannot be resolved"), "url_unresolvable", pointer, host=host
            ) from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses:
            raise _refused(N_("the host %(host)s cannot be resolved"), "url_unresolvable", pointer, host=host)
    if not local:
        for address in addresses:
            if not _is_public(address):
                raise _refused(
                    N_("%(host)s resolves to a private, loopback or link-local address"),
                    "url_not_public",
                    pointer,
                    host=host,
                )
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url=url, scheme=scheme, host=host, port=port, address=str(addresses[0]), path=path)
