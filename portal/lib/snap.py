"""SNAP-style request signing, as Indonesian payment providers sign calls and callbacks.

Both directions across the provider boundary use it: Neraca signing its calls to the provider, and the
provider (the sandbox simulator, or a real PJP's adapter) signing the callbacks it sends to Neraca.

    string to sign = METHOD ":" PATH ":" lowercase hex SHA-256 of the minified body ":" X-TIMESTAMP
    X-SIGNATURE    = base64(HMAC-SHA512(secret, string to sign))

with the headers `X-TIMESTAMP` (ISO 8601 with offset), `X-PARTNER-ID` (who calls) and `X-EXTERNAL-ID`
(unique per partner: the idempotency key of a call, the event id of a callback). The body is hashed
exactly as sent (we always send minified JSON, so no re-minification is needed on either side).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

TIMESTAMP_SKEW = timedelta(minutes=5)
WIB = ZoneInfo("Asia/Jakarta")


def timestamp(now: datetime | None = None) -> str:
    """An X-TIMESTAMP value: ISO 8601 in WIB with its offset, whole seconds (`2026-11-29T20:15:00+07:00`)."""
    moment = (now or datetime.now(UTC)).astimezone(WIB)
    return moment.replace(microsecond=0).isoformat()


def string_to_sign(method: str, path: str, body: bytes, stamp: str) -> str:
    return f"{method.upper()}:{path}:{hashlib.sha256(body).hexdigest()}:{stamp}"


def sign(secret: str, method: str, path: str, body: bytes, stamp: str) -> str:
    digest = hmac.new(secret.encode(), string_to_sign(method, path, body, stamp).encode(), hashlib.sha512)
    return base64.b64encode(digest.digest()).decode()


def headers(
    secret: str,
    partner_id: str,
    external_id: str,
    method: str,
    path: str,
    body: bytes,
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """The four SNAP headers (plus Content-Type) for one signed request."""
    stamp = timestamp(now)
    return {
        "Content-Type": "application/json",
        "X-TIMESTAMP": stamp,
        "X-PARTNER-ID": partner_id,
        "X-EXTERNAL-ID": external_id,
        "X-SIGNATURE": sign(secret, method, path, body, stamp),
    }


class SignatureError(Exception):
    """The request is unsigned, wrongly signed or stale; `reason` is a stable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def verify(
    secret: str,
    method: str,
    path: str,
    body: bytes,
    request_headers: dict[str, str],
    *,
    now: datetime | None = None,
) -> None:
    """Raise SignatureError unless the headers carry a valid, fresh signature (constant-time compare).

    `request_headers` must be looked up case-insensitively by the caller (pass lower-cased keys).
    """
    stamp = request_headers.get("x-timestamp", "")
    signature = request_headers.get("x-signature", "")
    if not stamp or not signature or not request_headers.get("x-external-id"):
        raise SignatureError("missing_headers")
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        raise SignatureError("invalid_timestamp") from None
    if moment.tzinfo is None:
        raise SignatureError("invalid_timestamp")
    if abs((now or datetime.now(UTC)) - moment) > TIMESTAMP_SKEW:
        raise SignatureError("timestamp_out_of_range")
    expected = sign(secret, method, path, body, stamp)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("invalid_signature")
