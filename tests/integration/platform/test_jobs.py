"""Transactional enqueue and the pgqueuer worker."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from portal.lib.jobs import REGISTRY, enqueue, job

SEEN: list[dict[str, Any]] = []


@job("test.record")
async def record(payload: dict[str, Any]) -> None:
    SEEN.append(payload)


async def queued(name: str) -> int:
    from portal.db.piccolo_conf import DB

    rows = await DB._run_in_pool("SELECT count(*) AS n FROM pgqueuer WHERE entrypoint = $1", [name])
    return int(rows[0]["n"])


async def test_enqueue_outside_a_transaction_is_refused(db: str) -> None:
    with pytest.raises(RuntimeError, match="inside the transaction"):
        await enqueue("test.record", {"n": 1})


async def test_job_enqueued_in_a_rolled_back_transaction_never_exists(db: str) -> None:
    from portal.db.piccolo_conf import DB

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with DB.transaction():
            await enqueue("test.record", {"n": 2})
            raise Boom
    assert await queued("test.record") == 0


async def test_worker_runs_a_committed_job_once(db: str) -> None:
    from portal.db.piccolo_conf import DB
    from portal.worker import run_worker

    SEEN.clear()
    async with DB.transaction():
        await enqueue("test.record", {"n": 3})
    assert await queued("test.record") == 1
    assert "test.record" in REGISTRY
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(stop))
    try:
        for _ in range(100):
            if SEEN:
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    assert SEEN == [{"n": 3}]
    assert await queued("test.record") == 0


async def test_a_pool_connection_knows_the_job_queue_types_before_its_first_enqueue(database: str) -> None:
    """The server's pool prepares each new connection (`sql.prepare_connection`): its first enqueue
    runs no catalog look-up of types (asyncpg's introspection query), which a connection without it
    runs."""
    import json

    import asyncpg
    from pgqueuer.db import AsyncpgDriver
    from pgqueuer.queries import Queries

    from portal.lib import sql

    class Undo(Exception):
        pass

    async def first_enqueue(prepared: bool) -> list[str]:
        conn = await asyncpg.connect(database)
        try:
            if prepared:
                await sql.prepare_connection(conn)
            seen: list[str] = []
            conn.add_query_logger(lambda logged: seen.append(logged.query))
            with pytest.raises(Undo):
                async with conn.transaction():
                    body = json.dumps({"n": 1}).encode()
                    await Queries(AsyncpgDriver(conn)).enqueue("test.types", body, 0, None, None)
                    raise Undo
            return [query for query in seen if "typeinfo" in query]
        finally:
            await conn.close()

    assert await first_enqueue(prepared=False)  # the control: a plain connection looks the types up
    assert await first_enqueue(prepared=True) == []
    assert sql.POOL_OPTIONS["init"] is sql.prepare_connection
