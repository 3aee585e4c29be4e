"""Emptying the test database between tests; holding the pool's connections as other requests would."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import asyncpg

T = TypeVar("T")

# Work a previous test left behind (a job worker, a live server's sweep, a group commit finishing) may
# hold row locks while TRUNCATE asks for exclusive ones: PostgreSQL then picks one side as the deadlock
# victim. The reset is simply tried again; the other side finishes or its rows go with the next try.
_ATTEMPTS = 8


async def truncate_all() -> None:
    """Empty every table but the migration log and the `ref_*` reference tables."""
    for attempt in range(_ATTEMPTS):
        try:
            await _truncate_once()
            return
        except (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.LockNotAvailableError):
            if attempt == _ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.1 * (attempt + 1))


async def _truncate_once() -> None:
    from portal.lib.sql import transaction

    async with transaction() as current:
        connection = current.connection
        rows = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'migration' AND tablename NOT LIKE 'ref\\_%'"
        )
        if rows:
            # Replica mode skips triggers, so append-only guards do not stop the reset between tests.
            await connection.execute("SET LOCAL session_replication_role = replica")
            # Wait for a lock a bounded time, then try again, instead of queueing behind a long holder.
            await connection.execute("SET LOCAL lock_timeout = '5s'")
            names = ", ".join(f'"{row["tablename"]}"' for row in rows)
            await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


async def with_one_connection_free(work: Awaitable[T]) -> T:
    """`work`'s result, run while every connection of the pool but one is held (as by other requests)."""
    from portal.lib import sql

    pool = sql.engine().pool
    assert pool is not None
    held = [await pool.acquire() for _ in range(pool.get_max_size() - 1)]
    try:
        return await work
    finally:
        for conn in held:
            await pool.release(conn)
