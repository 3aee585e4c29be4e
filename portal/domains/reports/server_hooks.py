"""Reports at server start-up: make sure the statement rollup job is queued (`rollup.schedule`)."""

from __future__ import annotations

from typing import Any

import structlog

log = structlog.get_logger("neraca.reports")


async def _start_rollup_chain() -> None:
    from portal.domains.reports import rollup

    try:
        await rollup.schedule()
    except Exception:  # the server starts anyway; statements kick the job when they see it behind
        log.exception("could not schedule the statement rollup")


def on_app(app: Any) -> None:
    app.on_startup.append(_start_rollup_chain)
