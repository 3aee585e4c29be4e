"""Fixed-window rate limits counted in PostgreSQL, so every web process shares them.

A hit is one `INSERT … ON CONFLICT DO UPDATE` on the (bucket, window) row, committed asynchronously
(`synchronous_commit = off` for that transaction only): a counter does not need to wait for the WAL
flush — after a database crash a window may forget its last few hits, nothing else. The API pipeline
counts its hit in the same statement as the Request-Id claim (`api_auth`)."""

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

# Part of a statement's select list: makes that (single-statement) transaction commit without waiting
# for the WAL flush. Only for writes whose loss in a database crash is harmless or already covered.
ASYNC_COMMIT = "set_config('synchronous_commit', 'off', true)"


def async_commit() -> str:
    """ASYNC_COMMIT outside a transaction; inside one (whose other writes may matter) a no-op."""
    return "NULL" if sql.in_transaction() else ASYNC_COMMIT


HIT_SQL = """INSERT INTO rate_limit (bucket, window_start, hits) VALUES ($1, $2, 1)
           ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limit.hits + 1
           RETURNING hits"""


def window(kind: str, key: str, now: datetime) -> tuple[str, datetime, int]:
    """(bucket, window start, hits allowed) of `kind:key` at `now`."""
    allowed, seconds = LIMITS[kind]
    start_epoch = int(now.timestamp()) // seconds * seconds
    return f"{kind}:{key}", datetime.fromtimestamp(start_epoch, UTC), allowed


def check(kind: str, hits: int, now: datetime) -> None:
    """Raise RateLimited (with Retry-After) when `hits` is over the window's allowance."""
    allowed, seconds = LIMITS[kind]
    if int(hits) > allowed:
        start_epoch = int(now.timestamp()) // seconds * seconds
        retry_after = max(1, start_epoch + seconds - int(now.timestamp()))
        raise RateLimited(
            gettext("Too many requests. Try again in %(n)d seconds.") % {"n": retry_after},
            retry_after=retry_after,
        )


async def hit(kind: str, key: str) -> None:
    """Count one hit; raise RateLimited (with Retry-After) once the window's allowance is used."""
    now = clock.now()
    bucket, window_start, _ = window(kind, key, now)
    hits = await sql.fetchval(
        f"WITH h AS ({HIT_SQL}) SELECT h.hits FROM h, (SELECT {async_commit()}) AS c", bucket, window_start
    )
    check(kind, hits, now)


async def prune(before: datetime) -> None:
    await sql.execute("DELETE FROM rate_limit WHERE window_start < $1", before)
