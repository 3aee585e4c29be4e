"""Plain SQL through Piccolo's engine: on the current transaction's connection when one is open."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg


@contextlib.asynccontextmanager
async def connection() -> AsyncIterator[asyncpg.Connection]:
    """The open transaction's connection, else one from the pool for this block."""
    from portal.db.piccolo_conf import DB

    transaction = DB.current_transaction.get()
    if transaction is not None:
        yield transaction.connection
        return
    if DB.pool is None:
        conn = await DB.get_new_connection()
        try:
            yield conn
        finally:
            await conn.close()
        return
    async with DB.pool.acquire() as conn:
        yield conn


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


async def light_reset(conn: asyncpg.Connection) -> None:
    """The pool's reset when a connection is released (`create_pool(reset=light_reset)`).

    asyncpg always rolls back an open transaction and drops listeners client-side first; its default
    reset then costs one more round trip per release (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`). Pool connections never carry session state here (no session SET, LISTEN or session
    advisory lock: migrations and the job worker open connections of their own; transaction-scoped
    settings and cursors end with their transaction), so nothing is left to reset."""


def in_transaction() -> bool:
    from portal.db.piccolo_conf import DB

    return DB.current_transaction.get() is not None
