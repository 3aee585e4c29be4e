"""Provider jobs: apply a recorded callback (exactly once), and the nightly reconciliation."""

from __future__ import annotations

from typing import Any

import structlog

from portal.domains.provider import services
from portal.domains.provider.gateway import ProviderError
from portal.lib.jobs import job, periodic

log = structlog.get_logger("neraca.provider")


@job("provider.apply_event")
async def apply_event(payload: dict[str, Any]) -> None:
    await services.apply_event(payload["event_id"])


@periodic("30 18 * * *")
async def nightly_reconciliation() -> None:
    """01:30 WIB: compare every business's pay-ins at the provider with the ledger (lists, never fixes)."""
    for business_id in await services.businesses_with_payins():
        try:
            await services.reconcile(business_id, "nightly")
        except ProviderError:
            log.warning("reconciliation could not reach the provider", business_id=business_id)
