"""The custom-report datasets of payments, settlement batches, payouts, card-billing charges and invoices,
each run against rows in its domain's tables: its default columns, a filter, a grouping by account with
totals, and isolation (another business's rows never counted, its account refused in a filter, a scoped
user only its subtree's rows). Rows are written in final states (and subscriptions cancelled), so no
job of another test acts on them."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from portal.domains.reports.custom import services as custom
from portal.domains.reports.custom.datasets import DATASETS
from portal.lib import clock, sql
from portal.lib.errors import NotFound
from portal.lib.ids import new_id
from tests.support.ledger import Tree, make_tree, owner

# Every business gets two rows on its first account and one on its second, of these amounts.
AMOUNTS = ((0, 100_000), (0, 250_000), (1, 400_000))


async def _payments(tree: Tree) -> None:
    for i, (which, amount) in enumerate(AMOUNTS):
        await sql.execute(
            "INSERT INTO payment (business_id, id, account_id, amount, currency, channel, invoice_number, "
            "customer_name, source, request_hash, status, fee) "
            "VALUES ($1, $2, $3, $4, 'IDR', $5, $6, 'Budi', 'api', 'h', $7, $8)",
            tree.business_id,
            new_id("pay"),
            tree.accounts[which],
            amount,
            "qris" if i == 1 else "va",
            f"INV-{i}",
            "expired" if which == 0 else "failed",
            amount // 100,
        )


async def _settlements(tree: Tree) -> None:
    # The first and third rows' payments settle in one VA batch (two accounts' shares), the second in QRIS.
    lines = {"va": [AMOUNTS[0], AMOUNTS[2]], "qris": [AMOUNTS[1]]}
    for channel, parts in lines.items():
        batch, gross = new_id("stl"), sum(a for _, a in parts)
        await sql.execute(
            "INSERT INTO settlement (business_id, id, channel, business_day, settlement_date, status, "
            "payment_count, gross, fees, net) VALUES ($1, $2, $3, current_date, current_date, 'paid', $4, "
            "$5, $6, $5::bigint - $6::bigint)",
            tree.business_id,
            batch,
            channel,
            len(parts),
            gross,
            gross // 100,
        )
        for which, amount in parts:
            await sql.execute(
                "INSERT INTO settlement_line (business_id, settlement_id, payment_id, account_id, amount, "
                "fee, refunded, refund_fee, net) "
                "VALUES ($1, $2, $3, $4, $5, $6, 0, 0, $5::bigint - $6::bigint)",
                tree.business_id,
                batch,
                new_id("pay"),
                tree.accounts[which],
                amount,
                amount // 100,
            )


async def _payouts(tree: Tree) -> None:
    now = clock.now()
    for i, (which, amount) in enumerate(AMOUNTS):
        await sql.execute(
            "INSERT INTO payout (business_id, id, account_id, destination_kind, bank_code, account_number, "
            "holder_name, rail, provider_rail, amount, fee, reference, status, amount_hold_id, process_at, "
            "eta) VALUES ($1, $2, $3, 'bank', '014', '8800112233', 'Budi', $4, $4, $5, 2500, $6, $7, 'h', "
            "$8, $8)",
            tree.business_id,
            new_id("po"),
            tree.accounts[which],
            "bi_fast" if i == 1 else "online",
            amount,
            f"PO-{i}",
            "succeeded" if which == 0 else "failed",
            now,
        )


async def _charges(tree: Tree) -> None:
    customer, billing = new_id("cus"), new_id("bil")
    await sql.execute(
        "INSERT INTO billing_customer (business_id, id, customer_ref, name) VALUES ($1, $2, 'C-1', 'Budi')",
        tree.business_id,
        customer,
    )
    await sql.execute(
        "INSERT INTO billing (business_id, id, customer_id, billing_number, account_id, amount, status) "
        "VALUES ($1, $2, $3, 'B-1', $4, 100000, 'inactive')",
        tree.business_id,
        billing,
        customer,
        tree.accounts[0],
    )
    for i, (which, amount) in enumerate(AMOUNTS):
        await sql.execute(
            "INSERT INTO billing_charge (business_id, id, billing_id, customer_id, kind, execute_date, "
            "billing_number, invoice_number, account_id, amount, status) "
            "VALUES ($1, $2, $3, $4, 'single', current_date, 'B-1', $5, $6, $7, $8)",
            tree.business_id,
            new_id("chg"),
            billing,
            customer,
            f"CHG-{i}",
            tree.accounts[which],
            amount,
            "paid" if which == 0 else "failed",
        )


async def _invoices(tree: Tree) -> None:
    plan = new_id("plan")
    today = clock.now().date()
    await sql.execute(
        "INSERT INTO invoice_plan (business_id, id, name, currency, cycle, receiving_account_id) "
        "VALUES ($1, $2, 'Fee', 'IDR', 'monthly', $3)",
        tree.business_id,
        plan,
        tree.main,
    )
    for i, (which, amount) in enumerate(AMOUNTS):
        subscription = new_id("sub")
        await sql.execute(
            "INSERT INTO invoice_subscription (business_id, id, plan_id, account_id, cycle_day, starts_on, "
            "period_start, period_end, status) VALUES ($1, $2, $3, $4, 1, $5, $5, $6, $7)",
            tree.business_id,
            subscription,
            plan,
            tree.accounts[which],
            today - timedelta(days=30 * (i + 1)),
            today,
            "cancelled",
        )
        await sql.execute(
            "INSERT INTO invoice (business_id, id, number, subscription_id, plan_id, account_id, "
            "receiving_account_id, currency, period_start, period_end, issued_at, due_on, lines, subtotal, "
            "tax_label, tax_bp, tax, total, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'IDR', $8, $9, $10, "
            "$9, $11::jsonb, $12, 'PPN', 0, 0, $12, 'open')",
            tree.business_id,
            new_id("inv"),
            i + 1,
            subscription,
            plan,
            tree.accounts[which],
            tree.main,
            today - timedelta(days=30),
            today,
            clock.now(),
            json.dumps([]),
            amount,
        )


# dataset: (seed, its money column, a text column and the value two of the three rows have)
CASES: dict[str, tuple[Callable[[Tree], Awaitable[None]], str, str, str]] = {
    "payments": (_payments, "amount", "channel", "va"),
    "settlements": (_settlements, "gross", "channel", "va"),
    "payouts": (_payouts, "amount", "rail", "online"),
    "charges": (_charges, "amount", "kind", "single"),
    "invoices": (_invoices, "total", "status", "open"),
}


@pytest.mark.parametrize("dataset", list(CASES))
async def test_dataset_runs_filtered_grouped_and_isolated(db: str, dataset: str) -> None:
    seed, money, text, value = CASES[dataset]
    ours, theirs = await make_tree(2), await make_tree(2)
    await seed(ours)
    await seed(theirs)
    actor = owner(ours.business_id)

    plain = await custom.run(actor, {"dataset": dataset})
    assert [c.name for c in plain.columns] == list(DATASETS[dataset].default_columns)
    assert plain.row_count == 3 and plain.totals[money] == 750_000

    bigger = await custom.run(
        actor,
        {
            "dataset": dataset,
            "columns": ["account_id", money, text],
            "filters": [{"field": money, "op": "gte", "value": 200_000}],
            "sort": [{"field": money, "direction": "asc"}],
        },
    )
    assert [r[1] for r in bigger.rows] == [250_000, 400_000], bigger.rows

    by_account = await custom.run(
        actor,
        {
            "dataset": dataset,
            "columns": [money],
            "group_by": ["account"],
            "filters": [{"field": text, "op": "eq", "value": value}],
        },
    )
    grouped = {r[0]: r[1:] for r in by_account.rows}
    first, second = ours.accounts
    if dataset in ("payments", "payouts", "settlements"):
        # The second row of each is on another channel/rail than the filter's.
        assert grouped == {first: [100_000, 1], second: [400_000, 1]}
        assert by_account.totals == {money: 500_000}
    else:
        assert grouped == {first: [350_000, 2], second: [400_000, 1]}
        assert by_account.totals == {money: 750_000}

    # Another business's account is refused in a filter; a scoped user sees only its subtree's rows.
    with pytest.raises(NotFound):
        await custom.run(
            actor,
            {
                "dataset": dataset,
                "filters": [{"field": "account_id", "op": "eq", "value": theirs.accounts[0]}],
            },
        )
    scoped = await custom.run(
        owner(ours.business_id, scope=second), {"dataset": dataset, "columns": ["account_id", money]}
    )
    assert scoped.rows == [[second, 400_000]] and scoped.totals == {money: 400_000}
