"""Periodic sweeps (`@periodic`): the worker schedules them with pgqueuer's SchedulerManager, and each
sweep does its work once — a second run (another worker, a late tick) changes nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg

from portal.domains.identity import jobs as identity_jobs
from portal.domains.identity import ratelimit
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.ledger import jobs as ledger_jobs
from portal.domains.ledger import services as ledger
from portal.domains.ledger.invariants import check_all
from portal.lib import clock, sql
from portal.lib.jobs import PERIODIC
from portal.worker import build_scheduler
from tests.support.identity import make_business
from tests.support.ledger import fund, make_tree

SWEEPS = {
    "ledger.jobs.expire_due_holds",
    "ledger.jobs.expire_due_topups",
    "identity.jobs.prune_api_requests",
    "identity.jobs.prune_rate_limits",
}


async def test_the_worker_schedules_every_sweep(db: str) -> None:
    connection = await asyncpg.connect(dsn=db)
    try:
        scheduler = build_scheduler(connection)
        assert set(PERIODIC) >= SWEEPS
        assert {str(key.entrypoint) for key in scheduler.registry} == set(PERIODIC)
        task = asyncio.create_task(scheduler.run())
        try:
            for _ in range(100):
                rows = await sql.fetch("SELECT entrypoint, expression FROM pgqueuer_schedules")
                if {r["entrypoint"] for r in rows} >= SWEEPS:
                    break
                await asyncio.sleep(0.1)
            scheduled = {r["entrypoint"]: r["expression"] for r in rows}
            assert set(scheduled) >= SWEEPS, scheduled
            assert scheduled["ledger.jobs.expire_due_holds"] == "* * * * *"
        finally:
            scheduler.shutdown.set()
            await asyncio.wait_for(task, timeout=15)
    finally:
        await connection.close()


async def test_hold_sweep_expires_overdue_holds_once(db: str) -> None:
    t = await make_tree(2)
    a, b = t.accounts
    await fund(t.business_id, a, 10_000)
    due = await ledger.create_hold(t.actor, from_account_id=a, to_account_id=b, amount=4_000, reference="H1")
    later = await ledger.create_hold(
        t.actor, from_account_id=a, to_account_id=b, amount=1_000, reference="H2"
    )
    await sql.execute(
        "UPDATE hold SET expires_at = $2 WHERE id = $1", due.id, clock.now() - timedelta(minutes=1)
    )
    await sql.execute(
        "UPDATE hold SET expires_at = $2 WHERE id = $1", later.id, clock.now() + timedelta(hours=1)
    )

    await ledger_jobs.expire_due_holds()
    await asyncio.gather(ledger_jobs.expire_due_holds(), ledger_jobs.expire_due_holds())  # two workers

    assert (await ledger.get_hold(t.actor, due.id)).status == "expired"
    assert (await ledger.get_hold(t.actor, later.id)).status == "pending"
    pending = await sql.fetchval("SELECT debits_pending FROM account WHERE id = $1", a)
    assert pending == 1_000
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM transfer WHERE hold_id = $1 AND kind = 'hold_expire'", due.id
        )
        == 1
    )
    assert await check_all() == []


async def test_topup_sweep_expires_unpaid_orders_past_24_hours(db: str) -> None:
    business, _ = await make_business()
    t = await make_tree(1, business_id=business.id)
    overdue = await ledger.create_topup(t.actor, account_id=t.accounts[0], amount=50_000, reference="TU-1")
    fresh = await ledger.create_topup(t.actor, account_id=t.accounts[0], amount=50_000, reference="TU-2")
    await sql.execute(
        "UPDATE topup SET expires_at = $2 WHERE id = $1", overdue.id, clock.now() - timedelta(seconds=1)
    )

    await asyncio.gather(ledger_jobs.expire_due_topups(), ledger_jobs.expire_due_topups())

    assert (await ledger.get_topup(t.actor, overdue.id)).status == "expired"
    assert (await ledger.get_topup(t.actor, fresh.id)).status == "pending"
    await ledger_jobs.expire_due_topups()
    assert await sql.fetchval("SELECT count(*) FROM topup WHERE status = 'expired'") == 1


async def test_api_request_sweep_forgets_request_ids_older_than_72_hours(db: str) -> None:
    business, owner = await make_business()
    key, _ = await identity.create_api_key(
        user_actor(owner, business), name="k", permissions=frozenset({"accounts:view"})
    )
    insert = (
        "INSERT INTO api_request (api_key_id, request_id, method, target, body_hash, state, status_code, "
        "body, created_at) VALUES ($1, $2, 'POST', '/api/v1/transfers', 'h', 'done', 201, '\\x7b7d', $3)"
    )
    await sql.execute(insert, key.id, "old", clock.now() - timedelta(hours=73))
    await sql.execute(insert, key.id, "recent", clock.now() - timedelta(hours=71))

    await asyncio.gather(identity_jobs.prune_api_requests(), identity_jobs.prune_api_requests())

    left = await sql.fetch("SELECT request_id FROM api_request WHERE api_key_id = $1", key.id)
    assert [r["request_id"] for r in left] == ["recent"]


async def test_rate_limit_sweep_drops_windows_that_ended_long_ago(db: str) -> None:
    await ratelimit.hit("login-ip", "192.0.2.1")
    await sql.execute(
        "INSERT INTO rate_limit (bucket, window_start, hits) VALUES ('login-ip:192.0.2.9', $1, 3)",
        clock.now() - timedelta(days=2),
    )

    await asyncio.gather(identity_jobs.prune_rate_limits(), identity_jobs.prune_rate_limits())

    buckets = [r["bucket"] for r in await sql.fetch("SELECT bucket FROM rate_limit")]
    assert len(buckets) == 1 and "192.0.2.9" not in buckets[0]
