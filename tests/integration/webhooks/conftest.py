"""Fixtures for events and webhooks: a business with accounts, and a live receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from portal.domains.webhooks import delivery
from portal.lib import sql
from tests.integration.ledger.helpers import Tree, make_tree
from tests.integration.webhooks.receiver import Receiver


@pytest.fixture
async def tree(db: str) -> Tree:
    return await make_tree(2)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    try:
        yield server
    finally:
        await delivery.close_clients()
        await server.stop()


async def pending_pairs(business_id: str | None = None) -> list[tuple[str, str]]:
    """Deliveries that are due now (what the queued jobs name)."""
    rows = await sql.fetch(
        "SELECT event_id, endpoint_id FROM webhook_delivery WHERE status = 'pending' "
        "AND next_attempt_at <= now() AND ($1::text IS NULL OR business_id = $1) ORDER BY created_at",
        business_id,
    )
    return [(r["event_id"], r["endpoint_id"]) for r in rows]


async def deliver_due(business_id: str | None = None, **kwargs: Any) -> list[delivery.Outcome]:
    return await delivery.deliver(await pending_pairs(business_id), **kwargs)


async def queued_jobs() -> list[dict[str, Any]]:
    """Payloads of the queued delivery jobs (pgqueuer's table)."""
    import json

    rows = await sql.fetch("SELECT payload FROM pgqueuer WHERE entrypoint = 'webhooks.deliver' ORDER BY id")
    return [json.loads(bytes(r["payload"])) for r in rows]


async def run_queued_jobs() -> int:
    """Run the delivery jobs that are due, as the worker would (each taken off the queue once)."""
    from portal.domains.webhooks import jobs

    rows = await sql.fetch(
        "DELETE FROM pgqueuer WHERE entrypoint = 'webhooks.deliver' AND execute_after <= now() "
        "RETURNING payload"
    )
    import json

    for row in rows:
        await jobs.deliver(json.loads(bytes(row["payload"])))
    return len(rows)


async def until(query: str, expected: Any, *args: Any, seconds: float = 30) -> None:
    """Poll `query` until it returns `expected` (work done by another task or process)."""
    value = None
    for _ in range(int(seconds * 20)):
        value = await sql.fetchval(query, *args)
        if value == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{query!r} gave {value!r}, not {expected!r}, after {seconds} s")
