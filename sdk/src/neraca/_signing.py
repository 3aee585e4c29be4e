"""Request signing as specified in docs/api-contract.md ("Authentication").

Pure functions: no clock, no randomness, no I/O, so they can be checked against fixed vectors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

__all__ = ["body_digest", "format_timestamp", "signature_headers", "signing_message"]


def format_timestamp(moment: datetime) -> str:
    """Format a moment as the ``Request-Timestamp`` value: ISO 8601 UTC, seconds, ``Z`` suffix."""
    if moment.tzinfo is None:
        raise ValueError("Request-Timestamp needs a timezone-aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def body_digest(body: bytes) -> str:
    """Base64 of the SHA-256 of the raw body bytes (the ``Digest:`` line)."""
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def signing_message(
    *, client_id: str, request_id: str, timestamp: str, target: str, body: bytes | None
) -> bytes:
    """Build the exact message that is HMAC'd.

    ``target`` is the path and query exactly as they go on the wire. The ``Digest`` line is present
    only when the request has a body; an empty body (``b""``) counts as no body, because nothing is sent.
    """
    lines = [
        f"Client-Id:{client_id}",
        f"Request-Id:{request_id}",
        f"Request-Timestamp:{timestamp}",
        f"Request-Target:{target}",
    ]
    if body:
        lines.append(f"Digest:{body_digest(body)}")
    return "\n".join(lines).encode("utf-8")


def signature_headers(
    *,
    client_id: str,
    client_secret: str,
    request_id: str,
    timestamp: str,
    target: str,
    body: bytes | None,
) -> dict[str, str]:
    """Return the four authentication headers for one attempt of a request."""
    message = signing_message(
        client_id=client_id, request_id=request_id, timestamp=timestamp, target=target, body=body
    )
    mac = hmac.new(client_secret.encode("utf-8"), message, hashlib.sha256).digest()
    return {
        "Client-Id": client_id,
        "Request-Id": request_id,
        "Request-Timestamp": timestamp,
        "Signature": "HMACSHA256=" + base64.b64encode(mac).decode("ascii"),
    }
