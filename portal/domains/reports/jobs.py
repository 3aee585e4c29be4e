"""Reports jobs: background statement exports and scheduled statements (each idempotent)."""

from __future__ import annotations

from typing import Any

from portal.domains.reports import schedules, services
from portal.lib.jobs import job


@job("reports.export", max_attempts=4, concurrency_limit=2)
async def export(payload: dict[str, Any]) -> None:
    """Write one export's file; a finished export is left as it is."""
    await services.run_export(str(payload["export_id"]))


@job("reports.schedules_due", max_attempts=8)
async def schedules_due(payload: dict[str, Any]) -> None:
    """Deliver every scheduled statement whose period has ended (each period exactly once)."""
    await schedules.run_due()
