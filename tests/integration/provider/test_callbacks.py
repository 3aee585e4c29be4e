"""Top-ups through the provider over real sockets: the simulator opens the virtual account, a customer
pays it through the control API, the signed callback arrives at Neraca and the job books it once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from portal.domains.ledger import services as ledger
from portal.domains.ledger.invariants import check_all
from portal.domains.provider import services as provider
from portal.lib import snap, sql
from portal.settings import get_settings
from tests.support.identity import csrf_from, make_business, signed_in_client
from tests.support.ledger import Tree, make_tree
from tests.support.provider import Harness


async def tree() -> Tree:
    """A sandbox business (with its fee schedule) and one partner account."""
    business, _owner = await make_business()
    return await make_tree(1, business_id=business.id)


async def balance(account_id: str) -> int:
    return int(
        await sql.fetchval("SELECT credits_posted - debits_posted FROM account WHERE id = $1", account_id)
    )


async def booked_groups(topup_id: str) -> int:
    return int(
        await sql.fetchval("SELECT count(DISTINCT group_id) FROM transfer WHERE source_id = $1", topup_id)
    )


async def test_topup_paid_at_the_simulator_is_booked_once_by_its_callback(harness: Harness) -> None:
    t = await tree()
    account = t.accounts[0]
    topup = await ledger.create_topup(t.actor, account_id=account, amount=150_000, reference="TOP-SIM-1")
    payin = await provider.payin_for(t.business_id, "topup", topup.id)
    assert payin is not None
    # The virtual account is the simulator's, for amount + fee, at the top-up's bank.
    at_sim = await harness.get(f"/v1/payins/{payin['payin_id']}", t.business_id)
    assert at_sim["va_number"] == topup.payment_instructions.account_number == payin["va_number"]
    assert at_sim["amount"] == topup.total == 156_000 and at_sim["status"] == "pending"
    assert topup.status == "pending"

    await harness.control("POST", f"/control/api/payins/{payin['payin_id']}/pay")
    await harness.wait_for(lambda: topup_status(t.actor, topup.id), "paid")
    assert await balance(account) == 150_000
    assert await booked_groups(topup.id) == 1
    event = await sql.fetchrow("SELECT * FROM provider_event WHERE object_id = $1", payin["payin_id"])
    assert event is not None and (event["state"], event["outcome"]) == ("applied", "booked")
    assert await check_all() == []


async def topup_status(actor: Any, topup_id: str) -> str:
    return (await ledger.get_topup(actor, topup_id)).status


async def test_callback_twice_and_out_of_order_books_once(harness: Harness) -> None:
    t = await tree()
    account = t.accounts[0]
    await harness.control("POST", "/control/api/callbacks/mode", {"mode": "duplicate"})
    topup = await ledger.create_topup(t.actor, account_id=account, amount=40_000, reference="TOP-DUP")
    payin = await provider.payin_for(t.business_id, "topup", topup.id)
    assert payin is not None
    await harness.control("POST", f"/control/api/payins/{payin['payin_id']}/pay")
    await harness.wait_for(lambda: topup_status(t.actor, topup.id), "paid")
    await harness.wait_for(lambda: applied_events(payin["payin_id"]), 1)
    # Replay the same signed event again, then a late `payin.expired` (out of order): nothing changes.
    data = await harness.get(f"/v1/payins/{payin['payin_id']}", t.business_id)
    paid_event = await sql.fetchval(
        "SELECT event_id FROM provider_event WHERE object_id = $1 AND type = 'payin.paid'", payin["payin_id"]
    )
    replay = await harness.callback("payins", paid_event, "payin.paid", t.business_id, data)
    assert (replay.status_code, replay.json()["status"]) == (200, "ignored")
    late = await harness.callback(
        "payins", "ev_late_expiry", "payin.expired", t.business_id, {**data, "status": "expired"}
    )
    assert (late.status_code, late.json()["status"]) == (200, "accepted")
    await harness.wait_for(lambda: applied_events(payin["payin_id"]), 2)
    outcome = await sql.fetchval("SELECT outcome FROM provider_event WHERE event_id = 'ev_late_expiry'")
    assert outcome == "stale"
    assert (await ledger.get_topup(t.actor, topup.id)).status == "paid"
    assert await balance(account) == 40_000 and await booked_groups(topup.id) == 1
    assert await check_all() == []


async def applied_events(payin_id: str) -> int:
    return int(
        await sql.fetchval(
            "SELECT count(*) FROM provider_event WHERE object_id = $1 AND state = 'applied'", payin_id
        )
    )


async def test_payment_after_expiry_is_booked(harness: Harness) -> None:
    t = await tree()
    account = t.accounts[0]
    topup = await ledger.create_topup(t.actor, account_id=account, amount=10_000, reference="TOP-LATE")
    payin = await provider.payin_for(t.business_id, "topup", topup.id)
    assert payin is not None
    await sql.execute("UPDATE topup SET status = 'expired' WHERE id = $1", topup.id)
    data = await harness.get(f"/v1/payins/{payin['payin_id']}", t.business_id)
    paid = {**data, "status": "paid", "paid_at": datetime.now(UTC).isoformat()}
    answer = await harness.callback("payins", "ev_after_expiry", "payin.paid", t.business_id, paid)
    assert answer.json()["status"] == "accepted"
    await harness.wait_for(lambda: topup_status(t.actor, topup.id), "paid")
    assert await balance(account) == 10_000 and await booked_groups(topup.id) == 1


async def test_bad_callbacks_change_nothing(harness: Harness) -> None:
    t = await tree()
    topup = await ledger.create_topup(t.actor, account_id=t.accounts[0], amount=20_000, reference="TOP-BAD")
    payin = await provider.payin_for(t.business_id, "topup", topup.id)
    assert payin is not None
    data = await harness.get(f"/v1/payins/{payin['payin_id']}", t.business_id)
    paid = {**data, "status": "paid"}
    # Wrong secret, stale timestamp, missing headers: 401.
    wrong = await harness.callback(
        "payins", "ev_wrong", "payin.paid", t.business_id, paid, secret="not-the-secret"
    )
    assert wrong.status_code == 401 and wrong.json()["reason"] == "invalid_signature"
    stale = await harness.callback(
        "payins", "ev_stale", "payin.paid", t.business_id, paid, now=datetime.now(UTC) - timedelta(minutes=10)
    )
    assert stale.status_code == 401 and stale.json()["reason"] == "timestamp_out_of_range"
    unsigned = await harness.http.post(
        f"{harness.neraca_url}/provider/callbacks/payins",
        content=b"{}",
        headers={"Content-Type": "application/json"},
    )
    assert unsigned.status_code == 401
    # Unknown reference (another merchant's pay-in, or an id nobody issued): 200 ignored.
    unknown = await harness.callback(
        "payins", "ev_unknown", "payin.paid", t.business_id, {**paid, "payin_id": "pi_nobody"}
    )
    assert (unknown.status_code, unknown.json()) == (
        200,
        {"status": "ignored", "reason": "unknown_reference"},
    )
    foreign = await harness.callback("payins", "ev_foreign", "payin.paid", "biz_someone_else", paid)
    assert foreign.json()["status"] == "ignored"
    assert await sql.fetchval("SELECT count(*) FROM provider_event") == 0
    assert (await ledger.get_topup(t.actor, topup.id)).status == "pending"
    assert await balance(t.accounts[0]) == 0
    # A body signed for one event id but carrying another is refused too.
    body = json.dumps({"event_id": "ev_a", "type": "payin.paid", "merchant_id": t.business_id, "data": paid})
    path = "/provider/callbacks/payins"
    config = get_settings().provider
    headers = snap.headers(config.callback_secret, config.partner_id, "ev_b", "POST", path, body.encode())
    swapped = await harness.http.post(f"{harness.neraca_url}{path}", content=body.encode(), headers=headers)
    assert swapped.status_code == 401
    # The first accepted callback, then its replay: the replay is ignored.
    first = await harness.callback("payins", "ev_once", "payin.paid", t.business_id, paid)
    again = await harness.callback("payins", "ev_once", "payin.paid", t.business_id, paid)
    assert (first.json()["status"], again.json()) == ("accepted", {"status": "ignored", "reason": "replayed"})
    await harness.wait_for(lambda: topup_status(t.actor, topup.id), "paid")
    assert await booked_groups(topup.id) == 1


async def test_simulate_payment_pays_through_the_simulator(harness: Harness) -> None:
    t = await tree()
    topup = await ledger.create_topup(t.actor, account_id=t.accounts[0], amount=30_000, reference="TOP-BTN")
    paid = await ledger.simulate_topup_payment(t.actor, topup.id)
    assert paid.status == "paid"
    payin = await provider.payin_for(t.business_id, "topup", topup.id)
    assert payin is not None
    at_sim = await harness.get(f"/v1/payins/{payin['payin_id']}", t.business_id)
    assert at_sim["status"] == "paid"
    # The callback that follows finds it booked and books nothing.
    await harness.wait_for(lambda: applied_events(payin["payin_id"]), 1)
    assert await balance(t.accounts[0]) == 30_000 and await booked_groups(topup.id) == 1


async def test_reconciliation_lists_a_payin_paid_whose_callback_never_arrived(harness: Harness) -> None:
    t = await tree()
    await harness.control("POST", "/control/api/callbacks/mode", {"mode": "late", "delay_s": 3600})
    topup = await ledger.create_topup(t.actor, account_id=t.accounts[0], amount=70_000, reference="TOP-REC")
    payin = await provider.payin_for(t.business_id, "topup", topup.id)
    assert payin is not None
    await harness.control("POST", f"/control/api/payins/{payin['payin_id']}/pay")
    run_id = await provider.reconcile(t.business_id, "manual")
    rows = await sql.fetch("SELECT * FROM provider_mismatch WHERE run_id = $1", run_id)
    assert [(r["kind"], r["payin_id"], r["provider_amount"], r["ledger_status"]) for r in rows] == [
        ("paid_not_booked", payin["payin_id"], 76_000, "pending")
    ]
    # Reconciliation never moves money.
    assert (await ledger.get_topup(t.actor, topup.id)).status == "pending"
    assert await balance(t.accounts[0]) == 0
    run = await sql.fetchrow("SELECT * FROM provider_reconciliation WHERE id = $1", run_id)
    assert run is not None and (run["checked"], run["mismatch_count"], run["error"]) == (1, 1, None)


async def test_reconciliation_page_lists_mismatches_and_runs_on_demand(harness: Harness, client: Any) -> None:
    business, owner = await make_business()
    t = await make_tree(1, business_id=business.id)
    await harness.control("POST", "/control/api/callbacks/mode", {"mode": "late", "delay_s": 3600})
    topup = await ledger.create_topup(t.actor, account_id=t.accounts[0], amount=12_000, reference="TOP-PAGE")
    payin = await provider.payin_for(t.business_id, "topup", topup.id)
    assert payin is not None
    await signed_in_client(client, owner)
    empty = await client.get("/reports/reconciliation")
    assert empty.status_code == 200 and "No reconciliation yet" in empty.text
    await harness.control("POST", f"/control/api/payins/{payin['payin_id']}/pay")
    ran = await client.post("/reports/reconciliation", data={"_csrf_token": csrf_from(empty.text)})
    assert ran.status_code == 303
    listed = await client.get("/reports/reconciliation")
    assert "Paid at the provider, not booked" in listed.text and payin["payin_id"] in listed.text
    assert (await ledger.get_topup(t.actor, topup.id)).status == "pending"
