"""Settlement batches from the provider's reports: one per channel and day, applied in one ledger group;
split destinations paid by largest remainder; refunds before and after settlement (the reference's
60/40 example); an invalid bank destination parks the payment in Pending Settlement until fixed."""

from __future__ import annotations

import asyncio
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


async def next_day_batch(harness: Harness, business: Any, day: Any) -> Any:
    """Move the merchant's clock at the provider to the next business day after `day`; returns it."""
    from portal.domains.payouts.services import load_calendar

    following = (await load_calendar()).next_business_day(day)
    await harness.control(
        "POST", f"/control/api/clock/{business.id}/advance", {"seconds": (following - day).days * 86_400}
    )
    return following


async def test_the_reference_refund_example_is_deducted_from_the_next_batches(
    harness: Harness, client: Any
) -> None:
    """100,000 split 60/40, settled, then refunded: X's and Y's next batches are 60,000 and 40,000
    smaller (carried on while a batch is too small), the refund fee comes out of the batch funds (the
    default settlement account); balances are not touched at refund time."""
    api, business, main = await payments_api(client)
    await activate_splits(api)
    x, y, default = [await child(business, n) for n in ("X", "Y", "Default")]
    assert (
        await api.call("PATCH", "/api/v1/payment_settings", {"default_settlement_account_id": default})
    ).status_code == 200
    split = [
        {"kind": "account", "account_id": x, "percent": 60},
        {"kind": "account", "account_id": y, "percent": 40},
    ]
    # Still open after the provider's clock has moved on.
    later = {"expires_at": (clock.now() + timedelta(days=20)).isoformat()}
    payment = await paid_va(api, main, "INV-REF", 100_000, split=split, **later)
    day1 = await business_day_today()
    (stl1,) = await services.create_batches(business.id, day1)
    await services.apply_batch(business.id, stl1)
    # Total Settlement Amount 96,000 (fee 4,000): X 57,600, Y 38,400.
    assert (available(await balances(x)), available(await balances(y))) == (57_600, 38_400)

    over = await api.call("POST", f"/api/v1/payments/{payment['id']}/refunds", {"amount": 100_001})
    assert over.status_code == 422 and over.json()["code"] == "refund_exceeds_remaining"
    refund = await api.call("POST", f"/api/v1/payments/{payment['id']}/refunds", {"reason": "returned"})
    assert refund.status_code == 201, refund.text
    assert refund.json()["amount"] == 100_000 and refund.json()["fee"] == 2_500
    # Nothing leaves the balances now: the deductions wait for the channel's next batches.
    assert (available(await balances(x)), available(await balances(y))) == (57_600, 38_400)
    owed = await sql.fetch(
        "SELECT kind, account_id, reason, amount FROM settlement_deduction WHERE business_id = $1 "
        "ORDER BY amount DESC",
        business.id,
    )
    assert [(r["account_id"], r["reason"], r["amount"]) for r in owed] == [
        (x, "refund", 60_000),
        (y, "refund", 40_000),
        (default, "refund_fee", 2_500),
    ]
    again = await api.call("POST", f"/api/v1/payments/{payment['id']}/refunds", {"amount": 1})
    assert again.status_code == 409 and again.json()["code"] == "payment_already_refunded"
    assert (await api.call("GET", f"/api/v1/payments/{payment['id']}")).json()["status"] == "refunded"

    # Next business day: 84,000 split 60/40 (X 48,000, Y 32,000) — too small, the rest is carried on.
    day2 = await next_day_batch(harness, business, day1)
    await paid_va(api, main, "INV-REF-2", 84_000, split=split, **later)
    (stl2,) = await services.create_batches(business.id, day2)
    applied2 = await services.apply_batch(business.id, stl2)
    assert (applied2.gross, applied2.fees, applied2.refunds, applied2.refund_fees, applied2.net) == (
        84_000,
        4_000,
        80_000,
        0,
        0,
    )
    assert (available(await balances(x)), available(await balances(y))) == (57_600, 38_400)
    # The day after: 104,000 split 60/40 and 10,000 into the default account pay off the rest.
    day3 = await next_day_batch(harness, business, day2)
    third = await paid_va(api, main, "INV-REF-3", 104_000, split=split, **later)
    await paid_va(api, default, "INV-REF-4", 10_000, **later)
    (stl3,) = await services.create_batches(business.id, day3)
    applied3 = await services.apply_batch(business.id, stl3)
    assert (applied3.refunds, applied3.refund_fees, applied3.net) == (20_000, 2_500, 114_000 - 8_000 - 22_500)
    # Over the batches X gave back 60,000 and Y 40,000 (the reference's example), the default 2,500.
    assert available(await balances(x)) == 57_600 + 48_000 + 60_000 - 60_000
    assert available(await balances(y)) == 38_400 + 32_000 + 40_000 - 40_000
    assert available(await balances(default)) == 6_000 - 2_500
    assert (
        await sql.fetchval(
            "SELECT sum(remaining) FROM settlement_deduction WHERE business_id = $1", business.id
        )
        == 0
    )
    detail = (await api.call("GET", f"/api/v1/settlements/{stl3}")).json()
    assert sorted((d["account_id"], d["reason"], d["amount"]) for d in detail["deductions"]) == sorted(
        [(x, "refund", 12_000), (y, "refund", 8_000), (default, "refund_fee", 2_500)]
    )
    lines = await sql.fetch(
        "SELECT kind, description FROM transfer WHERE business_id = $1 AND debit_account_id = $2 "
        "AND kind = 'refund_deduction'",
        business.id,
        x,
    )
    assert [line["description"] for line in lines] == ["Refund deduction INV-REF"] * 2

    # Two refunds of one payment at once: one is sent to the provider, the other is refused.
    answers = await asyncio.gather(
        *[api.call("POST", f"/api/v1/payments/{third['id']}/refunds", {"amount": 60_000}) for _ in range(2)]
    )
    assert sorted(a.status_code for a in answers) == [201, 409] or sorted(a.status_code for a in answers) == [
        201,
        422,
    ], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code != 201).json()["code"]
    assert refused in ("refund_in_progress", "refund_exceeds_remaining")
    assert (await api.call("GET", f"/api/v1/payments/{third['id']}")).json()["refunded_amount"] == 60_000
    await ledger_sound()
    # The batch page shows what it kept back.
    owner_id = await sql.fetchval("SELECT id FROM app_user WHERE business_id = $1 LIMIT 1", business.id)
    await signed_in_client(client, await identity.user_by_id(owner_id))
    page = await client.get(f"/payments/settlements/{stl3}")
    assert page.status_code == 200 and 'id="settlement-deductions"' in page.text
    assert "INV-REF" in page.text.split('id="settlement-deductions"')[1]


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


