"""The activity log is searched by Billing Number: every change of that billing (added, type changed,
inactivated, deleted) is found, in any letter case, and nothing of another billing or another business."""

from __future__ import annotations

from typing import Any

from portal.domains.audit import services as activity
from portal.domains.billing import services
from portal.domains.identity.auth import user_actor
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
