"""The activity log is searched by Billing Number (every change of that billing: added, type changed,
inactivated, deleted), by Customer ID and by Invoice Number (voids and refunds), in any letter case, and
nothing of another billing, customer or business is found."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from portal.domains.audit import services as activity
from portal.domains.billing import services
from portal.domains.identity.auth import user_actor
from portal.lib import clock, sql
from portal.lib.errors import NotFound
from portal.lib.timefmt import WIB
from tests.support.billing import pin_provider_clock, register_card
from tests.support.identity import make_business, signed_in_client


async def test_activity_is_searched_by_billing_number(client: Any) -> None:
    business, owner = await make_business()
    actor = user_actor(owner, business)
    other_business, other_owner = await make_business()
    stranger = user_actor(other_owner, other_business)
    for who in (actor, stranger):
        await services.create_customer(who, customer_id="CUST-A", name="Budi Santoso")
    for who, number in ((actor, "BIL-FIND-1"), (actor, "BIL-KEEP-2"), (stranger, "BIL-FIND-1")):
        await services.create_billing(who, customer_id="CUST-A", billing_number=number, amount=10_000)
    await services.change_type(actor, "BIL-FIND-1", "reminder")
    await services.set_active(actor, "BIL-FIND-1", False)
    await services.set_active(actor, "BIL-KEEP-2", False)
    await services.delete_billing(actor, "BIL-FIND-1")

    found = await activity.search(actor, activity.parse_filter("", "", "bil-find-1", "", ""))
    assert [r["action"] for r in found.rows] == [
        "billing.deleted",
        "billing.inactivated",
        "billing.type_changed",
        "billing.created",
    ]
    assert {r["refs"]["billing_number"] for r in found.rows} == {"BIL-FIND-1"}
    assert {r["business_id"] for r in found.rows} == {business.id}

    await signed_in_client(client, owner)
    page = await client.get("/activity", params={"data": "BIL-FIND-1"})
    assert page.status_code == 200
    assert page.text.count("BIL-FIND-1") >= 4 and "BIL-KEEP-2" not in page.text


async def test_activity_is_searched_by_customer_id_and_by_invoice_number(client: Any) -> None:
    """A void and a refund are found by the charge's Invoice Number and by its customer's Customer ID,
    with the customer's other changes and nothing of another customer or business."""
    business, owner = await make_business()
    actor = user_actor(owner, business)
    other_business, other_owner = await make_business()
    stranger = user_actor(other_owner, other_business)
    await pin_provider_clock(business.id)
    monday = date(2031, 1, 6)
    clock.set_clock(lambda: datetime(2031, 1, 3, 10, tzinfo=WIB))
    try:
        for who, customer, number in (
            (actor, "CUST-A", "BIL-A1"),
            (actor, "CUST-A", "BIL-A2"),
            (actor, "CUST-B", "BIL-B1"),
            (stranger, "CUST-A", "BIL-A1"),
        ):
            try:
                await services.get_customer(who, customer)
            except NotFound:
                await services.create_customer(who, customer_id=customer, name="Budi Santoso")
            billing = await services.create_billing(
                who,
                customer_id=customer,
                billing_number=number,
                amount=100_000,
                schedule={"schedule_type": "full_date", "dates": [monday.isoformat()]},
            )
            await register_card(who, billing.id)
        clock.set_clock(lambda: datetime(2031, 1, 6, 10, tzinfo=WIB))
        for who in (actor, stranger):
            await services.run_billing(business_id=who.business_id)
        charge = {
            (r["business_id"], r["billing_number"]): r["id"]
            for r in await sql.fetch("SELECT business_id, billing_number, id FROM billing_charge")
        }
        await services.refund_charge(actor, charge[(business.id, "BIL-A1")], 40_000, "returned item")
        await services.void_charge(actor, charge[(business.id, "BIL-A2")])
        await services.refund_charge(actor, charge[(business.id, "BIL-B1")], 10_000)
        await services.refund_charge(stranger, charge[(other_business.id, "BIL-A1")], 10_000)
    finally:
        clock.set_clock(None)

    by_customer = await activity.search(actor, activity.parse_filter("", "", "cust-a", "", ""))
    actions = [r["action"] for r in by_customer.rows]
    assert actions[:2] == ["billing.charge_voided", "billing.charge_refunded"]
    assert actions.count("billing.created") == 2 and actions[-1] == "billing.customer_created"
    assert {r["refs"]["customer_id"] for r in by_customer.rows} == {"CUST-A"}
    assert {r["business_id"] for r in by_customer.rows} == {business.id}
    assert {r["refs"]["invoice_number"] for r in by_customer.rows[:2]} == {
        "BIL-A2-20310106",
        "BIL-A1-20310106",
    }

    by_invoice = await activity.search(actor, activity.parse_filter("", "", "bil-a1-20310106", "", ""))
    # The charge's refund, and the payments domain's entries of the same payment; nothing else.
    assert {r["business_id"] for r in by_invoice.rows} == {business.id}
    assert [r["action"] for r in by_invoice.rows] == [
        "billing.charge_refunded",
        "payment.refunded",
        "payment.paid",
    ]
    assert all("BIL-A1-20310106" in r["summary"] for r in by_invoice.rows)
    (refunded,) = [r for r in by_invoice.rows if r["action"].startswith("billing.")]
    assert refunded["action"] == "billing.charge_refunded"
    assert refunded["refs"] == {
        "billing_number": "BIL-A1",
        "invoice_number": "BIL-A1-20310106",
        "customer_id": "CUST-A",
    }

    await signed_in_client(client, owner)
    page = await client.get("/activity", params={"data": "CUST-A"})
    assert page.status_code == 200
    assert "BIL-A1-20310106" in page.text and "BIL-A2-20310106" in page.text
    assert "BIL-B1" not in page.text
