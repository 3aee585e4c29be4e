"""Payments over the JSON API against the sandbox provider: VA paid by the customer (callback and status
query), card answered at once, the invoice number's idempotency, bad input on its field."""

from __future__ import annotations

from typing import Any

from portal.lib import sql
from tests.support.payments import balances, card_token, payments_api, va_body
from tests.support.provider import Harness


async def test_a_va_payment_paid_by_the_customer_is_pending_in_on_the_account(
    harness: Harness, client: Any
) -> None:
    api, business, main = await payments_api(client)
    created = await api.call("POST", "/api/v1/payments", va_body(main, "INV-001"))
    assert created.status_code == 201, created.text
    payment = created.json()
    assert payment["status"] == "pending" and payment["va_number"] and payment["fee"] == 4_000
    assert payment["id"].startswith("pay_")
    paid = await api.call("POST", f"/api/v1/payments/{payment['id']}/simulate-payment")
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid" and paid.json()["paid_at"]
    assert (await balances(main))["credits_pending"] == 100_000
    # The provider's callback that follows books nothing more.
    await harness.wait_for(
        lambda: sql.fetchval(
            "SELECT count(*) FROM provider_event WHERE business_id = $1 AND state = 'applied'", business.id
        ),
        1,
    )
    assert (await balances(main))["credits_pending"] == 100_000
    events = await sql.fetch(
        "SELECT type FROM event WHERE business_id = $1 AND type LIKE 'payment.%'", business.id
    )
    assert [e["type"] for e in events] == ["payment.paid"]


async def test_the_same_invoice_returns_the_first_payment_and_other_details_conflict(
    harness: Harness, client: Any
) -> None:
    api, business, main = await payments_api(client)
    first = (await api.call("POST", "/api/v1/payments", va_body(main, "INV-ONCE"))).json()
    again = await api.call("POST", "/api/v1/payments", va_body(main, "INV-ONCE"))
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    other = await api.call("POST", "/api/v1/payments", va_body(main, "INV-ONCE", amount=120_000))
    assert other.status_code == 409 and other.json()["code"] == "duplicate_invoice", other.text
    assert await sql.fetchval("SELECT count(*) FROM payment WHERE business_id = $1", business.id) == 1


async def test_a_card_payment_is_answered_at_once(harness: Harness, client: Any) -> None:
    api, business, main = await payments_api(client)
    token = await card_token(business.id)
    body = {
        "account_id": main,
        "amount": 250_000,
        "channel": "card",
        "card_token": token,
        "invoice_number": "INV-CARD-1",
        "customer_name": "Budi Santoso",
    }
    paid = await api.call("POST", "/api/v1/payments", body)
    assert paid.status_code == 201, paid.text
    assert paid.json()["status"] == "paid" and paid.json()["response_code"] == "00"
    assert len(paid.json()["approval_code"]) == 6
    assert paid.json()["fee"] == 9_250  # 2.9 % + Rp2.000
    await harness.control("POST", f"/control/api/cards/{token}/decline-next", {"response_code": "51"})
    declined = await api.call("POST", "/api/v1/payments", {**body, "invoice_number": "INV-CARD-2"})
    assert declined.status_code == 201, declined.text
    assert declined.json()["status"] == "failed" and declined.json()["response_code"] == "51"
    assert declined.json()["failure_message"]
    assert (await balances(main))["credits_pending"] == 250_000


async def test_bad_input_is_refused_on_its_field_and_writes_nothing(harness: Harness, client: Any) -> None:
    api, business, main = await payments_api(client)
    cases = [
        ({"amount": 0}, "/amount"),
        ({"bank_code": "999"}, "/bank_code"),
        ({"invoice_number": " "}, "/invoice_number"),
        ({"customer_email": "not-an-email"}, "/customer_email"),
        ({"channel": "qris", "amount": 10_000_001}, "/amount"),
        ({"account_id": "acc_unknown"}, "/account_id"),
    ]
    for change, pointer in cases:
        refused = await api.call("POST", "/api/v1/payments", {**va_body(main, "INV-BAD"), **change})
        assert refused.status_code in (404, 422), (change, refused.text)
        assert pointer in [e["pointer"] for e in refused.json().get("errors", [])], (change, refused.text)
    unknown_card = await api.call(
        "POST",
        "/api/v1/payments",
        {**va_body(main, "INV-BAD"), "channel": "card", "card_token": "tok_nope", "bank_code": None},
    )
    assert unknown_card.status_code == 422, unknown_card.text
    assert await sql.fetchval("SELECT count(*) FROM payment WHERE business_id = $1", business.id) == 0
