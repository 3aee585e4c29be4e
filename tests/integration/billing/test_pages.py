"""The billing pages: Manage Recurring's search and forms (bad input shown next to its field with 422,
a card number never sent back), a billing's page with its next execute dates, deleting one with the
authenticator code, inactivating, and the void and refund search."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from portal.domains.identity.auth import user_actor
from portal.lib import clock, sql
from tests.support.billing import TEST_CARD
from tests.support.identity import code_for, csrf_from, make_business, signed_in_client, totp_secret


async def signed_in(client: Any) -> tuple[Any, Any, str]:
    business, owner = await make_business()
    await signed_in_client(client, owner)
    page = await client.get("/billing")
    assert page.status_code == 200, page.text[:500]
    return business, owner, csrf_from(page.text)


async def test_adding_a_customer_and_a_billing_from_manage_recurring(client: Any) -> None:
    business, _, token = await signed_in(client)
    made = await client.post(
        "/billing/customers", data={"_csrf_token": token, "customer_id": "CUST-9", "name": "Siti Rahma"}
    )
    assert made.status_code == 303
    bad = await client.post(
        "/billing/billings",
        data={
            "_csrf_token": token,
            "customer_id": "CUST-9",
            "billing_number": "BIL-9",
            "amount": "150000",
            "schedule_type": "date",
            "day": "30",
            "month_1": "1",
        },
    )
    assert bad.status_code == 422
    assert 'id="f-day-error"' in bad.text
    assert await sql.fetchval("SELECT count(*) FROM billing WHERE business_id = $1", business.id) == 0
    good = await client.post(
        "/billing/billings",
        data={
            "_csrf_token": token,
            "customer_id": "CUST-9",
            "billing_number": "BIL-9",
            "amount": "150.000",
            "schedule_type": "day",
            "weekday_0": "1",
            **{f"month_{m}": "1" for m in range(1, 13)},
        },
    )
    assert good.status_code == 303, good.text[:800]
    detail = await client.get(good.headers["location"])
    assert detail.status_code == 200 and "BIL-9" in detail.text and 'id="execute-dates"' in detail.text
    listing = await client.get("/billing?search=CUST-9")
    assert "BIL-9" in listing.text and "150,000" in listing.text


async def test_a_card_number_in_a_form_is_refused_and_not_sent_back(client: Any) -> None:
    business, _, token = await signed_in(client)
    refused = await client.post(
        "/billing/customers",
        data={"_csrf_token": token, "customer_id": "CUST-1", "name": f"Budi {TEST_CARD}"},
    )
    assert refused.status_code == 422
    assert TEST_CARD not in refused.text
    assert (
        await sql.fetchval("SELECT count(*) FROM billing_customer WHERE business_id = $1", business.id) == 0
    )


async def test_deleting_an_execute_date_needs_a_fresh_code_and_inactivate_keeps_the_billing(
    client: Any,
) -> None:
    from portal.domains.billing import services
    from portal.domains.billing.services import common
    from portal.domains.identity import services as identity

    business, owner, token = await signed_in(client)
    actor = user_actor(await identity.user_by_id(owner.id), business)
    await services.create_customer(actor, customer_id="C-1", name="Budi")
    day = common.today() + timedelta(days=5)
    billing = await services.create_billing(
        actor,
        customer_id="C-1",
        billing_number="B-1",
        amount=1000,
        schedule={"schedule_type": "full_date", "dates": [day.isoformat()]},
    )
    url = f"/billing/billings/{billing.id}/execute-dates/delete"
    wrong = await client.post(
        url, data={"_csrf_token": token, "execute_date": day.isoformat(), "otp": "000000"}
    )
    assert wrong.status_code == 422
    assert await services.next_dates(business.id, billing.id) == [day]
    later = clock.now() + timedelta(minutes=2)  # a step after the one the sign-in used
    clock.set_clock(lambda: later)
    try:
        code = code_for(await totp_secret(owner.id), at=later)
        done = await client.post(
            url, data={"_csrf_token": token, "execute_date": day.isoformat(), "otp": code}
        )
    finally:
        clock.set_clock(None)
    assert done.status_code == 200, done.text[:500]
    assert await services.next_dates(business.id, billing.id) == []
    off = await client.post(
        f"/billing/billings/{billing.id}/status", data={"_csrf_token": token, "active": "0"}
    )
    assert off.status_code == 200
    assert (await services.get_billing(actor, billing.id)).status == "inactive"
    search = await client.get("/billing/charges?billing_number=B-1")
    assert search.status_code == 200


async def test_a_card_number_typed_into_the_search_is_refused_on_the_page_and_not_sent_back(
    client: Any,
) -> None:
    from portal.domains.billing import services
    from portal.domains.identity import services as identity

    business, owner, _ = await signed_in(client)
    actor = user_actor(await identity.user_by_id(owner.id), business)
    await services.create_customer(actor, customer_id="CUST-1", name="Budi")
    await services.create_billing(actor, customer_id="CUST-1", billing_number="BIL-1", amount=1000)
    for typed in (TEST_CARD, "4111 1111 1111 1111", "4111-1111-1111-1111"):
        refused = await client.get("/billing", params={"search": typed})
        assert refused.status_code == 422
        assert "looks like a card number" in refused.text
        assert "1111" not in refused.text, typed
        assert 'id="f-search"' in refused.text and "BIL-1" not in refused.text
        assert "No billings found" not in refused.text
    listing = await client.get("/billing", params={"search": "BIL-1"})
    assert (
        listing.status_code == 200
        and "BIL-1" in listing.text
        and "looks like a card number" not in listing.text
    )
