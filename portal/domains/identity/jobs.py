"""Identity jobs: sending e-mail (retried with back-off by the worker); pruning request ids, stored
API responses and rate-limit windows (periodic, idempotent)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from portal.domains.identity import api_auth, mail, ratelimit
from portal.lib import clock
from portal.lib.jobs import job, periodic

# Rate-limit windows last a minute (ratelimit.LIMITS); a day of margin keeps every live window.
RATE_LIMIT_KEEP = timedelta(days=1)


@job(mail.SEND_JOB, max_attempts=10)
async def send_email(payload: dict[str, Any]) -> None:
    await mail.send(str(payload["email_id"]))


@periodic("7 * * * *")
async def prune_api_requests() -> None:
    """Hourly: forget API Request-Ids and their stored responses older than 72 hours."""
    await api_auth.prune()


@periodic("37 * * * *")
async def prune_rate_limits() -> None:
    """Hourly: drop rate-limit windows that ended long ago."""
    await ratelimit.prune(clock.now() - RATE_LIMIT_KEEP)