async def test_a_bank_destination_is_paid_by_a_provider_payout_once(harness: Harness, client: Any) -> None:
    api, business, main = await payments_api(client)
    await activate_splits(api)
    ben = await api.call(
        "POST",
        "/api/v1/beneficiaries",
        {"kind": "bank", "bank_code": "014", "account_number": "1234567890", "holder_name": "Budi Santoso"},
    )
    assert ben.status_code == 201, ben.text
    split = [{"kind": "bank", "beneficiary_id": ben.json()["id"], "percent": 50}]
    await paid_va(api, main, "INV-PAYOUT", 100_000, split=split)
    (stl,) = await services.create_batches(business.id, await business_day_today())
    await services.apply_batch(business.id, stl)
    assert available(await balances(main)) == 48_000  # 96,000: 48,000 paid out, 48,000 stays

    async def part_status() -> str:
        await services.check_split_payouts()
        return str(
            await sql.fetchval(
                "SELECT status FROM settlement_part WHERE business_id = $1 AND kind = 'bank'", business.id
            )
        )

    await harness.wait_for(part_status, "paid")  # the worker submitted it; the provider completed it
    part = await sql.fetchrow(
        "SELECT id, amount FROM settlement_part WHERE business_id = $1 AND kind = 'bank'", business.id
    )
    assert part is not None and part["amount"] == 48_000
    from portal.domains.provider import gateway

    payout = await gateway.provider().find_payout(business.id, part["id"])
    assert payout is not None and payout.status == "succeeded"
    await services.apply_batch(business.id, stl)  # applying again pays nothing twice
    assert await sql.fetchval("SELECT count(*) FROM settlement_part WHERE business_id = $1", business.id) == 2
    await ledger_sound()


