"""Fixed-window rate limits counted in PostgreSQL, so every web process shares them."""

from __future__ import annotations

from datetime import UTC, datetime

from portal.lib import clock, sql
from portal.lib.errors import RateLimited
from portal.lib.i18n import gettext

# bucket prefix -> (hits allowed, window seconds)
LIMITS: dict[str, tuple[int, int]] = {
    "login-ip": (30, 60),
    "enroll-ip": (20, 60),
    "reset-ip": (20, 60),
    "recovery-ip": (10, 60),
    "api-key": (600, 60),
}


async def hit(kind: str, key: str) -> None:
    """Count one hit; raise RateLimited (with Retry-After) once the window's allowance is used."""
    allowed, window = LIMITS[kind]
    now = clock.now()
    start_epoch = int(now.timestamp()) // window * window
    window_start = datetime.fromtimestamp(start_epoch, UTC)
    hits = await sql.fetchval(
        """INSERT INTO rate_limit (bucket, window_start, hits) VALUES ($1, $2, 1)
           ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit.hits + 1
           RETURNING hits""",
        f"{kind}:{key}",
        window_start,
    )
    if int(hits) > allowed:
        retry_after = max(1, start_epoch + window - int(now.timestamp()))
        raise RateLimited(
            gettext("Too many requests. Try again in %(n)d seconds.") % {"n": retry_after},
            retry_after=retry_after,
        )


async def prune(before: datetime) -> None:
    await sql.execute("DELETE FROM rate_limit WHERE window_start < $1", before)
