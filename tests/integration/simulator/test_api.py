"""The provider API over real HTTP: signatures, idempotency, pay-ins, cards, inquiries, refunds."""

from __future__ import annotations

import json
from typing import Any

import httpx

from portal.lib import snap
from portal.simulator import reference
from tests.integration.simulator.helpers import create_payin, merchant, payin_body, ref, register_card
from tests.support.simulator import CallbackReceiver, Simulator


def test_unsigned_wrongly_signed_stale_or_unknown_partner_calls_are_refused(sim: Simulator) -> None:
    body = json.dumps(payin_body(merchant()), separators=(",", ":")).encode()
    unsigned = httpx.post(f"{sim.url}/v1/payins", content=body, timeout=10)
    assert unsigned.status_code == 401
    assert unsigned.json()["code"] == "unknown_partner"

    wrong = snap.headers("not-the-secret", sim.partner_id, "k-wrong", "POST", "/v1/payins", body)
    answer = httpx.post(f"{sim.url}/v1/payins", content=body, headers=wrong, timeout=10)
    assert (answer.status_code, answer.json()["code"]) == (401, "invalid_signature")

    from datetime import UTC, datetime, timedelta

    stale = snap.headers(
        sim.secret,
        sim.partner_id,
        "k-stale",
        "POST",
        "/v1/payins",
        body,
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    answer = httpx.post(f"{sim.url}/v1/payins", content=body, headers=stale, timeout=10)
    assert (answer.status_code, answer.json()["code"]) == (401, "timestamp_out_of_range")

    tampered = sim.signed_headers("POST", "/v1/payins", body)
    answer = httpx.post(f"{sim.url}/v1/payins", content=body.replace(b"150000", b"150001"), headers=tampered)
    assert (answer.status_code, answer.json()["code"]) == (401, "invalid_signature")

    # Nothing was recorded by any of them.
    reference_ = json.loads(body)["reference"]
    assert sim.call("GET", f"/v1/payins?reference={reference_}").status_code == 404


def test_same_key_same_body_answers_the_first_answer_and_another_body_is_409(sim: Simulator) -> None:
    body = payin_body(merchant())
    first = sim.call("POST", "/v1/payins", body, key="k-idem-1")
    again = sim.call("POST", "/v1/payins", body, key="k-idem-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()

    other = sim.call("POST", "/v1/payins", {**body, "amount": 999_000}, key="k-idem-1")
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")

    # One pay-in only; the same reference under a new key is a duplicate, not a second pay-in.
    duplicate = sim.call("POST", "/v1/payins", body)
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "duplicate_reference")
    found = sim.call("GET", f"/v1/payins?reference={body['reference']}")
    assert found.json()["payin_id"] == first.json()["payin_id"]


def test_bad_input_is_a_422_naming_the_field(sim: Simulator) -> None:
    cases: list[tuple[dict[str, object], str]] = [
        ({"amount": -5}, "/amount"),
        ({"amount": "5000"}, "/amount"),
        ({"bank_code": "999"}, "/bank_code"),
        ({"channel": "cash"}, "/channel"),
        ({"currency": "USD"}, "/currency"),
        ({"expires_at": "tomorrow"}, "/expires_at"),
        ({"expires_at": "2020-01-01T00:00:00+07:00"}, "/expires_at"),
    ]
    for change, pointer in cases:
        answer = sim.call("POST", "/v1/payins", {**payin_body(merchant()), **change})
        assert answer.status_code == 422, (change, answer.text)
        assert answer.json()["field"] == pointer
    bad_json = sim.signed_headers("POST", "/v1/payins", b"[1,2")
    answer = httpx.post(f"{sim.url}/v1/payins", content=b"[1,2", headers=bad_json, timeout=10)
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_json")


def test_va_paid_on_the_control_surface_sends_a_signed_callback(
    sim: Simulator, receiver: CallbackReceiver
) -> None:
    payin = create_payin(sim, merchant())
    assert payin["status"] == "pending"
    assert (
        payin["va_number"].startswith(reference.BANKS["014"]["va_prefix"]) and len(payin["va_number"]) == 16
    )

    paid = sim.control("POST", f"/control/api/va/{payin['va_number']}/pay")
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"

    delivered = sim.wait_for(lambda: receiver.of_type("payin.paid"))
    callback = delivered[0]
    assert callback.path == "/provider/callbacks/payins"
    snap.verify(sim.callback_secret, "POST", callback.path, callback.body, callback.headers)
    assert callback.headers["x-external-id"] == callback.json["event_id"]
    assert callback.json["data"]["payin_id"] == payin["payin_id"]
    assert callback.json["data"]["status"] == "paid"
    # The callback carries the object exactly as the status query answers it.
    assert sim.call("GET", f"/v1/payins/{payin['payin_id']}").json() == callback.json["data"]

    again = sim.control("POST", f"/control/api/payins/{payin['payin_id']}/pay")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")


def test_qris_payload_is_emvco_with_a_valid_crc(sim: Simulator) -> None:
    payin = create_payin(sim, merchant(), "qris", amount=87_500)
    payload = payin["qris_string"]
    assert payload.startswith("000201010212")
    assert "5303360" in payload and "540587500" in payload and "5802ID" in payload
    assert payload[-8:-4] == "6304"
    assert f"{reference.crc16_ccitt(payload[:-4].encode()):04X}" == payload[-4:]


def test_ewallet_is_pending_until_paid_on_its_pay_page(sim: Simulator, receiver: CallbackReceiver) -> None:
    payin = create_payin(sim, merchant(), "ewallet")
    assert payin["status"] == "pending"
    page = httpx.get(payin["pay_url"], timeout=10)
    assert page.status_code == 200 and "OVO" in page.text
    posted = httpx.post(payin["pay_url"], timeout=10)
    assert posted.status_code == 303
    assert sim.call("GET", f"/v1/payins/{payin['payin_id']}").json()["status"] == "paid"
    sim.wait_for(lambda: receiver.of_type("payin.paid"))


def test_cancel_only_pending_and_expiry_on_the_merchant_clock(
    sim: Simulator, receiver: CallbackReceiver
) -> None:
    merchant_id = merchant()
    payin = create_payin(sim, merchant_id)
    cancelled = sim.call("POST", f"/v1/payins/{payin['payin_id']}/cancel", {"merchant_id": merchant_id})
    assert cancelled.json()["status"] == "cancelled"
    again = sim.call("POST", f"/v1/payins/{payin['payin_id']}/cancel", {"merchant_id": merchant_id})
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    other_merchant = sim.call("POST", f"/v1/payins/{payin['payin_id']}/cancel", {"merchant_id": merchant()})
    assert other_merchant.status_code == 404

    expiring = create_payin(sim, merchant_id)
    sim.control("POST", f"/control/api/clock/{merchant_id}/advance", {"seconds": 7 * 3600})
    expired = sim.wait_for(lambda: receiver.of_type("payin.expired"))
    assert expired[0].json["data"]["payin_id"] == expiring["payin_id"]
    assert sim.call("GET", f"/v1/payins/{expiring['payin_id']}").json()["status"] == "expired"
    late = sim.control("POST", f"/control/api/payins/{expiring['payin_id']}/pay")
    assert late.status_code == 409


def test_card_registration_charge_and_decline_next(sim: Simulator, receiver: CallbackReceiver) -> None:
    merchant_id = merchant()
    card = register_card(sim, merchant_id, "4111 1111 1111 1111")
    assert card["status"] == "registered"
    assert (card["first6"], card["last4"], card["brand"]) == ("411111", "1111", "visa")
    assert card["issuer"] == "Sandbox Test Bank"
    assert (card["expiry_month"], card["expiry_year"]) == (12, 2030)
    assert "4111111111111111" not in json.dumps(card)
    registered = sim.wait_for(lambda: receiver.of_type("card.registered"))
    assert registered[0].json["data"]["token"] == card["token"]

    approved = create_payin(sim, merchant_id, "card", card_token=card["token"], amount=250_000)
    assert approved["status"] == "paid" and approved["response_code"] == "00"
    assert len(approved["approval_code"]) == 6 and approved["approval_code"].isdigit()

    assert (
        sim.control(
            "POST", f"/control/api/cards/{card['token']}/decline-next", {"response_code": "51"}
        ).status_code
        == 200
    )
    declined = create_payin(sim, merchant_id, "card", card_token=card["token"])
    assert (declined["status"], declined["response_code"]) == ("failed", "51")
    assert declined["response_message"] == "Insufficient funds" and declined["approval_code"] is None
    assert create_payin(sim, merchant_id, "card", card_token=card["token"])["response_code"] == "00"

    over_limit = create_payin(
        sim, merchant_id, "card", card_token=card["token"], amount=reference.CARD_LIMIT + 1
    )
    assert over_limit["response_code"] == "61"
    unknown = sim.call("POST", "/v1/payins", payin_body(merchant(), "card", card_token=card["token"]))
    assert (unknown.status_code, unknown.json()["field"]) == (422, "/card_token")


def test_issuer_from_the_bin_and_an_invalid_card_re_renders_the_hosted_form(sim: Simulator) -> None:
    card = register_card(sim, merchant(), "4556330000000001")
    assert (card["issuer"], card["brand"]) == ("BCA", "visa")
    started = sim.call(
        "POST",
        "/v1/cards/registrations",
        {"merchant_id": merchant(), "customer_ref": "c", "return_url": "http://127.0.0.1:8000/x"},
    ).json()
    bad = httpx.post(
        started["hosted_url"],
        data={"card_number": "4111111111111112", "expiry": "12/30", "cvv": "123", "holder": "A"},
    )
    assert bad.status_code == 422 and "not valid" in bad.text
    expired = httpx.post(
        started["hosted_url"],
        data={"card_number": "4111111111111111", "expiry": "01/20", "cvv": "123", "holder": "A"},
    )
    assert expired.status_code == 422 and "expired" in expired.text
    assert (
        sim.call("GET", f"/v1/cards/registrations/{started['registration_id']}").json()["status"] == "pending"
    )


def test_name_inquiry_found_not_found_and_closed(sim: Simulator) -> None:
    def inquire(**body: str) -> dict[str, str]:
        answer = sim.call("POST", "/v1/inquiries", {"merchant_id": merchant(), "kind": "bank", **body})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    assert inquire(bank_code="014", account_number="1234567890") == {
        "status": "found",
        "holder_name": "BUDI SANTOSO",
    }
    assert inquire(bank_code="014", account_number="5550001111")["status"] == "closed"
    assert inquire(bank_code="009", account_number="7770000")["status"] == "not_found"
    assert inquire(bank_code="009", account_number="1239999")["status"] == "closed"

    number = ref("")[-10:].replace("-", "1")
    number = "".join(ch if ch.isdigit() else "7" for ch in number)
    made = sim.control(
        "POST",
        "/control/api/bank-accounts",
        {"bank_code": "008", "account_number": number, "holder_name": "Sari Wulandari", "status": "active"},
    )
    assert made.status_code == 200
    assert inquire(bank_code="008", account_number=number)["holder_name"] == "SARI WULANDARI"
    sim.control(
        "POST",
        "/control/api/bank-accounts",
        {"bank_code": "008", "account_number": number, "holder_name": "Sari Wulandari", "status": "closed"},
    )
    assert inquire(bank_code="008", account_number=number) == {"status": "closed", "holder_name": None}

    wallet = sim.call(
        "POST",
        "/v1/inquiries",
        {"merchant_id": merchant(), "kind": "ewallet", "wallet": "OVO", "phone": "+6281234567890"},
    )
    assert wallet.json() == {"status": "found", "holder_name": "AGUS PRATAMA"}
    missing = sim.call(
        "POST", "/v1/inquiries", {"merchant_id": merchant(), "kind": "bank", "bank_code": "014"}
    )
    assert (missing.status_code, missing.json()["field"]) == (422, "/account_number")


def test_refunds_partial_then_full_never_more(sim: Simulator, receiver: CallbackReceiver) -> None:
    merchant_id = merchant()
    payin = create_payin(sim, merchant_id, "qris", amount=100_000)
    early = sim.call(
        "POST",
        f"/v1/payins/{payin['payin_id']}/refunds",
        {"merchant_id": merchant_id, "amount": 1, "reference": "r0"},
    )
    assert (early.status_code, early.json()["code"]) == (409, "invalid_state")
    sim.control("POST", f"/control/api/payins/{payin['payin_id']}/pay")

    part = sim.call(
        "POST",
        f"/v1/payins/{payin['payin_id']}/refunds",
        {"merchant_id": merchant_id, "amount": 40_000, "reference": "r1"},
    )
    assert (
        part.status_code == 200
        and part.json()["status"] == "succeeded"
        and part.json()["refund_id"].startswith("rf_")
    )
    assert sim.call("GET", f"/v1/payins/{payin['payin_id']}").json()["status"] == "partially_refunded"
    too_much = sim.call(
        "POST",
        f"/v1/payins/{payin['payin_id']}/refunds",
        {"merchant_id": merchant_id, "amount": 60_001, "reference": "r2"},
    )
    assert (too_much.status_code, too_much.json()["code"]) == (422, "refund_exceeds_payin")
    rest = sim.call(
        "POST",
        f"/v1/payins/{payin['payin_id']}/refunds",
        {"merchant_id": merchant_id, "amount": 60_000, "reference": "r3"},
    )
    assert rest.json()["status"] == "succeeded"
    assert sim.call("GET", f"/v1/payins/{payin['payin_id']}").json()["status"] == "refunded"
    refunds = sim.wait_for(
        lambda: len(receiver.of_type("refund.succeeded")) == 2 and receiver.of_type("refund.succeeded")
    )
    assert {item.path for item in refunds} == {"/provider/callbacks/refunds"}


def test_concurrent_retries_with_one_key_create_one_payin(sim: Simulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = payin_body(merchant())
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: sim.call("POST", "/v1/payins", body, key="k-race-1"), range(6)))
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.json()["payin_id"] for answer in answers}) == 1


