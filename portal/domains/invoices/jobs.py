"""Invoices jobs: the billing cycle (issue what is due, collect what is due), idempotent and safe in
several workers at once (docs/invoices.md)."""

from __future__ import annotations

from typing import Any

from portal.domains.invoices import services
from portal.lib.jobs import job, periodic


@job("invoices.run_cycle", max_attempts=5, concurrency_limit=1)
async def run_cycle(payload: dict[str, Any]) -> None:
    """One cycle run, for one business when the payload names it."""
    await services.run_cycle(business_id=payload.get("business_id"))


@periodic("*/10 * * * *")
async def cycle_sweep() -> None:
    """Every ten minutes: invoices for the periods that ended, collections whose day has come."""
    await services.run_cycle()
