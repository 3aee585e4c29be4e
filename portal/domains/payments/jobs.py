"""Payments jobs: the daily settlement, bank payouts of split parts, and the expiry sweep (each
idempotent: a second run changes nothing)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from portal.domains.payments import services
from portal.lib.jobs import job, periodic


@job("payments.pay_split_part")
async def pay_split_part(payload: dict[str, Any]) -> None:
    await services.pay_split_part(payload["business_id"], payload["part_id"])


@periodic("15 19 * * *")
async def settle_daily() -> None:
    """02:15 WIB: yesterday's (and the day before's, if missed) batches from the provider's reports,
    then every batch whose settlement date has come is applied."""
    today = services.today_wib()
    for back in (2, 1):
        await services.settle(today - timedelta(days=back), apply="due")


@periodic("*/5 * * * *")
async def expire_due_payments() -> None:
    """Every five minutes: payments still unpaid after their expiry become `expired`."""
    while await services.expire_due_payments(limit=1000) == 1000:
        pass
