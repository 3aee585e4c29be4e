"""The current time, injectable: tests move the clock instead of sleeping (TOTP steps, lockouts, timeouts)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_override: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current UTC time (or the test's clock)."""
    return _override() if _override is not None else datetime.now(UTC)


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Replace the clock (None restores the real one). For tests only."""
    global _override
    _override = clock
