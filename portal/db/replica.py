"""Read-only connections for reports: the streaming replica when `DATABASE_REPLICA_URL` is set, else the
primary.

The staleness bound: a read (`fresh=True`, the default) must include everything committed before it
began, e.g. a statement asked for right after a transfer. It takes the primary's current WAL position
(one cheap query) and waits up to `NERACA_REPLICA_MAX_WAIT_MS` (default 1000) for the replica to have
replayed it. A replica that is behind, down or unreachable is never an error: the read goes to the
primary. `fresh=False` takes the replica as it is (for reads that tolerate lag).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from typing import Literal

import asyncpg
import structlog
from prometheus_client import Counter

from portal.lib.sql import engine

log = structlog.get_logger("neraca.replica")
READS = Counter("neraca_report_reads_total", "Report reads by the server they went to", ["source"])

REPLICA_ENV = "DATABASE_REPLICA_URL"
Source = Literal["replica", "primary"]

_pool: asyncpg.Pool | None = None
_pool_lock: asyncio.Lock | None = None
_down_until = 0.0  # after a failed connect, skip the replica for a moment instead of waiting on it each read
_last_source: Source = "primary"


def replica_url() -> str | None:
    return os.environ.get(REPLICA_ENV) or None


def _max_wait() -> float:
    return int(os.environ.get("NERACA_REPLICA_MAX_WAIT_MS") or 1000) / 1000


def last_source() -> Source:
    """Where this process's last report read went (for tests and the metrics)."""
    return _last_source


async def _replica_pool(url: str) -> asyncpg.Pool | None:
    global _pool, _pool_lock, _down_until
    if _pool is not None:
        return _pool
    if time.monotonic() < _down_until:
        return None
    if _pool_lock is None:
        _pool_lock = asyncio.Lock()
    async with _pool_lock:
        if _pool is None:
            try:
                _pool = await asyncpg.create_pool(dsn=url, min_size=0, max_size=4, timeout=2)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                _down_until = time.monotonic() + 5
                log.warning("replica unreachable; reading from the primary", error=str(exc))
                return None
    return _pool


async def _caught_up(conn: asyncpg.Connection, lsn: str, max_wait: float) -> bool:
    deadline = time.monotonic() + max_wait
    while True:
        if await conn.fetchval("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def _primary() -> AsyncIterator[asyncpg.Connection]:
    db = engine()
    if db.pool is None:
        conn = await db.get_new_connection()
        try:
            yield conn
        finally:
            await conn.close()
        return
    async with db.pool.acquire() as conn:
        yield conn


async def _primary_lsn() -> str:
    async with _primary() as conn:
        return str(await conn.fetchval("SELECT pg_current_wal_lsn()::text"))


@contextlib.asynccontextmanager
async def read_connection(*, fresh: bool = True) -> AsyncIterator[asyncpg.Connection]:
    """A connection for read-only report queries, held for the block (open your own transaction on it)."""
    global _last_source, _pool
    url = replica_url()
    pool = await _replica_pool(url) if url else None
    conn: asyncpg.Connection | None = None
    if pool is not None:
        try:
            lsn = await _primary_lsn() if fresh else None
            conn = await pool.acquire(timeout=2)
            if lsn is not None and not await _caught_up(conn, lsn, _max_wait()):
                log.info("replica behind the demanded position; reading from the primary", lsn=lsn)
                await pool.release(conn)
                conn = None
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("replica read failed before it began; reading from the primary", error=str(exc))
            if conn is not None:
                with contextlib.suppress(Exception):
                    await pool.release(conn)
            conn = None
            # A replica that restarted leaves dead connections behind: start a new pool next time.
            _pool = None
            with contextlib.suppress(Exception):
                pool.terminate()
    if conn is not None and pool is not None:
        _last_source = "replica"
        READS.labels("replica").inc()
        try:
            yield conn
        finally:
            await pool.release(conn)
        return
    _last_source = "primary"
    READS.labels("primary").inc()
    async with _primary() as primary:
        yield primary


async def close() -> None:
    """Close the replica pool (application shutdown)."""
    global _pool
    if _pool is not None:
        pool, _pool = _pool, None
        await pool.close()
