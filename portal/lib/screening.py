"""The screening seam: outgoing money is shown to every registered screen before it moves.

The ledger's transfer and withdrawal services and the payouts' create path call
`await screen(actor, outgoing)` before booking; the monitoring domain registers its rules here when it
is imported (`register(fn)`), so the callers never import monitoring. With no screen registered every
operation is allowed. The strongest verdict wins: block > review > alert > allow. A screen never
changes an amount; the caller refuses a block (422 `monitoring_blocked`), routes a review to approvals
(payouts) and lets an alert through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg

from portal.lib.actor import Actor
from portal.lib.errors import ServiceUnavailable
from portal.lib.i18n import N_
from portal.lib.sql import connection_lost

Kind = Literal["payout", "transfer", "withdrawal"]
Action = Literal["allow", "alert", "review", "block"]
# The order of strength: a stronger verdict replaces a weaker one.
STRENGTH: dict[str, int] = {"allow": 0, "alert": 1, "review": 2, "block": 3}


@dataclass(frozen=True)
class Outgoing:
    """Money about to leave an account (nothing is written yet)."""

    kind: Kind
    business_id: str
    account_id: str
    amount: int
    currency: str = "IDR"
    beneficiary_id: str | None = None
    reference: str | None = None
    # The receiving account of an internal transfer (None for money leaving the system).
    to_account_id: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What the screens decided: `action`, a machine `code`, the rules that matched and a message
    (msgid + params, translated when shown)."""

    action: Action = "allow"
    code: str | None = None
    rule_ids: tuple[str, ...] = ()
    message: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def blocks(self) -> bool:
        return self.action == "block"


ALLOW = Verdict()

Screen = Callable[[Actor, Outgoing], Awaitable[Verdict]]
_SCREENS: list[Screen] = []


def register(fn: Screen) -> Screen:
    """Add a screen (once; registering the same function again is a no-op). Usable as a decorator."""
    if fn not in _SCREENS:
        _SCREENS.append(fn)
    return fn


def unregister(fn: Screen) -> None:
    """Remove a screen (benchmarks compare with and without)."""
    if fn in _SCREENS:
        _SCREENS.remove(fn)


def screens() -> tuple[Screen, ...]:
    return tuple(_SCREENS)


def strongest(verdicts: list[Verdict]) -> Verdict:
    """The strongest of several verdicts (the first of equals), or ALLOW for none."""
    best = ALLOW
    for verdict in verdicts:
        if STRENGTH[verdict.action] > STRENGTH[best.action]:
            best = verdict
    return best


async def screen(actor: Actor, outgoing: Outgoing) -> Verdict:
    """Run every registered screen on `outgoing` and return the strongest verdict (ALLOW with none)."""
    if not _SCREENS:
        return ALLOW
    try:
        return strongest([await fn(actor, outgoing) for fn in _SCREENS])
    except Exception as exc:
        if not _database_gone(exc):
            raise
        # Money cannot move without the database either: the caller answers 503 and retries, as the
        # ledger does when its own batch loses the connection (never "allowed" unscreened).
        raise ServiceUnavailable(
            N_(
                "The ledger lost its database connection. Try again in a moment: a retry with the same "
                "reference is never booked twice."
            ),
            code="ledger_unavailable",
            headers={"Retry-After": "1"},
        ) from exc


def _database_gone(exc: BaseException) -> bool:
    """A lost connection, a database refusing connections, or a pooled connection left mid-operation."""
    if connection_lost(exc) or isinstance(exc, asyncpg.exceptions.InternalClientError):
        return True
    return isinstance(exc, asyncpg.exceptions.ObjectNotInPrerequisiteStateError) and not isinstance(
        exc, asyncpg.exceptions.LockNotAvailableError
    )
