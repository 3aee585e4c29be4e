"""The seam where outgoing money is screened before it moves (payouts, transfers, withdrawals).

Domains that move money out call `await screen(actor, outgoing)`; a monitoring domain registers its
screening functions with `register(fn)`. `screen` runs every registered function and returns the
strongest verdict (block > review > alert > allow); with none registered, money is allowed. This module
sits below every domain, so the callers never import the monitoring domain (no import cycle).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from portal.lib.actor import Actor

Action = Literal["allow", "alert", "review", "block"]
_STRENGTH = {"allow": 0, "alert": 1, "review": 2, "block": 3}


@dataclass(frozen=True)
class Outgoing:
    """Money about to leave an account."""

    kind: str  # payout | transfer | withdrawal
    business_id: str
    account_id: str
    amount: int
    currency: str
    beneficiary_id: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What screening decided: `message` is a msgid with `params`, translated when shown."""

    action: Action = "allow"
    code: str = ""
    rule_ids: tuple[str, ...] = ()
    message: str = ""
    params: dict[str, Any] = field(default_factory=dict)


ALLOW = Verdict()

Screen = Callable[[Actor, Outgoing], Awaitable[Verdict]]
SCREENS: list[Screen] = []


def register(fn: Screen) -> Screen:
    """Add a screening function (usable as a decorator); registering the same one twice keeps one."""
    if fn not in SCREENS:
        SCREENS.append(fn)
    return fn


async def screen(actor: Actor, outgoing: Outgoing) -> Verdict:
    """The strongest verdict of every registered screen (the first of equal strength); allow if none."""
    strongest = ALLOW
    for fn in SCREENS:
        verdict = await fn(actor, outgoing)
        if _STRENGTH[verdict.action] > _STRENGTH[strongest.action]:
            strongest = verdict
    return strongest
