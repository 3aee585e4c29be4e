"""Split rules over the API: the reference's rules refused on their field with nothing written (over
100 %, over the settlement amount, 11 destinations, another business's account, a closed account, mixed
countries), the service's activation, a rule attached to an account used by its payments; a payment
that expires at the provider; a callback for an unknown pay-in."""

from __future__ import annotations

from typing import Any

from portal.domains.accounts import services as accounts
from portal.lib import sql
from portal.lib.actor import system_actor
from tests.support.payments import activate_splits, payments_api, va_body
from tests.support.provider import Harness


async def test_split_rules_refuse_what_the_reference_forbids(harness: Harness, client: Any) -> None:
    api, business, main = await payments_api(client)
    rule = {"name": "Branches", "destinations": [{"kind": "account", "account_id": main, "percent": 10}]}
    inactive = await api.call("POST", "/api/v1/split_rules", rule)
    assert inactive.status_code == 409 and inactive.json()["code"] == "split_service_inactive"
    await activate_splits(api)
    actor = system_actor(business.id)
    kids = [
        (await accounts.create_account(actor, name=f"B{i}", kind="partner", parent_id=main)).id
        for i in range(11)
    ]
    closed = await accounts.create_account(actor, name="Closed", kind="partner", parent_id=main)
    await accounts.set_status(actor, closed.id, "close")
    other_api, _other, other_main = await payments_api(client)
    del other_api

    def dest(account_id: str, **share: Any) -> dict[str, Any]:
        return {"kind": "account", "account_id": account_id, **share}

    cases = [
        (
            [dest(kids[0], percent=60), dest(kids[1], percent=40.01)],
            "split_over_100_percent",
            "/destinations",
        ),
        ([dest(k, percent=5) for k in kids], "too_many_destinations", "/destinations"),
        ([dest(other_main, percent=10)], "destination_not_found", "/destinations/0/account_id"),
        ([dest(closed.id, percent=10)], "account_closed", "/destinations/0/account_id"),
        ([dest(kids[0], percent=10, amount=5)], "invalid_split", "/destinations/0"),
        ([dest(kids[0], percent=0.001)], "invalid_split", "/destinations/0/percent"),
    ]
    for destinations, code, pointer in cases:
        refused = await api.call("POST", "/api/v1/split_rules", {"name": "X", "destinations": destinations})
        assert refused.status_code == 422, (code, refused.text)
        assert refused.json()["code"] == code, (code, refused.text)
        assert pointer in [e["pointer"] for e in refused.json()["errors"]], (code, refused.text)
    assert await sql.fetchval("SELECT count(*) FROM split_rule WHERE business_id = $1", business.id) == 0
    # Σ fixed above the Total Settlement Amount of the payment (100,000 − 4,000 VA fee).
    over = await api.call(
        "POST", "/api/v1/payments", va_body(main, "INV-OVER", split=[dest(kids[0], amount=96_001)])
    )
    assert over.status_code == 422 and over.json()["code"] == "split_exceeds_amount", over.text
    fits = await api.call(
        "POST", "/api/v1/payments", va_body(main, "INV-FITS", split=[dest(kids[0], amount=96_000)])
    )
    assert fits.status_code == 201, fits.text
    assert await sql.fetchval("SELECT count(*) FROM payment WHERE business_id = $1", business.id) == 1


async def test_a_rule_attached_to_an_account_splits_its_payments(harness: Harness, client: Any) -> None:
    api, business, main = await payments_api(client)
    await activate_splits(api)
    x = await accounts.create_account(system_actor(business.id), name="X", kind="partner", parent_id=main)
    created = await api.call(
        "POST",
        "/api/v1/split_rules",
        {
            "name": "Main to X",
            "account_id": main,
            "destinations": [{"kind": "account", "account_id": x.id, "percent": 25}],
        },
    )
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    assert (await api.call("GET", f"/api/v1/split_rules/{rule_id}")).json()["name"] == "Main to X"
    renamed = await api.call("PATCH", f"/api/v1/split_rules/{rule_id}", {"name": "Main → X"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Main → X"
    made = await api.call("POST", "/api/v1/payments", va_body(main, "INV-RULE"))
    assert made.status_code == 201, made.text
    payment = made.json()
    assert payment["split"][0]["account_id"] == x.id and payment["split"][0]["percent"] == 25
    by_rule = await api.call("POST", "/api/v1/payments", va_body(main, "INV-RULE-2", split_rule_id=rule_id))
    assert by_rule.status_code == 201 and by_rule.json()["split_rule_id"] == rule_id
    assert (await api.call("DELETE", f"/api/v1/split_rules/{rule_id}")).status_code == 204
    assert (await api.call("GET", f"/api/v1/split_rules/{rule_id}")).status_code == 404
    plain = (await api.call("POST", "/api/v1/payments", va_body(main, "INV-PLAIN"))).json()
    assert plain["split"] is None
    listed = (await api.call("GET", "/api/v1/payments?split=true")).json()["data"]
    assert {p["invoice_number"] for p in listed} == {"INV-RULE", "INV-RULE-2"}


async def test_a_payment_expires_at_the_provider(harness: Harness, client: Any) -> None:
    api, business, main = await payments_api(client)
    payment = (await api.call("POST", "/api/v1/payments", va_body(main, "INV-EXP"))).json()
    await harness.control("POST", f"/control/api/clock/{business.id}/advance", {"seconds": 25 * 3600})
    try:
        await harness.wait_for(
            lambda: sql.fetchval("SELECT status FROM payment WHERE business_id = $1", business.id), "expired"
        )
    finally:
        await harness.control("POST", f"/control/api/clock/{business.id}/reset")
    assert (await api.call("GET", f"/api/v1/payments/{payment['id']}")).json()["status"] == "expired"
    events = await sql.fetch(
        "SELECT type FROM event WHERE business_id = $1 AND type LIKE 'payment.%'", business.id
    )
    assert [e["type"] for e in events] == ["payment.expired"]
    refused = await api.call("POST", f"/api/v1/payments/{payment['id']}/refunds", {})
    assert refused.status_code == 409 and refused.json()["code"] == "payment_not_refundable"


async def test_a_callback_for_an_unknown_payin_changes_nothing(harness: Harness, client: Any) -> None:
    api, business, main = await payments_api(client)
    await api.call("POST", "/api/v1/payments", va_body(main, "INV-KNOWN"))
    answer = await harness.callback(
        "payins", "ev_unknown_1", "payin.paid", business.id, {"payin_id": "pi_unknown", "amount": 100_000}
    )
    assert answer.status_code == 200 and answer.json() == {"status": "ignored", "reason": "unknown_reference"}
    assert await sql.fetchval("SELECT status FROM payment WHERE business_id = $1", business.id) == "pending"
    assert await sql.fetchval("SELECT count(*) FROM provider_event WHERE business_id = $1", business.id) == 0
