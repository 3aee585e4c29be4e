"""Webhook jobs: send queued deliveries; a sweep re-queues deliveries whose job or worker was lost."""

from __future__ import annotations

from typing import Any

from portal.domains.webhooks import delivery
from portal.lib.jobs import job, periodic


@job("webhooks.deliver", max_attempts=3)
async def deliver(payload: dict[str, Any]) -> None:
    """Attempt the named (event, endpoint) pairs; claimed ones only, so a duplicate job is harmless."""
    await delivery.deliver(payload.get("d", []), trigger=str(payload.get("t", "automatic")))


@periodic("* * * * *", name="webhooks.sweep")
async def sweep() -> None:
    await delivery.sweep()