def test_control_surface_refuses_a_client_that_is_not_on_loopback(sim: Simulator) -> None:
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 (a local reverse proxy): the client is then remote.
    remote = {"X-Forwarded-For": "203.0.113.9"}
    for method, path in (
        ("GET", "/control/api/state"),
        ("POST", "/control/api/rails/bifast"),
        ("GET", "/control"),
    ):
        answer = httpx.request(
            method, f"{sim.url}{path}", headers=remote, json={"mode": "offline"}, timeout=10
        )
        assert (answer.status_code, answer.json()["code"]) == (403, "loopback_only"), path
    assert sim.control("GET", "/control/api/rails").json()["bifast"] == "normal"
    # The customer's pay page is public.
    payin = create_payin(sim, merchant())
    assert httpx.get(payin["pay_url"], headers=remote, timeout=10).status_code == 200


def test_an_overlong_idempotency_key_is_refused(sim: Simulator) -> None:
    answer = sim.call("POST", "/v1/payins", payin_body(merchant()), key="k" * 129)
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_external_id")


def test_another_site_cannot_make_a_local_browser_post_to_the_simulator(sim: Simulator) -> None:
    payin = create_payin(sim, merchant())
    evil = {"Origin": "http://evil.example"}
    for path, data in (
        ("/control/api/rails/bifast", None),
        (f"/control/api/payins/{payin['payin_id']}/pay", None),
        ("/control/forms/rail", {"rail": "bifast", "mode": "offline"}),
        (f"/pay/{payin['payin_id']}", None),
    ):
        answer = httpx.post(
            f"{sim.url}{path}", headers=evil, data=data, content=None if data else b'{"mode":"offline"}'
        )
        assert (answer.status_code, answer.json()["code"]) == (403, "cross_site"), path
    assert sim.call("GET", f"/v1/payins/{payin['payin_id']}").json()["status"] == "pending"
    assert sim.control("GET", "/control/api/rails").json()["bifast"] == "normal"
    # The simulator's own pages post with their own origin.
    own = httpx.post(f"{sim.url}/pay/{payin['payin_id']}", headers={"Origin": sim.url})
    assert own.status_code == 303


