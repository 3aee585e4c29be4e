"""Graceful stops and recovery, on a PostgreSQL of the test's own (so it can be crashed) with one web node
(`neraca serve`) and one worker (`neraca worker`) as real processes:

- SIGTERM to a web node finishes the request in flight (here a transfer waiting on a row lock) first;
- SIGTERM to a worker finishes the job in flight (a hold's expiry waiting on the hold's lock) first;
- when PostgreSQL crashes (`pg_ctl stop -m immediate`) `/readyz` answers 503, and once it is back the
  same processes answer 200 and book transfers again without a restart (their pools recover), and the
  worker resumes its jobs.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from neraca import Neraca
from neraca.errors import APIStatusError

from deploy.cluster import Cluster, scratch_dir, seed

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with scratch_dir("neraca-graceful-") as root:
        running = Cluster(root=root, bin_dir=BIN, web_nodes=1, workers=1, proxy=False, replica=False)
        try:
            running.start_database()
            running.start_nodes()
            yield running
        finally:
            running.down()


@pytest.fixture(scope="module")
def books(cluster: Cluster) -> dict[str, object]:
    return seed(cluster.node_env(None), BIN, accounts=2, keys=1)


@pytest.fixture
async def admin(cluster: Cluster) -> AsyncIterator[asyncpg.Connection]:
    assert cluster.primary is not None
    conn = await asyncpg.connect(cluster.primary.dsn())
    yield conn
    await conn.close()


def _client(port: int, books: dict[str, object]) -> Neraca:
    key = books["keys"][0]  # type: ignore[index]
    return Neraca(
        client_id=key["client_id"], client_secret=key["secret"], base_url=f"http://127.0.0.1:{port}"
    )


async def _wait_for_lock_wait(admin: asyncpg.Connection, fragment: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        waiting = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
            f"%{fragment}%",
        )
        if waiting:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no statement like {fragment!r} ever waited on the lock")


async def test_sigterm_lets_the_web_node_finish_the_request_in_flight(
    cluster: Cluster, books: dict[str, object], admin: asyncpg.Connection
) -> None:
    web = next(node for node in cluster.nodes if node.port is not None)
    payer, payee = books["accounts"]  # type: ignore[misc]
    reference = f"drain-{uuid.uuid4().hex[:10]}"
    locker = await asyncpg.connect(cluster.primary.dsn())  # type: ignore[union-attr]
    try:
        async with locker.transaction():
            await locker.execute(
                "SELECT 1 FROM account WHERE id = ANY($1::text[]) FOR UPDATE", [payer, payee]
            )

            def transfer() -> int:
                with _client(web.port or 0, books) as client:
                    done = client.transfers.create(
                        from_account_id=payer, to_account_id=payee, amount=1_000, reference=reference
                    )
                    return done.amount

            in_flight = asyncio.ensure_future(asyncio.to_thread(transfer))
            await _wait_for_lock_wait(admin, "account")
            assert web.process is not None
            web.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(1)  # the node is draining now, the request still waits on the lock
            assert not in_flight.done()
        assert await asyncio.wait_for(in_flight, timeout=30) == 1_000
    finally:
        await locker.close()
    assert web.process is not None
    assert await asyncio.to_thread(web.process.wait, 30) in (0, -signal.SIGTERM)
    booked = await admin.fetchval("SELECT count(*) FROM transfer WHERE reference = $1", reference)
    assert booked == 1
    web.start()
    await asyncio.to_thread(web.wait_ready)


async def test_sigterm_lets_the_worker_finish_the_job_in_flight(
    cluster: Cluster, books: dict[str, object], admin: asyncpg.Connection
) -> None:
    web = next(node for node in cluster.nodes if node.port is not None)
    worker = next(node for node in cluster.nodes if node.port is None)
    payer, payee = books["accounts"]  # type: ignore[misc]

    def hold() -> str:
        with _client(web.port or 0, books) as client:
            made = client.holds.create(
                from_account_id=payer,
                to_account_id=payee,
                amount=2_000,
                reference=f"expiry-{uuid.uuid4().hex[:10]}",
                expires_at=datetime.now(UTC) + timedelta(seconds=1),
            )
            return made.id

    hold_id = await asyncio.to_thread(hold)
    locker = await asyncpg.connect(cluster.primary.dsn())  # type: ignore[union-attr]
    try:
        async with locker.transaction():
            await locker.execute("SELECT 1 FROM hold WHERE id = $1 FOR UPDATE", hold_id)
            await _wait_for_lock_wait(admin, "FROM hold WHERE id")
            assert worker.process is not None
            worker.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(1)
            assert worker.alive(), "the worker stopped with a job in flight"
    finally:
        await locker.close()
    assert worker.process is not None
    assert await asyncio.to_thread(worker.process.wait, 60) in (0, -signal.SIGTERM)
    status = await admin.fetchval("SELECT status FROM hold WHERE id = $1", hold_id)
    assert status == "expired"
    stuck = await admin.fetchval("SELECT count(*) FROM pgqueuer WHERE status = 'picked'")
    assert stuck == 0
    worker.start()
    await asyncio.to_thread(worker.wait_ready)


def _ready(port: int) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code
    except httpx.HTTPError:
        return 0


async def _until(predicate: object, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await asyncio.to_thread(predicate):  # type: ignore[arg-type]
            return
        await asyncio.sleep(0.2)
    raise AssertionError("condition not reached in time")


async def test_a_postgresql_crash_gives_503_then_the_same_processes_recover(
    cluster: Cluster, books: dict[str, object]
) -> None:
    web = next(node for node in cluster.nodes if node.port is not None)
    worker = next(node for node in cluster.nodes if node.port is None)
    port = web.port or 0
    assert cluster.primary is not None
    assert _ready(port) == 200
    pids = (web.process.pid if web.process else 0, worker.process.pid if worker.process else 0)

    cluster.primary.stop("immediate")
    await _until(lambda: _ready(port) == 503, 30)
    payer, payee = books["accounts"]  # type: ignore[misc]

    def write_while_down() -> int:
        key = books["keys"][0]  # type: ignore[index]
        with Neraca(
            client_id=key["client_id"],
            client_secret=key["secret"],
            base_url=f"http://127.0.0.1:{port}",
            max_retries=0,
        ) as client:
            try:
                client.transfers.create(
                    from_account_id=payer, to_account_id=payee, amount=1, reference="while-down"
                )
            except APIStatusError as exc:
                return exc.status_code
        return 200

    assert await asyncio.to_thread(write_while_down) == 503  # "try again", never a 500
    cluster.primary.start()
    await _until(lambda: _ready(port) == 200, 60)

    def write_then_expire() -> str:
        with _client(port, books) as client:
            client.transfers.create(
                from_account_id=payer,
                to_account_id=payee,
                amount=3_000,
                reference=f"after-{uuid.uuid4().hex[:8]}",
            )
            made = client.holds.create(
                from_account_id=payer,
                to_account_id=payee,
                amount=500,
                reference=f"resume-{uuid.uuid4().hex[:8]}",
                expires_at=datetime.now(UTC) + timedelta(seconds=1),
            )
            return made.id

    hold_id = await asyncio.to_thread(write_then_expire)
    conn = await asyncpg.connect(cluster.primary.dsn())
    try:
        deadline = time.monotonic() + 60
        while await conn.fetchval("SELECT status FROM hold WHERE id = $1", hold_id) != "expired":
            assert time.monotonic() < deadline, "the worker did not resume after the crash"
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    assert web.alive() and worker.alive()
    assert pids == (web.process.pid if web.process else 0, worker.process.pid if worker.process else 0)
