"""Ledger jobs: expiry of holds and unpaid top-ups (each idempotent: a second run changes nothing)."""

from __future__ import annotations

from typing import Any

from portal.domains.ledger import services
from portal.lib.jobs import job, periodic


@job("ledger.expire_hold")
async def expire_hold(payload: dict[str, Any]) -> None:
    await services.expire_hold(payload["business_id"], payload["hold_id"])


@job("ledger.expire_topup")
async def expire_topup(payload: dict[str, Any]) -> None:
    await services.expire_topup(payload["business_id"], payload["topup_id"])


@periodic("* * * * *")
async def expire_due_holds() -> None:
    """Catch-up sweep every minute: holds whose expiry job was lost or late (batches until done)."""
    while await services.expire_due_holds(limit=500) == 500:
        pass


@periodic("*/5 * * * *")
async def expire_due_topups() -> None:
    """Every five minutes: unpaid top-up orders past their 24 hours become `expired`."""
    while await services.expire_due_topups(limit=1000) == 1000:
        pass
