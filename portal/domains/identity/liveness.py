"""Is the process that claimed a Request-Id still alive? Each web process holds one session-level
advisory lock, on a connection of its own, for as long as it lives; a claim records that lock's key.

When a process dies (kill -9, out of memory, a crashed host's TCP timing out) the kernel closes its
connection, PostgreSQL ends the backend and the lock is free at once: a retry of the same Request-Id can
tell the claim is abandoned within a second instead of waiting out the 5-minute lease. A live process
keeps its lock however long its request runs, so a claim is never taken from a request still running.
"""

from __future__ import annotations

import asyncio
import secrets
import weakref

import asyncpg
import structlog

from portal.lib import sql

log = structlog.get_logger("neraca.liveness")

# The first key of the two-key advisory lock space, so these locks cannot meet any other lock of ours.
LOCK_CLASS = 0x4E524341  # "NRCA"
RETRY_AFTER = 1.0  # seconds between attempts to open the lock connection after one failed


class ProcessLock:
    """This event loop's liveness lock: a random key held on a dedicated connection."""

    def __init__(self) -> None:
        self.connection: asyncpg.Connection | None = None
        self.key: int | None = None
        self.mutex = asyncio.Lock()
        self.retry_at = 0.0  # after a failed connect, requests do not queue up behind another attempt

    def current(self) -> int | None:
        if self.connection is not None and not self.connection.is_closed():
            return self.key
        return None

    async def acquire(self) -> int | None:
        """The key this process holds, taking one first if needed; None when the database cannot be
        reached for it (the claim then falls back to its lease alone)."""
        key = self.current()
        if key is not None:
            return key
        loop = asyncio.get_running_loop()
        if loop.time() < self.retry_at:
            return None
        async with self.mutex:
            key = self.current()
            if key is not None or loop.time() < self.retry_at:
                return key
            from portal.db.bootstrap import database_url

            try:
                connection = await asyncpg.connect(dsn=database_url(), timeout=5)
                # A fresh key for every connection: claims made under a lost connection read as abandoned,
                # as the requests that made them lost their database connections with it.
                for _ in range(5):
                    candidate = secrets.randbelow(2**31 - 1) + 1
                    if await connection.fetchval(
                        "SELECT pg_try_advisory_lock($1, $2)", LOCK_CLASS, candidate
                    ):
                        self.connection, self.key = connection, candidate
                        return candidate
                await connection.close()
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                log.warning("liveness lock unavailable", error=f"{exc.__class__.__name__}: {exc}")
            self.retry_at = loop.time() + RETRY_AFTER
            return None


_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ProcessLock] = weakref.WeakKeyDictionary()


async def process_key() -> int | None:
    """The liveness key of this process (its event loop), to record in a claim."""
    loop = asyncio.get_running_loop()
    lock = _LOCKS.get(loop)
    if lock is None:
        lock = _LOCKS[loop] = ProcessLock()
    return await lock.acquire()


async def is_gone(key: int) -> bool:
    """True when no process holds liveness key `key`: the process that recorded it has died."""
    # A transaction-scoped try-lock: taken and let go within this one statement, never waited for.
    return bool(await sql.fetchval("SELECT pg_try_advisory_xact_lock($1, $2)", LOCK_CLASS, key))


async def release() -> None:
    """Let go of this event loop's key (process shutdown; tests)."""
    lock = _LOCKS.pop(asyncio.get_running_loop(), None)
    if lock is not None and lock.connection is not None and not lock.connection.is_closed():
        await lock.connection.close()