async def test_a_held_settlement_waits_until_monitoring_releases_it(harness: Harness, client: Any) -> None:
    from portal.domains.monitoring.services.settlement import hold_settlement, release_settlement

    api, business, main = await payments_api(client)
    await paid_va(api, main, "INV-H1", 100_000)
    day = await business_day_today()
    ids = await services.create_batches(business.id, day)
    await hold_settlement(system_actor(business.id), main, reason="review")
    before = await balances(main)
    held = await api.call("POST", f"/api/v1/settlements/{ids[0]}/apply")
    assert held.status_code == 409 and held.json()["code"] == "settlement_held", held.text
    assert await services.apply_due(business.id, day.replace(year=day.year + 1)) == []
    assert await balances(main) == before  # nothing moved while held
    await release_settlement(system_actor(business.id), main)
    applied = await api.call("POST", f"/api/v1/settlements/{ids[0]}/apply")
    assert applied.status_code == 200 and applied.json()["status"] == "paid", applied.text
    await ledger_sound()


async def test_a_bank_payout_the_rail_rejects_goes_back_to_pending_settlement_and_is_paid_once(
    harness: Harness, client: Any
) -> None:
    """The rail rejects a split's bank payout after submission (the simulator refuses amounts ending in
    666): the money comes back into clearing, the payment is Pending Settlement with the remark; once the
    Settlement Configuration replaces the destination, the next batch pays it, once."""
    api, business, main = await payments_api(client)
    await activate_splits(api)
    x, z = [await child(business, n) for n in ("X", "Z")]
    ben = await api.call(
        "POST",
        "/api/v1/beneficiaries",
        {"kind": "bank", "bank_code": "014", "account_number": "1234567890", "holder_name": "Budi Santoso"},
    )
    assert ben.status_code == 201, ben.text
    split = [
        {"kind": "bank", "beneficiary_id": ben.json()["id"], "amount": 10_666},
        {"kind": "account", "account_id": x, "percent": 50},
    ]
    payment = await paid_va(api, main, "INV-REJ", 100_000, split=split)
    day = await business_day_today()
    (stl,) = await services.create_batches(business.id, day)
    await services.apply_batch(business.id, stl)
    assert available(await balances(x)) == 48_000

    async def bank_part() -> str:
        return str(
            await sql.fetchval(
                "SELECT status FROM settlement_part WHERE business_id = $1 AND kind = 'bank'", business.id
            )
        )

    # The worker submits the payout; the rail rejects it; the provider's callback returns it.
    await harness.wait_for(bank_part, "returned")
    parked = (await api.call("GET", f"/api/v1/payments/{payment['id']}")).json()
    assert (parked["status"], parked["remark"]) == (
        "pending_settlement",
        "Split Settlement Bank Account Invalid",
    )
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM event WHERE business_id = $1 AND type = 'split.failed'", business.id
        )
        == 1
    )
    returned = await sql.fetchval(
        "SELECT sum(amount) FROM transfer WHERE business_id = $1 AND kind = 'split_payout_returned'",
        business.id,
    )
    assert returned == 10_666
    await ledger_sound()
    fixed = await api.call(
        "POST",
        f"/api/v1/payments/{payment['id']}/split",
        {
            "destinations": [
                {"kind": "account", "account_id": z, "amount": 10_666},
                {"kind": "account", "account_id": x, "percent": 50},
            ]
        },
    )
    assert fixed.status_code == 200, fixed.text
    # The next batch applied (here the card channel's) pays the returned part to the new destination.
    token = await card_token(business.id)
    card = {"account_id": main, "amount": 20_000, "channel": "card", "card_token": token}
    card.update(invoice_number="INV-REJ-NEXT", customer_name="Budi")
    assert (await api.call("POST", "/api/v1/payments", card)).json()["status"] == "paid"
    (next_stl,) = [b for b in await services.create_batches(business.id, day) if b != stl]
    await services.apply_batch(business.id, next_stl)
    assert (available(await balances(z)), available(await balances(x))) == (10_666, 48_000)
    done = (await api.call("GET", f"/api/v1/payments/{payment['id']}")).json()
    assert done["status"] == "settled" and done["remark"] is None
    assert await bank_part() == "repaid"
    # A later batch pays nothing again.
    later = await next_day_batch(harness, business, day)
    await paid_va(api, main, "INV-REJ-4", 50_000, expires_at=(clock.now() + timedelta(days=20)).isoformat())
    for batch in await services.create_batches(business.id, later):
        await services.apply_batch(business.id, batch)
    assert available(await balances(z)) == 10_666
    await ledger_sound()
