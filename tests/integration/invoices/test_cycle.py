"""The billing cycle against the real database: an invoice issued at the end of its period and paid from
the sub-account's balance by one ledger transfer to the plan's receiving account; numbers without gaps;
exactly once under two concurrent runs and a clock jump; day 31 in February; dunning over a holiday."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

from portal.domains.invoices import services as invoices
from portal.domains.ledger.invariants import check_all
from portal.domains.payouts.router import Calendar
from portal.lib import sql
from tests.support.invoices import make_plan, on_day, subscribe_tree
from tests.support.ledger import fund, make_tree


async def _invoices(business_id: str) -> list[Any]:
    return await sql.fetch("SELECT * FROM invoice WHERE business_id = $1 ORDER BY number", business_id)


async def test_an_invoice_is_issued_at_the_period_end_and_paid_from_the_balance(db: str) -> None:
    tree = await make_tree(1)
    division = tree.accounts[0]
    await fund(tree.business_id, division, 500_000)
    plan = await make_plan(tree.actor, tree.main, fixed_amount=100_000, tax_percent="11")
    with on_day(date(2026, 3, 1)):
        (sub,) = await invoices.subscribe(
            tree.actor, plan_id=plan.id, account_id=division, starts_on="2026-03-01"
        )
        assert (await invoices.run_cycle(business_id=tree.business_id)) == (0, 0)
        preview = await invoices.preview(tree.actor, sub.id)
    assert (preview.period_start, preview.period_end) == (date(2026, 3, 1), date(2026, 4, 1))
    assert (preview.subtotal, preview.tax, preview.total) == (100_000, 11_000, 111_000)
    assert await _invoices(tree.business_id) == []  # the dry run wrote nothing
    with on_day(date(2026, 4, 1)):
        issued, attempted = await invoices.run_cycle(business_id=tree.business_id)
    assert (issued, attempted) == (1, 1)
    (row,) = await _invoices(tree.business_id)
    assert row["number"] == 1 and row["status"] == "paid" and row["paid_amount"] == 111_000
    invoice = await invoices.get_invoice(tree.actor, row["id"])
    assert invoice.number == "INV-000001"
    assert [s.kind for s in invoice.steps or []] == ["issued", "collected"]
    payment = await sql.fetchrow(
        "SELECT * FROM transfer WHERE business_id = $1 AND metadata->>'invoice_id' = $2",
        tree.business_id,
        row["id"],
    )
    assert payment is not None
    assert payment["debit_account_id"] == division and payment["credit_account_id"] == tree.main
    assert payment["amount"] == 111_000 and payment["description"] == "Invoice INV-000001"
    assert payment["reference"] == "INV-000001-1"
    events = await sql.fetch(
        "SELECT type FROM event WHERE business_id = $1 AND type LIKE 'invoice.%' ORDER BY sequence",
        tree.business_id,
    )
    assert [e["type"] for e in events] == ["invoice.created", "invoice.paid"]
    assert await check_all() == []


async def test_two_concurrent_runs_issue_each_period_once_with_gapless_numbers(db: str) -> None:
    tree = await make_tree(30)
    plan = await make_plan(tree.actor, tree.main, fixed_amount=1_000, due_days=10)
    await subscribe_tree(tree.actor, plan.id, tree.main, date(2026, 1, 5))
    with on_day(date(2026, 2, 5)):
        counts = await asyncio.gather(
            invoices.generate_due(business_id=tree.business_id, batch=7),
            invoices.generate_due(business_id=tree.business_id, batch=7),
        )
    assert sum(counts) == 30
    rows = await _invoices(tree.business_id)
    assert [r["number"] for r in rows] == list(range(1, 31))
    assert len({r["subscription_id"] for r in rows}) == 30
    with on_day(date(2026, 2, 6)):
        assert await invoices.generate_due(business_id=tree.business_id) == 0


async def test_two_concurrent_runs_collect_invoices_due_at_issue_once_each(db: str) -> None:
    # Due the day they are issued: each batch collects its own invoices before writing them.
    tree = await make_tree(12)
    for account in tree.accounts[:10]:
        await fund(tree.business_id, account, 3_000)
    plan = await make_plan(tree.actor, tree.main, fixed_amount=2_000, tax_percent="11")
    with on_day(date(2026, 3, 3)):
        for account in tree.accounts:
            await invoices.subscribe(tree.actor, plan_id=plan.id, account_id=account, starts_on="2026-03-03")
    with on_day(date(2026, 4, 3)):
        counts = await asyncio.gather(
            invoices.generate_due(business_id=tree.business_id, batch=5),
            invoices.generate_due(business_id=tree.business_id, batch=5),
        )
        # Issuing collected them already: nothing is left to issue or to attempt today.
        assert await invoices.run_cycle(business_id=tree.business_id) == (0, 0)
    assert sum(counts) == 12
    rows = await _invoices(tree.business_id)
    assert [r["number"] for r in rows] == list(range(1, 13))
    paid = [r for r in rows if r["status"] == "paid"]
    assert {r["account_id"] for r in paid} == set(tree.accounts[:10])
    assert all(r["paid_amount"] == 2_220 and r["closed_at"] is not None for r in paid)
    unpaid = [r for r in rows if r["status"] == "open"]
    assert [(r["attempts"], r["paid_amount"]) for r in unpaid] == [(1, 0), (1, 0)]
    assert {r["next_attempt_on"] for r in unpaid} == {Calendar().next_business_day(date(2026, 4, 3))}
    payments = await sql.fetch(
        "SELECT metadata->>'invoice_id' AS invoice_id, amount, reference FROM transfer "
        "WHERE business_id = $1 AND metadata ? 'invoice_id'",
        tree.business_id,
    )
    assert sorted(p["invoice_id"] for p in payments) == sorted(r["id"] for r in paid)
    assert {p["reference"] for p in payments} == {f"INV-{r['number']:06d}-1" for r in paid}
    credited = await sql.fetchval("SELECT credits_posted FROM account WHERE id = $1", tree.main)
    assert credited == 10 * 2_220
    for row in rows:
        kinds = [s.kind for s in (await invoices.get_invoice(tree.actor, row["id"])).steps or []]
        assert kinds == (
            ["issued", "collected"] if row["status"] == "paid" else ["issued", "payment_failed", "notified"]
        )
    events = await sql.fetch(
        "SELECT type, data FROM event WHERE business_id = $1 AND type LIKE 'invoice.%' ORDER BY sequence",
        tree.business_id,
    )
    by_invoice: dict[str, list[tuple[str, str]]] = {}
    for event in events:
        data = json.loads(event["data"]) if isinstance(event["data"], str) else event["data"]
        by_invoice.setdefault(data["id"], []).append((event["type"], data["status"]))
    assert sorted(by_invoice) == sorted(r["id"] for r in rows)
    for row in rows:
        expected = [("invoice.created", "open")] + (
            [("invoice.paid", "paid")] if row["status"] == "paid" else [("invoice.payment_failed", "open")]
        )
        assert by_invoice[row["id"]] == expected
    assert await check_all() == []


async def test_a_clock_jump_bills_every_missed_period_once_in_order(db: str) -> None:
    tree = await make_tree(1)
    plan = await make_plan(tree.actor, tree.main, fixed_amount=5_000, cycle="monthly", due_days=3)
    with on_day(date(2026, 1, 31)):
        (sub,) = await invoices.subscribe(
            tree.actor, plan_id=plan.id, account_id=tree.accounts[0], starts_on="2026-01-31", cycle_day=31
        )
    assert sub.next_period_end == date(2026, 2, 28)  # day 31 in February is its last day
    with on_day(date(2026, 5, 2)):
        assert await invoices.generate_due(business_id=tree.business_id) == 3
        assert await invoices.generate_due(business_id=tree.business_id) == 0
    rows = await _invoices(tree.business_id)
    periods = [(r["period_start"], r["period_end"]) for r in rows]
    assert periods == [
        (date(2026, 1, 31), date(2026, 2, 28)),
        (date(2026, 2, 28), date(2026, 3, 31)),
        (date(2026, 3, 31), date(2026, 4, 30)),
    ]
    assert [r["due_on"] for r in rows] == [date(2026, 3, 3), date(2026, 4, 3), date(2026, 5, 3)]
    current = await invoices.get_subscription(tree.actor, sub.id)
    assert (current.next_period_start, current.next_period_end) == (date(2026, 4, 30), date(2026, 5, 31))


async def test_dunning_retries_on_business_days_skipping_a_holiday_then_overdue(db: str) -> None:
    tree = await make_tree(1)
    division = tree.accounts[0]
    await invoices.update_settings(tree.actor, dunning_retries=2, freeze_after_dunning=True)
    plan = await make_plan(tree.actor, tree.main, fixed_amount=50_000, tax_percent="0")
    # The period ends on Friday 14 August 2026; Monday 17 August is Independence Day.
    with on_day(date(2026, 7, 14)):
        await invoices.subscribe(tree.actor, plan_id=plan.id, account_id=division, starts_on="2026-07-14")
    with on_day(date(2026, 8, 14)):
        await invoices.run_cycle(business_id=tree.business_id)
    (row,) = await _invoices(tree.business_id)
    assert row["status"] == "open" and row["attempts"] == 1
    assert row["next_attempt_on"] == date(2026, 8, 18) == Calendar().next_business_day(date(2026, 8, 14))
    with on_day(date(2026, 8, 17)):  # the holiday: nothing is retried
        assert await invoices.collect_due(business_id=tree.business_id) == 0
    with on_day(date(2026, 8, 18)):
        assert await invoices.collect_due(business_id=tree.business_id) == 1
    with on_day(date(2026, 8, 19)):
        assert await invoices.collect_due(business_id=tree.business_id) == 1
    (row,) = await _invoices(tree.business_id)
    assert row["attempts"] == 3 and row["overdue"] and row["next_attempt_on"] is None
    assert await sql.fetchval("SELECT status FROM account WHERE id = $1", division) == "frozen"
    invoice = await invoices.get_invoice(tree.actor, row["id"])
    kinds = [s.kind for s in invoice.steps or []]
    assert (
        kinds.count("payment_failed") == 3 and kinds.count("notified") == 3 and kinds[-1] == "account_frozen"
    )
    types = [
        r["type"]
        for r in await sql.fetch(
            "SELECT type FROM event WHERE business_id = $1 AND type LIKE 'invoice.%' ORDER BY sequence",
            tree.business_id,
        )
    ]
    assert types == ["invoice.created"] + ["invoice.payment_failed"] * 3 + ["invoice.overdue"]
    notes = await sql.fetchval(
        "SELECT count(*) FROM notification WHERE business_id = $1 AND account_id = $2 "
        "AND kind LIKE 'invoice.%'",
        tree.business_id,
        division,
    )
    assert notes == 3
    # Topped up and unfrozen, the business collects it by hand.
    await fund(tree.business_id, division, 60_000)
    from portal.domains.accounts import services as accounts

    await accounts.set_status(tree.actor, division, "unfreeze")
    with on_day(date(2026, 8, 20)):
        paid = await invoices.collect_now(tree.actor, row["id"])
    assert paid.status == "paid" and paid.paid_amount == 50_000
    assert await check_all() == []


async def test_partial_collection_takes_what_is_there_when_the_business_allows_it(db: str) -> None:
    tree = await make_tree(1)
    division = tree.accounts[0]
    await fund(tree.business_id, division, 30_000)
    await invoices.update_settings(tree.actor, partial_collection=True)
    plan = await make_plan(tree.actor, tree.main, fixed_amount=100_000, tax_percent="0")
    with on_day(date(2026, 6, 1)):
        await invoices.subscribe(tree.actor, plan_id=plan.id, account_id=division, starts_on="2026-06-01")
    with on_day(date(2026, 7, 1)):
        await invoices.run_cycle(business_id=tree.business_id)
    (row,) = await _invoices(tree.business_id)
    assert row["status"] == "open" and row["paid_amount"] == 30_000
    assert (
        await sql.fetchval("SELECT credits_posted - debits_posted FROM account WHERE id = $1", division) == 0
    )
    await fund(tree.business_id, division, 70_000)
    with on_day(date(2026, 7, 2)):
        await invoices.collect_due(business_id=tree.business_id)
    (row,) = await _invoices(tree.business_id)
    assert row["status"] == "paid" and row["paid_amount"] == 100_000
    assert await check_all() == []
