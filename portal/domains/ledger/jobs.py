"""Ledger jobs: expiry of holds and unpaid top-ups (each idempotent: a second run changes nothing)."""

from __future__ import annotations

from typing import Any

from portal.domains.ledger import services
from portal.lib.jobs import job


@job("ledger.expire_hold")
async def expire_hold(payload: dict[str, Any]) -> None:
    await services.expire_hold(payload["business_id"], payload["hold_id"])


@job("ledger.expire_topup")
async def expire_topup(payload: dict[str, Any]) -> None:
    await services.expire_topup(payload["business_id"], payload["topup_id"])
