"""A cycle run killed with SIGKILL in the middle of its batch (after it locked the subscriptions and
while it waits for the business's invoice counter; or, for invoices due at issue, after the ledger moved
their money and while it waits to write the events) leaves nothing behind: the next run issues (and
collects) every invoice once, numbered from 1 without a gap."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import date

from portal.domains.invoices import services as invoices
from portal.domains.ledger.invariants import check_all
from portal.lib import sql
from tests.support.invoices import make_plan, on_day, subscribe_tree
from tests.support.ledger import fund, make_tree

RUN = """
import asyncio, sys
from datetime import date

async def main() -> None:
    from portal.db.piccolo_conf import DB
    from portal.domains.invoices import services

    await DB.start_connection_pool(min_size=1, max_size=2)
    await services.generate_due(day=date.fromisoformat(sys.argv[2]), business_id=sys.argv[1])

asyncio.run(main())
"""


async def _wait_for(query: str) -> None:
    async with asyncio.timeout(60):
        while not await sql.fetchval(query):  # noqa: ASYNC110 (polling another process's state)
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def _run_blocked_on(lock: str, business_id: str, waiting: str) -> AsyncIterator[None]:
    """Start a cycle run for `business_id` in a subprocess while another connection holds the row that
    `lock` locks; once the run waits for it (`waiting` matches its query) the body runs, then the run
    is killed with SIGKILL and the lock released; returns when its backend has let go of the
    subscriptions (it rolls back once it notices its client is gone)."""
    blocker = await sql.engine().get_new_connection()
    process = None
    try:
        await blocker.execute("BEGIN")
        await blocker.execute(lock, business_id)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", RUN, business_id, "2026-02-10", env=os.environ.copy()
        )
        await _wait_for(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            f"AND query LIKE '{waiting}' AND pid <> pg_backend_pid()"
        )
        yield
        os.kill(process.pid, signal.SIGKILL)
        await asyncio.wait_for(process.wait(), 30)
    finally:
        await blocker.execute("ROLLBACK")
        await blocker.close()
        if process is not None and process.returncode is None:
            process.kill()
    await _wait_for(
        "SELECT count(*) = 0 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE c.relname = 'invoice_subscription' AND l.pid <> pg_backend_pid()"
    )


async def test_a_run_killed_mid_batch_loses_and_duplicates_nothing(db: str) -> None:
    tree = await make_tree(12)
    plan = await make_plan(tree.actor, tree.main, fixed_amount=2_000, due_days=5)
    await subscribe_tree(tree.actor, plan.id, tree.main, date(2026, 1, 10))
    await sql.execute(
        "INSERT INTO invoice_counter (business_id, last_number) VALUES ($1, 0)", tree.business_id
    )
    # Hold the business's counter so the run stops right after it locked its subscriptions.
    async with _run_blocked_on(
        "SELECT 1 FROM invoice_counter WHERE business_id = $1 FOR UPDATE",
        tree.business_id,
        "INSERT INTO invoice_counter%",
    ):
        pass
    assert await sql.fetchval("SELECT count(*) FROM invoice WHERE business_id = $1", tree.business_id) == 0
    with on_day(date(2026, 2, 10)):
        assert await invoices.generate_due(business_id=tree.business_id) == 12
    rows = await sql.fetch(
        "SELECT number, subscription_id FROM invoice WHERE business_id = $1", tree.business_id
    )
    assert sorted(r["number"] for r in rows) == list(range(1, 13))
    assert len({r["subscription_id"] for r in rows}) == 12


async def test_a_run_killed_after_collecting_at_issue_loses_and_duplicates_nothing(db: str) -> None:
    # Due the day they are issued: the batch has moved the money when it is killed, before it commits.
    tree = await make_tree(6)
    for account in tree.accounts:
        await fund(tree.business_id, account, 5_000)
    plan = await make_plan(tree.actor, tree.main, fixed_amount=2_000, tax_percent="0")
    await subscribe_tree(tree.actor, plan.id, tree.main, date(2026, 1, 10))
    await sql.execute(
        "INSERT INTO event_sequence (business_id, last) VALUES ($1, 0) ON CONFLICT DO NOTHING",
        tree.business_id,
    )
    balances = (
        "SELECT sum(credits_posted - debits_posted) FROM account WHERE business_id = $1 AND id = ANY($2)"
    )
    before = await sql.fetchval(balances, tree.business_id, tree.accounts)
    # Hold the business's event sequence: the run stops at its events, after the ledger's writes.
    async with _run_blocked_on(
        "SELECT 1 FROM event_sequence WHERE business_id = $1 FOR UPDATE",
        tree.business_id,
        "%INSERT INTO event_sequence%",
    ):
        # By then the waiting run has written its transfers and its invoices (uncommitted).
        written = await sql.fetch(
            "SELECT DISTINCT c.relname FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
            "JOIN pg_class c ON c.oid = l.relation WHERE a.wait_event_type = 'Lock' "
            "AND a.query LIKE '%INSERT INTO event_sequence%' AND l.mode = 'RowExclusiveLock' "
            "AND c.relname IN ('transfer', 'invoice', 'invoice_step')"
        )
        assert sorted(r["relname"] for r in written) == ["invoice", "invoice_step", "transfer"]
    assert await sql.fetchval("SELECT count(*) FROM invoice WHERE business_id = $1", tree.business_id) == 0
    paid_out = "SELECT count(*) FROM transfer WHERE business_id = $1 AND metadata ? 'invoice_id'"
    assert await sql.fetchval(paid_out, tree.business_id) == 0
    assert await sql.fetchval(balances, tree.business_id, tree.accounts) == before
    with on_day(date(2026, 2, 10)):
        assert await invoices.run_cycle(business_id=tree.business_id) == (6, 6)
    rows = await sql.fetch("SELECT number, status FROM invoice WHERE business_id = $1", tree.business_id)
    assert sorted(r["number"] for r in rows) == list(range(1, 7))
    assert {r["status"] for r in rows} == {"paid"}
    assert await sql.fetchval(paid_out, tree.business_id) == 6
    assert await sql.fetchval(balances, tree.business_id, tree.accounts) == before - 6 * 2_000
    assert await check_all() == []
