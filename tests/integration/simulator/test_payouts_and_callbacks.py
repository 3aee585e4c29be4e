"""Payout timing on merchant clocks, rail failures, reversal, callback retries and delivery modes,
settlement reports, and state that survives a restart: all over real HTTP."""

from __future__ import annotations

from datetime import date, datetime

import httpx
import pytest

from portal.simulator.services import clock
from tests.integration.simulator.helpers import create_payin, merchant, payout_body, register_card
from tests.support.simulator import CallbackReceiver, Simulator, running_simulator


def submit(sim: Simulator, body: dict[str, object], key: str | None = None) -> dict[str, object]:
    answer = sim.call("POST", "/v1/payouts", body, key=key)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "submitted" and answer.json()["payout_id"].startswith("sp_")
    return dict(answer.json())


def status_of(sim: Simulator, payout_id: object) -> dict[str, object]:
    return dict(sim.call("GET", f"/v1/payouts/{payout_id}").json())


def advance_past(sim: Simulator, merchant_id: str, moment: str) -> None:
    """Move the merchant's clock just past `moment`."""
    now = datetime.fromisoformat(sim.call("GET", f"/v1/clock?merchant_id={merchant_id}").json()["now"])
    seconds = int((datetime.fromisoformat(moment) - now).total_seconds()) + 1
    if seconds > 0:
        advanced = sim.control("POST", f"/control/api/clock/{merchant_id}/advance", {"seconds": seconds})
        assert advanced.status_code == 200


def test_bifast_payout_succeeds_asynchronously_with_a_bank_reference(
    sim: Simulator, receiver: CallbackReceiver
) -> None:
    payout = submit(sim, payout_body(merchant()))
    callbacks = sim.wait_for(lambda: receiver.of_type("payout.succeeded"))
    data = callbacks[0].json["data"]
    assert data["payout_id"] == payout["payout_id"] and callbacks[0].path == "/provider/callbacks/payouts"
    assert data["bank_reference"].startswith("BIFAST")
    assert status_of(sim, payout["payout_id"]) == data
    assert (
        sim.call("GET", f"/v1/payouts?reference={payout['reference']}").json()["payout_id"]
        == payout["payout_id"]
    )


def test_rtgs_waits_for_business_hours_on_the_merchant_clock(
    sim: Simulator, receiver: CallbackReceiver
) -> None:
    merchant_id = merchant()
    payout = submit(sim, payout_body(merchant_id, "rtgs", 150_000_000))
    created = datetime.fromisoformat(str(payout["created_at"]))
    expected = datetime.fromisoformat(str(payout["expected_at"]))
    assert expected == payouts_expected("rtgs", created)
    assert status_of(sim, payout["payout_id"])["status"] == "submitted"  # at least five minutes away
    advance_past(sim, merchant_id, str(payout["expected_at"]))
    done = sim.wait_for(lambda: receiver.of_type("payout.succeeded"))
    assert done[0].json["data"]["payout_id"] == payout["payout_id"]
    assert done[0].json["data"]["bank_reference"].startswith("RTGS")


def payouts_expected(rail: str, created: datetime) -> datetime:
    from portal.simulator.services import payouts

    return payouts.expected_at(rail, "normal", created)


def test_skn_completes_in_a_clearing_window(sim: Simulator, receiver: CallbackReceiver) -> None:
    merchant_id = merchant()
    payout = submit(sim, payout_body(merchant_id, "skn", 5_000_000))
    expected = datetime.fromisoformat(str(payout["expected_at"])).astimezone(clock.WIB)
    assert expected.strftime("%H:%M:%S") in {"09:00:00", "11:00:00", "13:00:00", "15:00:00"}
    assert clock.is_business_day(expected.date())
    advance_past(sim, merchant_id, str(payout["expected_at"]))
    sim.wait_for(lambda: receiver.of_type("payout.succeeded"))
    assert status_of(sim, payout["payout_id"])["status"] == "succeeded"


