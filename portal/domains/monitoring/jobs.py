"""Monitoring jobs: the event consumer runs as a minute-long sweep, polling every quarter second."""

from __future__ import annotations

from portal.domains.monitoring.services import watcher
from portal.lib.jobs import periodic


@periodic("* * * * *", name="monitoring.watch")
async def watch() -> None:
    """Screen new events until just before the next tick (the next tick takes over)."""
    await watcher.watch(55)
