"""A refund deduction a destination never works off in the channel's batches: after the business's grace
days, the settlement run takes what is still owed from the destination's available balance — one
`deduction_from_balance` transfer per deduction, audited, never more than is available; what cannot be
taken stays owed (API, SDK shape and page), and a later run takes it once the balance has it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.identity import services as identity
from portal.domains.payments import services
from portal.lib import clock, sql
from portal.lib.actor import system_actor
from tests.support.identity import signed_in_client
from tests.support.payments import (
    activate_splits,
    balances,
    business_day_today,
    ledger_sound,
    paid_va,
    payments_api,
)
from tests.support.provider import Harness


def available(b: dict[str, int]) -> int:
    return b["credits_posted"] - b["debits_posted"] - b["debits_pending"]


async def child(business: Any, name: str) -> str:
    """A partner account under the business's main account."""
    main = await accounts.ensure_business_accounts(business.id)
    return (
        await accounts.create_account(system_actor(business.id), name=name, kind="partner", parent_id=main)
    ).id


async def _owed(business_id: str) -> dict[tuple[str, str], tuple[int, int]]:
    """(account, reason) -> (remaining, taken from balance)."""
    rows = await sql.fetch(
        "SELECT d.account_id, d.reason, d.remaining, (SELECT coalesce(sum(b.amount), 0) FROM "
        "settlement_deduction_debit b WHERE b.business_id = d.business_id AND b.deduction_id = d.id) "
        "AS taken "
        "FROM settlement_deduction d WHERE d.business_id = $1",
        business_id,
    )
    return {(r["account_id"], r["reason"]): (int(r["remaining"]), int(r["taken"])) for r in rows}


async def test_a_deduction_never_worked_off_is_taken_from_the_balance_after_the_grace_days(
    harness: Harness, client: Any
) -> None:
    api, business, main = await payments_api(client)
    await activate_splits(api)
    x, y, default = [await child(business, n) for n in ("X", "Y", "Default")]
    # The grace days are a setting: refused on the field outside 1–365, nothing written.
    refused = await api.call("PATCH", "/api/v1/payment_settings", {"deduction_grace_days": 0})
    assert refused.status_code == 422 and refused.json()["errors"][0]["pointer"] == "/deduction_grace_days"
    assert (await api.call("GET", "/api/v1/payment_settings")).json()["deduction_grace_days"] == 14
    changed = await api.call(
        "PATCH",
        "/api/v1/payment_settings",
        {"default_settlement_account_id": default, "deduction_grace_days": 3},
    )
    assert changed.status_code == 200 and changed.json()["deduction_grace_days"] == 3, changed.text
    split = [
        {"kind": "account", "account_id": x, "percent": 60},
        {"kind": "account", "account_id": y, "percent": 40},
    ]
    payment = await paid_va(api, main, "INV-OWE", 100_000, split=split)
    await paid_va(api, main, "INV-FUND", 54_000)
    (stl,) = await services.create_batches(business.id, await business_day_today())
    await services.apply_batch(business.id, stl)
    assert (available(await balances(x)), available(await balances(y))) == (57_600, 38_400)
    # X spends most of what it received before the refund.
    spent = await api.call(
        "POST",
        "/api/v1/transfers",
        {"from_account_id": x, "to_account_id": main, "amount": 30_000, "reference": "spend-x"},
    )
    assert spent.status_code == 201, spent.text
    refund = await api.call("POST", f"/api/v1/payments/{payment['id']}/refunds", {})
    assert refund.status_code == 201, refund.text
    assert await _owed(business.id) == {
        (x, "refund"): (60_000, 0),
        (y, "refund"): (40_000, 0),
        (default, "refund_fee"): (2_500, 0),
    }

    real = clock.now()
    try:
        # Within the grace days a settlement run takes nothing from the balances.
        clock.set_clock(lambda: real + timedelta(days=2))
        run = await services.settle(services.today_wib(), business.id)
        assert run["deductions_from_balance"] == []
        assert available(await balances(x)) == 27_600
        # After them: what each balance has, never more; the default account has nothing, it stays owed.
        clock.set_clock(lambda: real + timedelta(days=3, minutes=1))
        run = await services.settle(services.today_wib(), business.id)
        assert len(run["deductions_from_balance"]) == 2
        assert (
            available(await balances(x)),
            available(await balances(y)),
            available(await balances(default)),
        ) == (
            0,
            0,
            0,
        )
        assert await _owed(business.id) == {
            (x, "refund"): (32_400, 27_600),
            (y, "refund"): (1_600, 38_400),
            (default, "refund_fee"): (2_500, 0),
        }
        transfers = await sql.fetch(
            "SELECT debit_account_id, amount, description FROM transfer WHERE business_id = $1 AND "
            "kind = 'deduction_from_balance' ORDER BY amount",
            business.id,
        )
        assert [(t["debit_account_id"], t["amount"], t["description"]) for t in transfers] == [
            (x, 27_600, "Refund deduction from balance INV-OWE"),
            (y, 38_400, "Refund deduction from balance INV-OWE"),
        ]
        assert (
            await sql.fetchval(
                "SELECT count(*) FROM activity WHERE business_id = $1 AND action = "
                "'settlement_deduction.from_balance'",
                business.id,
            )
            == 2
        )
        # A second run with nothing more available takes nothing.
        assert (await services.settle(services.today_wib(), business.id))["deductions_from_balance"] == []
        listing = await services.list_deductions(system_actor(business.id), status="owed")
        shown = {
            (d.account_id, d.reason): (d.status, d.taken_from_balance, d.remaining) for d in listing.data
        }
        assert shown == {
            (x, "refund"): ("overdue", 27_600, 32_400),
            (y, "refund"): ("overdue", 38_400, 1_600),
            (default, "refund_fee"): ("overdue", 0, 2_500),
        }
    finally:
        clock.set_clock(None)
    # The balance grows (money moved in): the next run takes the rest of what is owed, and no more.
    moved = await api.call(
        "POST",
        "/api/v1/transfers",
        {"from_account_id": main, "to_account_id": default, "amount": 5_000, "reference": "fund-d"},
    )
    assert moved.status_code == 201, moved.text
    try:
        clock.set_clock(lambda: real + timedelta(days=4))
        assert len((await services.settle(services.today_wib(), business.id))["deductions_from_balance"]) == 1
    finally:
        clock.set_clock(None)
    assert available(await balances(default)) == 2_500
    assert (await _owed(business.id))[(default, "refund_fee")] == (0, 2_500)
    await ledger_sound()

    # The API and the page show what is still owed.
    owed = (await api.call("GET", "/api/v1/settlement_deductions?status=owed")).json()["data"]
    assert sorted((d["account_id"], d["remaining"], d["taken_from_balance"]) for d in owed) == sorted(
        [(x, 32_400, 27_600), (y, 1_600, 38_400)]
    )
    settled = (await api.call("GET", "/api/v1/settlement_deductions?status=settled")).json()["data"]
    assert [(d["account_id"], d["status"]) for d in settled] == [(default, "settled")]
    owner_id = await sql.fetchval("SELECT id FROM app_user WHERE business_id = $1 LIMIT 1", business.id)
    await signed_in_client(client, await identity.user_by_id(owner_id))
    page = await client.get("/payments/deductions?status=owed")
    assert page.status_code == 200 and 'id="deduction-list"' in page.text
    assert page.text.count("INV-OWE") == 2 and "INV-FUND" not in page.text
