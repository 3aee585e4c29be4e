"""Opaque cursors for keyset pagination (`?limit=&after=`).

A cursor is the position (an integer key or a short string id) as JSON, followed by a MAC, in URL-safe
base64. A cursor that was not issued here (tampered, truncated, a float of 1e309, `Infinity`, a
29-digit integer, nested JSON) is refused with 422 `invalid_cursor` before any query runs, so a list
never sees a value it cannot bind.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from functools import lru_cache
from typing import Any

from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import N_

MAC_BYTES = 12
MAX_CURSOR_CHARS = 200
# Keys fit a PostgreSQL bigint; string ids are short.
MIN_KEY, MAX_KEY = -(2**63), 2**63 - 1
MAX_ID_CHARS = 64


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"list-cursor|" + secret.encode()).digest()


def _mac(body: bytes) -> bytes:
    from portal.settings import get_settings

    return hmac.new(_key(get_settings().secret_key), body, hashlib.sha256).digest()[:MAC_BYTES]


def _valid_position(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return MIN_KEY <= value <= MAX_KEY
    if isinstance(value, str):
        return 0 < len(value) <= MAX_ID_CHARS and value.isascii() and value.isprintable()
    return False


def invalid_cursor(pointer: str = "/after") -> ValidationFailed:
    return ValidationFailed(
        N_("The cursor is not valid: use the next_cursor of the previous page."),
        code="invalid_cursor",
        errors=[FieldError(pointer, N_("not a cursor from this list"), "invalid_cursor")],
    )


def encode_cursor(value: Any) -> str:
    """The cursor of a position: an integer key (bigint) or a string id."""
    if not _valid_position(value):
        raise ValueError(f"a cursor holds an integer key or a short string id, not {value!r}")
    body = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(body + _mac(body)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | str | None:
    """The position a cursor of `encode_cursor` holds (None for no cursor), else 422 `invalid_cursor`."""
    if not cursor:
        return None
    if len(cursor) > MAX_CURSOR_CHARS:
        raise invalid_cursor()
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode("ascii"))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise invalid_cursor() from None
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    if len(raw) <= MAC_BYTES or not hmac.compare_digest(mac, _mac(body)):
        raise invalid_cursor()
    try:
        value = json.loads(body)
    except ValueError:
        raise invalid_cursor() from None
    if not _valid_position(value):
        raise invalid_cursor()
    return value


def clamp_limit(limit: int | None, *, default: int = 20, maximum: int = 100) -> int:
    if limit is None:
        return default
    if limit < 1 or limit > maximum:
        raise ValidationFailed(
            N_("limit must be between 1 and %(max)d."),
            params={"max": maximum},
            errors=[FieldError("limit", N_("1 to %(max)d"), params={"max": maximum})],
        )
    return limit
