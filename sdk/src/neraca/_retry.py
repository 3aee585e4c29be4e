"""Retry policy: which outcomes are retried and how long to wait. Pure functions, no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = [
    "DEFAULT_POLICY",
    "RetryPolicy",
    "backoff_delay",
    "is_retryable_status",
    "parse_retry_after",
    "retry_delay",
    "retry_limit",
]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Back-off constants: ``min(cap, base * factor**attempt)`` is the ceiling of the jittered delay."""

    base: float = 0.5
    factor: float = 2.0
    cap: float = 8.0
    retry_after_cap: float = 60.0
    # 409 ``request_in_progress`` is retried up to this many times whatever ``max_retries`` says (unless
    # retrying is off): with the server's ``Retry-After: 1`` that is about 30 s, longer than the server
    # takes to release the claim of a request whose process died (about a second).
    in_progress_retries: int = 30


DEFAULT_POLICY = RetryPolicy()


def backoff_delay(attempt: int, *, random_value: float, policy: RetryPolicy = DEFAULT_POLICY) -> float:
    """Full-jitter exponential back-off for retry number ``attempt`` (0 for the first retry).

    ``random_value`` is uniform in [0, 1); full jitter spreads clients that failed together so they
    do not come back together.
    """
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    if not 0.0 <= random_value <= 1.0:
        raise ValueError("random_value must be within [0, 1]")
    # Clamp the exponent so a large attempt number cannot overflow the float before the cap applies.
    ceiling = min(policy.cap, policy.base * policy.factor ** min(attempt, 64))
    return ceiling * random_value


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    Returns None when the header is absent or unreadable (the caller then uses back-off), and 0.0 for
    a date in the past.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isnan(seconds) or math.isinf(seconds):
            return None
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are always GMT; parsedate_to_datetime leaves "-0000" naive.
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def retry_delay(
    attempt: int,
    *,
    retry_after: float | None,
    random_value: float,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> float:
    """Delay before retry number ``attempt``: the server's Retry-After (capped), else jittered back-off."""
    if retry_after is not None:
        return min(max(0.0, retry_after), policy.retry_after_cap)
    return backoff_delay(attempt, random_value=random_value, policy=policy)


def is_retryable_status(status_code: int, code: str | None) -> bool:
    """True for answers that say "try again": 409 ``request_in_progress``, 429 and every 5xx."""
    if status_code == 409:
        return code == "request_in_progress"
    return status_code == 429 or status_code >= 500


def retry_limit(
    max_retries: int, status_code: int, code: str | None, *, policy: RetryPolicy = DEFAULT_POLICY
) -> int:
    """How many retries an outcome allows: ``max_retries``, except that a request the server says is
    still running (409 ``request_in_progress``) is waited for up to ``policy.in_progress_retries`` times
    (never when ``max_retries`` is 0)."""
    if max_retries > 0 and status_code == 409 and code == "request_in_progress":
        return max(max_retries, policy.in_progress_retries)
    return max_retries