def test_payouts_to_closed_unknown_or_rejecting_accounts_fail_with_a_code(
    sim: Simulator, receiver: CallbackReceiver
) -> None:
    closed = submit(sim, payout_body(merchant(), account_number="5550001111"))
    unknown = submit(sim, payout_body(merchant(), account_number="1110000"))
    rejected = submit(sim, payout_body(merchant(), amount=100_666))
    wallet_ok = submit(sim, payout_body(merchant(), "ewallet", 50_000, wallet="GOPAY", phone="081298765432"))
    failed = sim.wait_for(
        lambda: len(receiver.of_type("payout.failed")) == 3 and receiver.of_type("payout.failed")
    )
    codes = {item.json["data"]["payout_id"]: item.json["data"]["failure_code"] for item in failed}
    assert codes == {
        closed["payout_id"]: "account_closed",
        unknown["payout_id"]: "account_not_found",
        rejected["payout_id"]: "rejected",
    }
    sim.wait_for(lambda: receiver.of_type("payout.succeeded"))
    assert status_of(sim, wallet_ok["payout_id"])["status"] == "succeeded"


def test_amounts_outside_a_rail_are_refused(sim: Simulator) -> None:
    for rail, amount in (
        ("rtgs", 50_000),
        ("bifast", 250_000_001),
        ("online", 50_000_001),
        ("ewallet", 5_000),
    ):
        body = payout_body(merchant(), rail, amount)
        if rail == "ewallet":
            body.update(wallet="OVO", phone="081234567890")
        answer = sim.call("POST", "/v1/payouts", body)
        assert (answer.status_code, answer.json()["code"], answer.json()["field"]) == (
            422,
            "amount_out_of_range",
            "/amount",
        ), rail


def test_offline_rail_refuses_and_records_nothing(sim: Simulator) -> None:
    sim.control("POST", "/control/api/rails/bifast", {"mode": "offline"})
    body = payout_body(merchant())
    refused = sim.call("POST", "/v1/payouts", body, key="k-offline-1")
    assert (refused.status_code, refused.json()["code"]) == (503, "rail_offline")
    assert sim.call("GET", f"/v1/payouts?reference={body['reference']}").status_code == 404
    sim.control("POST", "/control/api/rails/bifast", {"mode": "normal"})
    # The key was not used up by the refusal: the same call now goes through.
    assert sim.call("POST", "/v1/payouts", body, key="k-offline-1").status_code == 200


def test_timeout_rail_records_the_payout_but_answers_too_late(sim: Simulator) -> None:
    sim.control("POST", "/control/api/rails/online", {"mode": "timeout"})
    body = payout_body(merchant(), "online", 1_000_000)
    with pytest.raises(httpx.ReadTimeout):
        sim.call("POST", "/v1/payouts", body, key="k-timeout-1", timeout=1)
    # The caller does not guess: the status query shows the payout exists.
    found = sim.call("GET", f"/v1/payouts?reference={body['reference']}")
    assert found.status_code == 200 and found.json()["status"] in {"submitted", "succeeded"}
    # Retrying with the same key answers the recorded answer (no second payout).
    sim.control("POST", "/control/api/rails/online", {"mode": "normal"})
    retried = sim.call("POST", "/v1/payouts", body, key="k-timeout-1")
    assert retried.json()["payout_id"] == found.json()["payout_id"]


def test_a_succeeded_payout_can_be_reversed_once(sim: Simulator, receiver: CallbackReceiver) -> None:
    payout = submit(sim, payout_body(merchant()))
    early = sim.control("POST", f"/control/api/payouts/{payout['payout_id']}/reverse")
    assert (early.status_code, early.json()["code"]) == (409, "invalid_state")
    sim.wait_for(lambda: status_of(sim, payout["payout_id"])["status"] == "succeeded")
    reversed_ = sim.control("POST", f"/control/api/payouts/{payout['payout_id']}/reverse")
    assert reversed_.status_code == 200 and reversed_.json()["status"] == "reversed"
    event = sim.wait_for(lambda: receiver.of_type("payout.reversed"))
    assert event[0].json["data"]["reversed_at"] is not None
    assert sim.control("POST", f"/control/api/payouts/{payout['payout_id']}/reverse").status_code == 409


