"""Card billing jobs: the billing run and the extension of the execute dates' horizon."""

from __future__ import annotations

import structlog

from portal.domains.billing import services
from portal.lib.jobs import periodic

log = structlog.get_logger("neraca.billing")


@periodic("0 * * * *")
async def billing_run() -> None:
    """Every hour: charge what is due today (WIB); each execute date is charged once whatever the
    number of ticks or workers."""
    result = await services.run_billing()
    log.info("billing run", charged=result.charged, paid=result.paid, failed=result.failed)


@periodic("10 17 * * *")
async def extend_execute_dates() -> None:
    """00:10 WIB: materialise the execute dates that entered the horizon."""
    await services.extend_execute_dates()