def test_scheme_ceilings_for_qris_and_ewallet(sim: Simulator) -> None:
    for channel, amount in (("qris", 10_000_001), ("ewallet", 20_000_001)):
        answer = sim.call("POST", "/v1/payins", payin_body(merchant(), channel, amount=amount))
        assert (answer.status_code, answer.json()["code"], answer.json()["field"]) == (
            422,
            "amount_out_of_range",
            "/amount",
        )


def test_racing_keys_for_one_reference_make_one_payin_and_conflicts(sim: Simulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = payin_body(merchant())
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: sim.call("POST", "/v1/payins", body), range(6)))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [200, 409, 409, 409, 409, 409]
    assert {answer.json()["code"] for answer in answers if answer.status_code == 409} == {
        "duplicate_reference"
    }


def test_a_batch_of_card_charges_answers_each_item_and_is_idempotent_per_reference(
    sim: Simulator, receiver: CallbackReceiver
) -> None:
    merchant_id = merchant()
    card = register_card(sim, merchant_id)
    other = register_card(sim, merchant_id, "5555555555554444")
    assert sim.control("POST", f"/control/api/cards/{other['token']}/decline-next", {"response_code": "05"})
    references = [ref("chg") for _ in range(4)]

    def item(reference: str, token: str, amount: int = 100_000) -> dict[str, Any]:
        return {
            "reference": reference,
            "amount": amount,
            "currency": "IDR",
            "customer_name": "Budi Santoso",
            "card_token": token,
        }

    charges = [
        item(references[0], card["token"]),
        item(references[1], other["token"]),
        item(references[2], "tok_unknown"),
        {"reference": references[3], "amount": -1, "card_token": card["token"]},
    ]
    first = sim.call("POST", "/v1/payins/card-charges", {"merchant_id": merchant_id, "charges": charges})
    assert first.status_code == 200, first.text
    answers = first.json()["charges"]
    assert [a["reference"] for a in answers] == references
    assert (answers[0]["payin"]["status"], answers[0]["payin"]["response_code"]) == ("paid", "00")
    assert len(answers[0]["payin"]["approval_code"]) == 6
    assert (answers[1]["payin"]["status"], answers[1]["payin"]["response_code"]) == ("failed", "05")
    assert answers[2]["error"]["code"] == "card_not_found" and "payin" not in answers[2]
    assert answers[3]["error"]["code"] == "invalid_request"
    # Each its own pay-in, found by its reference, with its callback.
    found = sim.call("GET", f"/v1/payins?reference={references[0]}&merchant_id={merchant_id}").json()
    assert json.dumps(found).count(answers[0]["payin"]["payin_id"]) >= 1
    sim.wait_for(lambda: receiver.of_type("payin.failed"))
    # Sent again under a new key (a resumed run): the same pay-ins, never a second charge; the decline
    # already used is not applied again, and other details for a charged reference are refused.
    again = sim.call(
        "POST",
        "/v1/payins/card-charges",
        {
            "merchant_id": merchant_id,
            "charges": [
                item(references[0], card["token"]),
                item(references[1], other["token"]),
                item(references[0], card["token"], 999),
            ],
        },
    ).json()["charges"]
    assert again[0]["payin"] == answers[0]["payin"]
    assert again[1]["payin"]["payin_id"] == answers[1]["payin"]["payin_id"]
    assert again[1]["payin"]["status"] == "failed"
    assert again[2]["error"]["code"] == "duplicate_reference"
    assert (
        sim.call("POST", "/v1/payins/card-charges", {"merchant_id": merchant_id, "charges": []}).status_code
        == 422
    )
    assert (
        sim.call("POST", "/v1/payins/card-charges", {"merchant_id": merchant_id}, key="x").status_code == 422
    )