def test_callbacks_are_retried_until_acknowledged(sim: Simulator, receiver: CallbackReceiver) -> None:
    merchant_id = merchant()
    receiver.statuses.extend([500])
    payin = create_payin(sim, merchant_id)
    sim.control("POST", f"/control/api/payins/{payin['payin_id']}/pay")
    delivered = sim.wait_for(
        lambda: len(receiver.of_type("payin.paid")) == 2 and receiver.of_type("payin.paid")
    )
    assert delivered[0].json["event_id"] == delivered[1].json["event_id"]
    log = sim.control("GET", f"/control/api/callbacks?merchant_id={merchant_id}").json()
    assert log[0]["status"] == "acknowledged"
    assert [attempt["status_code"] for attempt in log[0]["attempts"]] == [500, 200]

    # An unreachable receiver is retried too; resend delivers again on demand.
    sim.control("POST", "/control/api/callbacks/url", {"url": "http://127.0.0.1:9"})
    second = create_payin(sim, merchant_id)
    sim.control("POST", f"/control/api/payins/{second['payin_id']}/pay")
    sim.wait_for(
        lambda: sim.control("GET", f"/control/api/callbacks?merchant_id={merchant_id}").json()[0]["attempts"]
    )
    pending = sim.control("GET", f"/control/api/callbacks?merchant_id={merchant_id}").json()[0]
    assert pending["status"] == "pending" and pending["attempts"][0]["error"]
    sim.control("POST", "/control/api/callbacks/url", {"url": receiver.url})
    sim.control("POST", f"/control/api/callbacks/{pending['event_id']}/resend")
    sim.wait_for(
        lambda: any(item.json["event_id"] == pending["event_id"] for item in receiver.of_type("payin.paid"))
    )


def test_duplicate_mode_sends_the_same_event_twice(sim: Simulator, receiver: CallbackReceiver) -> None:
    sim.control("POST", "/control/api/callbacks/mode", {"mode": "duplicate"})
    payin = create_payin(sim, merchant())
    sim.control("POST", f"/control/api/payins/{payin['payin_id']}/pay")
    twice = sim.wait_for(lambda: len(receiver.of_type("payin.paid")) == 2 and receiver.of_type("payin.paid"))
    assert twice[0].body == twice[1].body


def test_out_of_order_mode_delivers_newest_first(sim: Simulator, receiver: CallbackReceiver) -> None:
    sim.control("POST", "/control/api/callbacks/mode", {"mode": "out_of_order", "delay_s": 1})
    merchant_id = merchant()
    payin = create_payin(sim, merchant_id, "qris", amount=80_000)
    sim.control("POST", f"/control/api/payins/{payin['payin_id']}/pay")
    refund = sim.call(
        "POST",
        f"/v1/payins/{payin['payin_id']}/refunds",
        {"merchant_id": merchant_id, "amount": 80_000, "reference": "rf-1"},
    )
    assert refund.status_code == 200
    sim.wait_for(lambda: len(receiver.received) == 2)
    assert [item.json["type"] for item in receiver.received] == ["refund.succeeded", "payin.paid"]


def test_late_mode_schedules_the_first_attempt_later(sim: Simulator) -> None:
    sim.control("POST", "/control/api/callbacks/mode", {"mode": "late", "delay_s": 600})
    merchant_id = merchant()
    payin = create_payin(sim, merchant_id)
    sim.control("POST", f"/control/api/payins/{payin['payin_id']}/pay")
    entry = sim.control("GET", f"/control/api/callbacks?merchant_id={merchant_id}").json()[0]
    wait = datetime.fromisoformat(entry["next_attempt_at"]) - datetime.fromisoformat(entry["created_at"])
    assert wait.total_seconds() >= 599 and entry["attempts"] == []


