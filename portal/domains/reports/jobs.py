"""Reports jobs: background statement exports, scheduled statements and the daily statement rollup
(each idempotent)."""

from __future__ import annotations

from typing import Any

from portal.domains.reports import rollup, schedules, services
from portal.domains.reports.custom import schedule as custom_schedule
from portal.lib.jobs import job, periodic


@job("reports.export", max_attempts=4, concurrency_limit=2)
async def export(payload: dict[str, Any]) -> None:
    """Write one export's file; a finished export is left as it is."""
    await services.run_export(str(payload["export_id"]))


@job("reports.schedules_due", max_attempts=8)
async def schedules_due(payload: dict[str, Any]) -> None:
    """Deliver every scheduled statement whose period has ended (each period exactly once)."""
    await schedules.run_due()


@job(custom_schedule.TICK_JOB, max_attempts=8)
async def custom_reports_due(payload: dict[str, Any]) -> None:
    """E-mail every scheduled custom report whose occurrence has come (each occurrence exactly once)."""
    await custom_schedule.run_due()


@job(rollup.JOB, max_attempts=3, concurrency_limit=1)
async def rollup_days(payload: dict[str, Any]) -> None:
    """Close every WIB day that can be closed into `statement_day_total` (queued by a statement that saw
    the watermark far behind; the periodic sweep below does the routine work)."""
    await rollup.rollup_days()


@periodic("*/5 * * * *")
async def rollup_sweep() -> None:
    """Every five minutes: close the days that can be closed (idempotent; an advisory lock serialises)."""
    await rollup.rollup_days()
