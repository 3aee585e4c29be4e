"""Settlement batches from the provider's reports: one per channel and day, applied in one ledger group;
split destinations paid by largest remainder; refunds before and after settlement (the reference's
60/40 example); an invalid bank destination parks the payment in Pending Settlement until fixed."""

from __future__ import annotations

from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.payments import services
from portal.lib import sql
from portal.lib.actor import system_actor
from tests.support.payments import (
    activate_splits,
    balances,
    business_day_today,
    card_token,
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
    created = await accounts.create_account(
        system_actor(business.id), name=name, kind="partner", parent_id=main
    )
    return created.id


async def test_a_batch_posts_pending_amounts_less_fees_once(harness: Harness, client: Any) -> None:
    api, business, main = await payments_api(client)
    await paid_va(api, main, "INV-S1", 100_000)
    await paid_va(api, main, "INV-S2", 50_000)
    day = await business_day_today()
    ids = await services.create_batches(business.id, day)
    assert len(ids) == 1 and ids[0].startswith("stl_")
    assert await services.create_batches(business.id, day) == ids  # once per channel and day
    batch = (await api.call("GET", f"/api/v1/settlements/{ids[0]}")).json()
    assert batch["settlement"]["gross"] == 150_000 and batch["settlement"]["fees"] == 8_000
    assert batch["settlement"]["net"] == 142_000 and batch["settlement"]["status"] == "pending"
    assert batch["settlement"]["settlement_date"] > day.isoformat()
    assert len(batch["lines"]) == 2
    before = await balances(main)
    applied = await api.call("POST", f"/api/v1/settlements/{ids[0]}/apply")
    assert applied.status_code == 200 and applied.json()["status"] == "paid", applied.text
    after = await balances(main)
    assert after["credits_pending"] - before["credits_pending"] == -150_000
    assert available(after) - available(before) == 142_000
    assert (await api.call("POST", f"/api/v1/settlements/{ids[0]}/apply")).json()["status"] == "paid"
    assert available(await balances(main)) == available(after)  # applied once
    listed = (await api.call("GET", "/api/v1/payments?status=settled")).json()["data"]
    assert {p["invoice_number"] for p in listed} == {"INV-S1", "INV-S2"}
    descriptions = await sql.fetch(
        "SELECT kind, description FROM transfer WHERE business_id = $1 AND source_id = $2 ORDER BY seq",
        business.id,
        ids[0],
    )
    assert {d["kind"] for d in descriptions} == {"settlement", "payment_fee"}
    assert all("INV-S" in d["description"] for d in descriptions)
    await ledger_sound()


async def test_a_split_pays_destinations_by_largest_remainder(harness: Harness, client: Any) -> None:
    api, business, main = await payments_api(client)
    await activate_splits(api)
    x, y, default = [await child(business, n) for n in ("X", "Y", "Default")]
    assert (
        await api.call("PATCH", "/api/v1/payment_settings", {"default_settlement_account_id": default})
    ).status_code == 200
    split = [
        {"kind": "account", "account_id": x, "percent": 33.33},
        {"kind": "account", "account_id": y, "amount": 10_000},
    ]
    preview = await api.call(
        "POST", "/api/v1/split_rules/preview", {"destinations": split, "amount": 100_003, "channel": "va"}
    )
    assert preview.status_code == 200, preview.text
    dry = preview.json()
    assert dry["total_settlement_amount"] == 96_003
    assert [p["amount"] for p in dry["parts"]] == [31_997, 10_000]  # 96,003 × 33.33 % = 31,997.79 → floor
    assert dry["remainder"] == 96_003 - 31_997 - 10_000 and dry["remainder_account_id"] == default
    payment = await paid_va(api, main, "INV-SPLIT", 100_003, split=split)
    assert payment["split"] and len(payment["split"]) == 2
    (stl,) = await services.create_batches(business.id, await business_day_today())
    await services.apply_batch(business.id, stl)
    assert available(await balances(x)) == 31_997
    assert available(await balances(y)) == 10_000
    assert available(await balances(default)) == dry["remainder"]
    assert available(await balances(main)) == 0
    settled = (await api.call("GET", f"/api/v1/payments/{payment['id']}")).json()
    assert settled["status"] == "settled"
    change = await api.call("POST", f"/api/v1/payments/{payment['id']}/split", {"destinations": []})
    assert change.status_code == 409 and change.json()["code"] == "payment_not_editable"
    await ledger_sound()


async def test_the_reference_refund_example_takes_60_40_back(harness: Harness, client: Any) -> None:
    """100,000 split 60/40: a full refund after settlement takes 60,000 from X and 40,000 from Y."""
    api, business, main = await payments_api(client)
    await activate_splits(api)
    x, y = [await child(business, n) for n in ("X", "Y")]
    split = [
        {"kind": "account", "account_id": x, "percent": 60},
        {"kind": "account", "account_id": y, "percent": 40},
    ]
    payment = await paid_va(api, main, "INV-REF", 100_000, split=split)
    (stl,) = await services.create_batches(business.id, await business_day_today())
    await services.apply_batch(business.id, stl)
    # Total Settlement Amount 96,000 (fee 4,000): X 57,600, Y 38,400.
    assert (available(await balances(x)), available(await balances(y))) == (57_600, 38_400)
    # Give X and Y enough to cover what they must give back, and the main account the refund fee.
    for account_id in (x, y, main):
        topup = await api.call(
            "POST",
            "/api/v1/topups",
            {"account_id": account_id, "amount": 50_000, "reference": f"TOP-{account_id}"},
        )
        assert topup.status_code == 201, topup.text
        assert (
            await api.call("POST", f"/api/v1/topups/{topup.json()['id']}/simulate-payment")
        ).status_code == 200
    x_before, y_before = available(await balances(x)), available(await balances(y))
    refund = await api.call("POST", f"/api/v1/payments/{payment['id']}/refunds", {"reason": "returned"})
    assert refund.status_code == 201, refund.text
    assert refund.json()["amount"] == 100_000 and refund.json()["fee"] == 2_500
    assert x_before - available(await balances(x)) == 60_000
    assert y_before - available(await balances(y)) == 40_000
    again = await api.call("POST", f"/api/v1/payments/{payment['id']}/refunds", {"amount": 1})
    assert again.status_code == 409 and again.json()["code"] == "payment_not_refundable"
    assert (await api.call("GET", f"/api/v1/payments/{payment['id']}")).json()["status"] == "refunded"
    await ledger_sound()


async def test_a_refund_before_settlement_is_booked_by_the_batch(harness: Harness, client: Any) -> None:
    api, business, main = await payments_api(client)
    payment = await paid_va(api, main, "INV-PRE", 100_000)
    over = await api.call("POST", f"/api/v1/payments/{payment['id']}/refunds", {"amount": 100_001})
    assert over.status_code == 422 and over.json()["code"] == "refund_exceeds_remaining"
    assert over.json()["errors"][0]["pointer"] == "/amount"
    part = await api.call("POST", f"/api/v1/payments/{payment['id']}/refunds", {"amount": 30_000})
    assert part.status_code == 201, part.text
    assert (await api.call("GET", f"/api/v1/payments/{payment['id']}")).json()[
        "status"
    ] == "partially_refunded"
    (stl,) = await services.create_batches(business.id, await business_day_today())
    applied = await services.apply_batch(business.id, stl)
    assert (applied.gross, applied.fees, applied.refunds, applied.refund_fees) == (
        100_000,
        4_000,
        30_000,
        2_500,
    )
    assert applied.net == 63_500
    assert available(await balances(main)) == 63_500
    await ledger_sound()


async def test_a_card_batch_settles_t_plus_2(harness: Harness, client: Any) -> None:
    api, business, main = await payments_api(client)
    token = await card_token(business.id)
    body = {
        "account_id": main,
        "amount": 200_000,
        "channel": "card",
        "card_token": token,
        "invoice_number": "INV-C",
        "customer_name": "Budi",
    }
    assert (await api.call("POST", "/api/v1/payments", body)).json()["status"] == "paid"
    day = await business_day_today()
    (stl,) = await services.create_batches(business.id, day)
    batch = await services.get_settlement(system_actor(business.id), stl)
    assert batch.settlement.channel == "card" and batch.settlement.fees == 7_800
    from portal.domains.payments.services.settlements import settlement_date_for

    assert batch.settlement.settlement_date == await settlement_date_for("card", day)
    assert (await settlement_date_for("card", day) - day).days >= 2


async def test_an_invalid_bank_destination_waits_in_pending_settlement_until_fixed(
    harness: Harness, client: Any
) -> None:
    api, business, main = await payments_api(client)
    await activate_splits(api)
    x = await child(business, "X")
    # A beneficiary verified while the account was open, closed since.
    await harness.control(
        "POST",
        "/control/api/bank-accounts",
        {"bank_code": "009", "account_number": "7770001234", "holder_name": "RINA WATI", "status": "active"},
    )
    ben = await api.call(
        "POST",
        "/api/v1/beneficiaries",
        {
            "kind": "bank",
            "bank_code": "009",
            "account_number": "7770001234",
            "holder_name": "Rina Wati",
            "account_id": main,
        },
    )
    assert ben.status_code == 201, ben.text
    await harness.control(
        "POST",
        "/control/api/bank-accounts",
        {"bank_code": "009", "account_number": "7770001234", "holder_name": "RINA WATI", "status": "closed"},
    )
    split = [
        {"kind": "bank", "beneficiary_id": ben.json()["id"], "percent": 50},
        {"kind": "account", "account_id": x, "percent": 50},
    ]
    payment = await paid_va(api, main, "INV-BANK", 100_000, split=split)
    day = await business_day_today()
    (stl,) = await services.create_batches(business.id, day)
    await services.apply_batch(business.id, stl)
    parked = (await api.call("GET", f"/api/v1/payments/{payment['id']}")).json()
    assert parked["status"] == "pending_settlement"
    assert parked["remark"] == "Split Settlement Bank Account Invalid"
    assert available(await balances(x)) == 0
    assert available(await balances(main)) == 0  # 96,000 reserved on the account
    events = await sql.fetch(
        "SELECT type FROM event WHERE business_id = $1 AND type = 'split.failed'", business.id
    )
    assert len(events) == 1
    fixed = await api.call(
        "POST",
        f"/api/v1/payments/{payment['id']}/split",
        {"destinations": [{"kind": "account", "account_id": x, "percent": 100}]},
    )
    assert fixed.status_code == 200, fixed.text
    # The next batch applied (here the card channel's) distributes it.
    token = await card_token(business.id)
    card = {"account_id": main, "amount": 20_000, "channel": "card", "card_token": token}
    card.update(invoice_number="INV-NEXT", customer_name="Budi")
    assert (await api.call("POST", "/api/v1/payments", card)).json()["status"] == "paid"
    batches = await services.create_batches(business.id, day)
    (next_stl,) = [b for b in batches if b != stl]
    await services.apply_batch(business.id, next_stl)
    assert available(await balances(x)) == 96_000
    done = (await api.call("GET", f"/api/v1/payments/{payment['id']}")).json()
    assert done["status"] == "settled" and done["remark"] is None
    await ledger_sound()
