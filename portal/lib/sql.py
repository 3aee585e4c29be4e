"""Plain SQL through Piccolo's engine: on the current transaction's connection when one is open."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction


def engine() -> PostgresEngine:
    """The process's database engine.

    It is created once the DSN is known (the CLI may start the embedded PostgreSQL first), so it is
    looked up here, late, in this one place; everything else calls `engine()` or `transaction()`.
    """
    from portal.db.piccolo_conf import DB

    return DB


def transaction() -> PostgresTransaction:
    """`async with transaction():` — a new transaction, or a savepoint-free join of the open one.

    A transaction whose connection dies (PostgreSQL restarted, the backend terminated) is discarded
    and unmarked even when its rollback fails, so the next transaction of this task works.
    """
    return SafeTransaction(engine())


class NoConnection(Exception):
    """No transaction could be started: the database is unreachable or refuses connections."""


# What a lost database looks like from here: no transaction could start, the driver's connection errors,
# the server shutting down or refusing connections, a socket error.
CONNECTION_LOST: tuple[type[BaseException], ...] = (
    NoConnection,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    OSError,
)


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` means the database connection died (restart, network, terminated backend)."""
    return isinstance(exc, CONNECTION_LOST)


async def discard_connection(db: PostgresEngine, conn: asyncpg.Connection | None) -> None:
    """Close a broken connection outright and have the pool replace every connection it holds.

    Never raises: it runs while another error is being handled, and a failure here must not keep the
    dead transaction marked as the task's current one.
    """
    if conn is not None:
        # A connection the pool already took back refuses terminate(); expiring the pool replaces it.
        with contextlib.suppress(asyncpg.InterfaceError):
            conn.terminate()
        if db.pool is not None:
            with contextlib.suppress(Exception):
                await db.pool.release(conn)
    if db.pool is not None:
        # A server restart broke every pooled connection: replace them rather than fail once each.
        with contextlib.suppress(Exception):
            await db.pool.expire_connections()


class SafeTransaction(PostgresTransaction):
    """Piccolo's transaction, but one whose connection dies is still discarded and unmarked.

    Piccolo's exit rolls back, releases the connection, then clears the "current transaction" marker;
    when the rollback (or the commit) fails on a closed connection, the last two never happen: the pool
    loses the connection for good and the task keeps using the dead transaction."""

    async def __aenter__(self) -> PostgresTransaction:
        try:
            return await super().__aenter__()
        except Exception as exc:
            await discard_connection(self.engine, getattr(self, "connection", None))
            raise NoConnection(f"{exc.__class__.__name__}: {exc}") from exc
        except BaseException:
            await discard_connection(self.engine, getattr(self, "connection", None))
            raise

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        try:
            return await super().__aexit__(exception_type, exception, traceback)
        except BaseException:
            try:
                await discard_connection(self.engine, self.connection)
            finally:
                with contextlib.suppress(ValueError, LookupError):
                    self.engine.current_transaction.reset(self.context)
            raise


@contextlib.asynccontextmanager
async def connection() -> AsyncIterator[asyncpg.Connection]:
    """The open transaction's connection, else one from the pool for this block."""
    db = engine()
    current = db.current_transaction.get()
    if current is not None:
        yield current.connection
        return
    if db.pool is None:
        conn = await db.get_new_connection()
        try:
            yield conn
        finally:
            await conn.close()
        return
    async with db.pool.acquire() as conn:
        yield conn


@contextlib.asynccontextmanager
async def spare_connection() -> AsyncIterator[asyncpg.Connection | None]:
    """A second pooled connection for read-only work beside an open transaction, or None when the pool
    has none free at once: a task that holds a connection and waits for another could wait forever once
    every connection is held by such tasks, so the caller then does the work on its own connection."""
    db = engine()
    pool = db.pool
    if pool is None or (pool.get_idle_size() == 0 and pool.get_size() >= pool.get_max_size()):
        yield None
        return
    try:
        acquired = await pool.acquire(timeout=_SPARE_WAIT_S)
    except TimeoutError:
        yield None
        return
    try:
        yield acquired
    finally:
        await pool.release(acquired)


# How long `spare_connection` waits for a connection the pool said it had (another task may take it).
_SPARE_WAIT_S = 1.0


async def fetch(query: str, *args: Any) -> list[asyncpg.Record]:
    async with connection() as conn:
        return list(await conn.fetch(query, *args))


async def fetchrow(query: str, *args: Any) -> asyncpg.Record | None:
    async with connection() as conn:
        return await conn.fetchrow(query, *args)


async def fetchval(query: str, *args: Any) -> Any:
    async with connection() as conn:
        return await conn.fetchval(query, *args)


async def execute(query: str, *args: Any) -> str:
    async with connection() as conn:
        return str(await conn.execute(query, *args))


async def fetch_custom_plan(conn: asyncpg.Connection, query: str, *args: Any) -> list[asyncpg.Record]:
    """`conn.fetch` of a statement whose good plan needs its parameters' values: the statement is
    planned with them at every execution (`plan_cache_mode = force_custom_plan`, for this statement
    only). asyncpg prepares each statement once per connection; from its sixth execution PostgreSQL may
    keep one generic plan, made without the values: a large array of keys built from parameters is then
    no longer folded into a constant, no longer hashed, and every row tests every key (a 100,000-key
    lookup took 0.5 s instead of a few milliseconds from the sixth upload on). Inside the caller's
    transaction the setting is put back after the statement; on its own, the statement gets a short
    transaction of its own (pool connections carry no session setting)."""
    if conn.is_in_transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        rows = list(await conn.fetch(query, *args))
        await conn.execute("SET LOCAL plan_cache_mode TO DEFAULT")
        return rows
    async with conn.transaction(readonly=True):
        await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        return list(await conn.fetch(query, *args))


async def light_reset(conn: asyncpg.Connection) -> None:
    """The pool's reset when a connection is released (`create_pool(reset=light_reset)`).

    asyncpg always rolls back an open transaction and drops listeners client-side first; its default
    reset then costs one more round trip per release (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`). Pool connections never carry session state here (no session SET, LISTEN or session
    advisory lock: migrations and the job worker open connections of their own; transaction-scoped
    settings and cursors end with their transaction), so nothing is left to reset."""


# The array types the job queue's enqueue statement sends (pgqueuer): asyncpg looks a type up in the
# catalog the first time a connection meets it.
_JOB_TYPES = "SELECT $1::int[], $2::text[], $3::bytea[], $4::interval[], $5::jsonb[]"


async def prepare_connection(conn: asyncpg.Connection) -> None:
    """The pool's `init`, once per new connection: load the codecs of the types the job queue sends,
    so the first job a connection enqueues does not pay for looking them up (a recursive catalog query,
    7–9 ms measured on a 10,000-row payout upload's enqueue against about 1 ms once loaded)."""
    await conn.prepare(_JOB_TYPES)


# How the server opens its pool (`start_connection_pool(**POOL_OPTIONS)`); the benchmarks open theirs
# the same way, so their figures are the server's.
POOL_OPTIONS: dict[str, Any] = {"reset": light_reset, "init": prepare_connection}


def in_transaction() -> bool:
    return engine().current_transaction.get() is not None
