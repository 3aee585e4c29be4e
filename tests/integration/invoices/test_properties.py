"""Random billing histories (cycles on random days, top-ups, partial collection on or off, void, credit
notes, write-offs, collection by hand): afterwards billed = collected + open + written off + credited,
what the invoices say was collected is what the ledger moved, and the ledger's invariants hold."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.domains.invoices import services as invoices
from portal.domains.ledger.invariants import check_all
from portal.lib import sql
from portal.lib.errors import NeracaError
from tests.support.invoices import make_plan, on_day
from tests.support.ledger import fund, make_tree, run_sync

N = 3
START = date(2026, 1, 5)
command = st.one_of(
    st.tuples(st.just("cycle"), st.integers(1, 20)),
    st.tuples(st.just("fund"), st.integers(0, N - 1), st.integers(1, 200_000)),
    st.tuples(st.sampled_from(["void", "credit", "write_off", "collect"]), st.integers(0, 30)),
)


async def run_history(commands: list[Any], partial: bool, percent: str) -> None:
    tree = await make_tree(N)
    await invoices.update_settings(tree.actor, partial_collection=partial, dunning_retries=1)
    weekly = await make_plan(tree.actor, tree.main, fixed_amount=33_333, cycle="weekly", percent=percent)
    monthly = await make_plan(tree.actor, tree.main, fixed_amount=75_000, due_days=2)
    with on_day(START):
        for plan in (weekly, monthly):
            await invoices.subscribe(
                tree.actor, plan_id=plan.id, account_id=tree.main, starts_on=START, include_descendants=True
            )
    day = START
    for step in commands:
        if step[0] == "cycle":
            day += timedelta(days=step[1])
            with on_day(day):
                await invoices.run_cycle(business_id=tree.business_id)
        elif step[0] == "fund":
            await fund(tree.business_id, tree.accounts[step[1]], step[2])
        else:
            ids = await sql.fetch(
                "SELECT id FROM invoice WHERE business_id = $1 ORDER BY number", tree.business_id
            )
            if not ids:
                continue
            invoice_id = ids[step[1] % len(ids)]["id"]
            action = {
                "void": invoices.void_invoice,
                "credit": invoices.credit,
                "write_off": invoices.write_off,
                "collect": invoices.collect_now,
            }[step[0]]
            try:
                with on_day(day):
                    await action(tree.actor, invoice_id)
            except NeracaError:
                pass  # refused (wrong status, or the receiving account short for a credit note): no change
    totals = await sql.fetchrow(
        "SELECT coalesce(sum(total) FILTER (WHERE status <> 'void'), 0) AS billed, "
        "coalesce(sum(paid_amount - credited_amount), 0) AS collected, "
        "coalesce(sum(total - paid_amount) FILTER (WHERE status = 'open'), 0) AS open, "
        "coalesce(sum(written_off_amount), 0) AS written_off, coalesce(sum(credited_amount), 0) AS credited, "
        "count(*) FILTER (WHERE status = 'void' AND paid_amount > 0) AS bad_voids "
        "FROM invoice WHERE business_id = $1",
        tree.business_id,
    )
    assert totals is not None
    assert (
        totals["billed"] == totals["collected"] + totals["open"] + totals["written_off"] + totals["credited"]
    )
    assert totals["bad_voids"] == 0
    moved = await sql.fetchval(
        "SELECT coalesce(sum(CASE WHEN kind = 'reversal' THEN -amount ELSE amount END), 0) FROM transfer "
        "WHERE business_id = $1 AND metadata ? 'invoice_id'",
        tree.business_id,
    )
    assert moved == totals["collected"]
    numbers = await sql.fetch(
        "SELECT number FROM invoice WHERE business_id = $1 ORDER BY number", tree.business_id
    )
    assert [r["number"] for r in numbers] == list(range(1, len(numbers) + 1))
    per_period = await sql.fetchval(
        "SELECT count(*) FROM (SELECT subscription_id, period_start FROM invoice WHERE business_id = $1 "
        "GROUP BY 1, 2 HAVING count(*) > 1) AS twice",
        tree.business_id,
    )
    assert per_period == 0
    assert await check_all() == []


async def test_billed_equals_collected_open_written_off_and_credited(db: str) -> None:
    loop = asyncio.get_running_loop()

    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        commands=st.lists(command, min_size=1, max_size=14),
        partial=st.booleans(),
        percent=st.sampled_from(["0", "2.5", "100"]),
    )
    def history(commands: list[Any], partial: bool, percent: str) -> None:
        run_sync(loop, run_history(commands, partial, percent))

    await asyncio.to_thread(history)
