"""Verify (and, for tests, sign) webhooks the Standard Webhooks way.

Neraca signs each delivery with the endpoint's secret (``whsec_<base64 key>``)::

    webhook-id:        msg_...                      unique per event; use it to drop duplicates
    webhook-timestamp: 1763784000                   Unix seconds when it was signed
    webhook-signature: v1,<base64 HMAC-SHA256>      space-separated; several while a secret rotates

over the content ``f"{webhook_id}.{webhook_timestamp}.{raw_body}"``. Verify against the raw bytes
exactly as received: a re-serialized JSON body will not match.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .errors import WebhookVerificationError

__all__ = ["DEFAULT_TOLERANCE", "WebhookVerificationError", "sign", "verify"]

DEFAULT_TOLERANCE = 300
"""Seconds a delivery's timestamp may differ from now, either way."""

_SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret


def _secret_key(secret: str) -> bytes:
    text = secret.removeprefix(_SECRET_PREFIX)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WebhookVerificationError("the webhook secret is not valid base64 after 'whsec_'") from exc
    if not key:
        raise WebhookVerificationError("the webhook secret is empty")
    return key


def _signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    content = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode("ascii")


def _as_bytes(body: bytes | bytearray | memoryview | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def verify(
    raw_body: bytes | str,
    headers: Mapping[str, str],
    secret: str,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> Any:
    """Check a webhook delivery and return its decoded JSON payload.

    Args:
        raw_body: the request body exactly as received (bytes; a str is encoded as UTF-8).
        headers: the request headers; names are matched case-insensitively.
        secret: the endpoint's signing secret, ``whsec_...``.
        tolerance: seconds the ``webhook-timestamp`` may be older or newer than now (default 300).
        now: the current Unix time, for tests; defaults to the system clock.

    Raises:
        WebhookVerificationError: a header is missing or malformed, the timestamp is outside the
            tolerance (too old: a replay; too new: a forged or skewed clock), no ``v1`` signature
            matches, or the body is not JSON.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [h for h in ("webhook-id", "webhook-timestamp", "webhook-signature") if not lowered.get(h)]
    if missing:
        raise WebhookVerificationError(f"missing webhook header(s): {', '.join(missing)}")
    msg_id = lowered["webhook-id"]
    timestamp = lowered["webhook-timestamp"].strip()
    try:
        sent_at = int(timestamp)
    except ValueError as exc:
        raise WebhookVerificationError(f"webhook-timestamp is not Unix seconds: {timestamp!r}") from exc
    current = time.time() if now is None else now
    if sent_at < current - tolerance:
        raise WebhookVerificationError(
            f"webhook timestamp is too old ({int(current - sent_at)} s ago; tolerance {tolerance} s)"
        )
    if sent_at > current + tolerance:
        raise WebhookVerificationError(
            f"webhook timestamp is too new ({int(sent_at - current)} s ahead; tolerance {tolerance} s)"
        )

    body = _as_bytes(raw_body)
    expected = _signature(_secret_key(secret), msg_id, timestamp, body).encode("ascii")
    matched = False
    for entry in lowered["webhook-signature"].split():
        version, _, signature = entry.partition(",")
        # Compare every v1 candidate in constant time; other versions (v1a: asymmetric) are skipped.
        if version == "v1" and hmac.compare_digest(expected, signature.encode("ascii", "replace")):
            matched = True
    if not matched:
        raise WebhookVerificationError("no webhook signature matches the body and the secret")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookVerificationError("the webhook body is not valid JSON") from exc


def sign(
    raw_body: bytes | str,
    *,
    secret: str,
    msg_id: str,
    timestamp: int | datetime | None = None,
) -> dict[str, str]:
    """Return the three ``webhook-*`` headers for a body, as Neraca would send them (for tests).

    ``timestamp`` is Unix seconds or an aware datetime; defaults to now.
    """
    if timestamp is None:
        seconds = int(time.time())
    elif isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            raise ValueError("timestamp must be timezone-aware")
        seconds = int(timestamp.timestamp())
    else:
        seconds = int(timestamp)
    signature = _signature(_secret_key(secret), msg_id, str(seconds), _as_bytes(raw_body))
    return {"webhook-id": msg_id, "webhook-timestamp": str(seconds), "webhook-signature": f"v1,{signature}"}