def test_settlement_report_sums_per_channel_and_business_day(sim: Simulator) -> None:
    merchant_id = merchant()
    va = create_payin(sim, merchant_id, amount=150_000)
    qris = create_payin(sim, merchant_id, "qris", amount=100_000)
    unpaid = create_payin(sim, merchant_id, amount=999_000)
    for payin in (va, qris):
        assert sim.control("POST", f"/control/api/payins/{payin['payin_id']}/pay").status_code == 200
    sim.call(
        "POST",
        f"/v1/payins/{qris['payin_id']}/refunds",
        {"merchant_id": merchant_id, "amount": 40_000, "reference": "part"},
    )
    card = register_card(sim, merchant_id)
    create_payin(sim, merchant_id, "card", card_token=card["token"], amount=250_000)

    now = datetime.fromisoformat(sim.call("GET", f"/v1/clock?merchant_id={merchant_id}").json()["now"])
    day = clock.business_date(now).isoformat()

    def report(channel: str) -> dict[str, object]:
        answer = sim.call("GET", f"/v1/settlements?merchant_id={merchant_id}&date={day}&channel={channel}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    va_report = report("virtual_account")
    assert [line["payin_id"] for line in va_report["lines"]] == [va["payin_id"]]  # type: ignore[attr-defined]
    assert unpaid["payin_id"] not in str(va_report)
    assert (va_report["gross"], va_report["fees"], va_report["net"]) == (150_000, 4_000, 146_000)
    qris_report = report("qris")
    assert (
        qris_report["gross"],
        qris_report["fees"],
        qris_report["refunds"],
        qris_report["refund_fees"],
    ) == (
        100_000,
        700,
        40_000,
        1_000,
    )
    assert qris_report["net"] == 100_000 - 700 - 40_000 - 1_000
    card_report = report("card")
    assert (card_report["gross"], card_report["fees"], card_report["net"]) == (250_000, 9_250, 240_750)
    assert card_report["settlement_date"] == clock.add_business_days(date.fromisoformat(day), 2).isoformat()
    assert card_report["status"] == "pending"
    assert report("ewallet")["lines"] == []

    advance_past(sim, merchant_id, f"{card_report['settlement_date']}T00:00:00+07:00")
    assert report("card")["status"] == "settled"
    balance = sim.control("GET", f"/control/api/merchants/{merchant_id}/balance").json()
    assert balance == {
        "merchant_id": merchant_id,
        "available": 146_000 + 59_300 + 240_750 - 1_000,
        "pending_settlement": 0,
        "currency": "IDR",
    }
    other_day = sim.call(
        "GET", f"/v1/settlements?merchant_id={merchant_id}&date=2020-01-02&channel=card"
    ).json()
    assert other_day["lines"] == [] and other_day["net"] == 0
    bad = sim.call("GET", f"/v1/settlements?merchant_id={merchant_id}&date=yesterday&channel=card")
    assert (bad.status_code, bad.json()["field"]) == (422, "/date")


def test_control_page_and_its_forms(sim: Simulator) -> None:
    page = httpx.get(f"{sim.url}/control", timeout=10)
    assert page.status_code == 200 and "bifast" in page.text
    changed = httpx.post(f"{sim.url}/control/forms/rail", data={"rail": "skn", "mode": "slow"}, timeout=10)
    assert changed.status_code == 303
    assert sim.control("GET", "/control/api/rails").json()["skn"] == "slow"
    payin = create_payin(sim, merchant())
    paid = httpx.post(f"{sim.url}/control/forms/pay", data={"va_number": payin["va_number"]}, timeout=10)
    assert paid.status_code == 303
    assert sim.call("GET", f"/v1/payins/{payin['payin_id']}").json()["status"] == "paid"
    indonesian = httpx.get(
        f"{sim.url}/pay/{payin['payin_id']}", headers={"Accept-Language": "id"}, timeout=10
    )
    assert "Rp150.000" in indonesian.text and "Transfer ke virtual account" in indonesian.text


def test_state_and_due_work_survive_a_restart(database: str, callback_receiver: CallbackReceiver) -> None:
    callback_receiver.clear()
    with running_simulator(callback_url=callback_receiver.url, database="neraca_simulator_restart") as sim:
        merchant_id = merchant()
        payin = create_payin(sim, merchant_id)
        payout = submit(sim, payout_body(merchant_id, "rtgs", 200_000_000))
        sim.restart()
        assert sim.call("GET", f"/v1/payins/{payin['payin_id']}").json()["va_number"] == payin["va_number"]
        assert status_of(sim, payout["payout_id"])["status"] == "submitted"
        advance_past(sim, merchant_id, str(payout["expected_at"]))
        done = sim.wait_for(lambda: callback_receiver.of_type("payout.succeeded"))
        assert done[0].json["data"]["payout_id"] == payout["payout_id"]


def test_a_batch_of_payouts_answers_each_item_and_is_idempotent_per_reference(
    sim: Simulator, receiver: CallbackReceiver
) -> None:
    """`POST /v1/payouts/batch`: each item accepted exactly as a single payout (its callback later), or
    refused alone; sent again under a new key the accepted ones answer their first payout; an offline
    rail refuses its items alone, recording nothing."""
    merchant_id = merchant()

    def item(**extra: object) -> dict[str, object]:
        body = payout_body(merchant_id, **extra)
        body.pop("merchant_id")
        return body

    items = [
        item(),
        item(rail="ewallet", amount=50_000, wallet="GOPAY", phone="081298765432"),
        item(amount=100_666),  # the bank refuses it later, as for a single payout
        item(rail="rtgs", amount=50_000),  # below the rail's minimum
        {"reference": "x", "rail": "nope"},
    ]
    first = sim.call("POST", "/v1/payouts/batch", {"merchant_id": merchant_id, "payouts": items})
    assert first.status_code == 200, first.text
    answers = first.json()["payouts"]
    assert [a["reference"] for a in answers] == [i["reference"] for i in items]
    assert [a["payout"]["status"] for a in answers[:3]] == ["submitted"] * 3
    assert answers[3]["error"]["code"] == "amount_out_of_range" and "payout" not in answers[3]
    assert answers[4]["error"]["code"] == "invalid_request"
    # Each its own payout, found by its reference, completed with its own callback.
    assert status_of(sim, answers[0]["payout"]["payout_id"])["reference"] == items[0]["reference"]
    sim.wait_for(lambda: len(receiver.of_type("payout.succeeded")) == 2)
    failed = sim.wait_for(lambda: receiver.of_type("payout.failed"))
    assert failed[0].json["data"]["failure_code"] == "rejected"
    # Sent again under a new key (a resumed submission): the same payouts, nothing new; other details
    # for an accepted reference are refused.
    sim.control("POST", "/control/api/rails/online", {"mode": "offline"})
    try:
        offline = item(rail="online", amount=1_000_000)
        again = sim.call(
            "POST",
            "/v1/payouts/batch",
            {
                "merchant_id": merchant_id,
                "payouts": [items[0], items[1], item(reference=items[0]["reference"], amount=999), offline],
            },
        ).json()["payouts"]
    finally:
        sim.control("POST", "/control/api/rails/online", {"mode": "normal"})
    assert again[0]["payout"]["payout_id"] == answers[0]["payout"]["payout_id"]
    assert again[0]["payout"]["status"] == "succeeded"
    assert again[1]["payout"]["payout_id"] == answers[1]["payout"]["payout_id"]
    assert again[2]["error"]["code"] == "duplicate_reference"
    assert again[3]["error"]["code"] == "rail_offline"
    assert sim.call("GET", f"/v1/payouts?reference={offline['reference']}").status_code == 404
    assert len(receiver.of_type("payout.succeeded")) == 2
    empty = sim.call("POST", "/v1/payouts/batch", {"merchant_id": merchant_id, "payouts": []})
    assert (empty.status_code, empty.json()["field"]) == (422, "/payouts")
    too_many = sim.call(
        "POST", "/v1/payouts/batch", {"merchant_id": merchant_id, "payouts": [items[0]] * 501}
    )
    assert too_many.status_code == 422
