"""The worker dies between the event's commit and its delivery: the event is still delivered, in one
attempt chain per endpoint. Real `neraca worker` processes, killed with SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from portal.domains.webhooks import delivery, services
from portal.lib import sql
from portal.lib.sql import transaction
from tests.support.ledger import Tree
from tests.support.webhooks import Receiver, until

NERACA = str(Path(sys.executable).with_name("neraca"))


@pytest.fixture
def workers(database: str) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_worker(database: str, workers: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database, "NERACA_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [NERACA, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    workers.append(process)
    return process


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


async def test_event_committed_while_the_worker_is_dead_is_delivered_once(
    tree: Tree, receiver: Receiver, database: str, workers: list[subprocess.Popen[bytes]]
) -> None:
    endpoint, secret = await services.create_endpoint(tree.actor, url=receiver.url("/ok"))
    kill(start_worker(database, workers))
    async with transaction():
        event_id = await services.emit(tree.business_id, "topup.paid", {"id": "top_1"})
    start_worker(database, workers)
    await receiver.wait_for(1, seconds=60)
    await until("SELECT status FROM webhook_delivery", "succeeded")
    await asyncio.sleep(1)  # a duplicate, if one were coming, would arrive now
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event_id]
    assert endpoint.id and secret


async def test_worker_killed_mid_attempt_the_chain_resumes(
    tree: Tree, receiver: Receiver, database: str, workers: list[subprocess.Popen[bytes]]
) -> None:
    await services.create_endpoint(tree.actor, url=receiver.url("/hang-first"))
    first = start_worker(database, workers)
    async with transaction():
        event_id = await services.emit(tree.business_id, "topup.paid", {"id": "top_1"})
    await receiver.wait_for(1, seconds=60)  # the worker claimed it and is waiting for the answer
    kill(first)
    row = await sql.fetchrow("SELECT status, attempts, leased_until > now() AS held FROM webhook_delivery")
    assert (row["status"], row["attempts"], row["held"]) == ("pending", 1, True)
    # Time passes beyond the dead worker's lease; the sweep queues the delivery again.
    await sql.execute("UPDATE webhook_delivery SET leased_until = now() - interval '1 second'")
    start_worker(database, workers)
    await delivery.sweep(older_than=timedelta(0))
    await receiver.wait_for(2, seconds=60)
    await until("SELECT status FROM webhook_delivery", "succeeded")
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event_id, event_id]
    assert await sql.fetchval("SELECT count(*) FROM webhook_delivery") == 1
    assert await sql.fetchval("SELECT attempts FROM webhook_delivery") == 2
