"""Repeated notifications (the same kind about the same account and object within an hour of the newest)
are one row with their count; marking that row read marks its repeats; older repeats and other objects
stay rows of their own."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.identity.auth import user_actor
from portal.domains.notifications import services as notifications
from portal.lib import clock, sql
from tests.support.identity import csrf_from, make_business, signed_in_client


async def test_repeats_are_one_row_with_a_count(client: Any, db: str) -> None:
    business, owner = await make_business()
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    sinar = await accounts.create_account(actor, name="Toko Sinar Jaya", kind="partner", parent_id=main)
    params = {"amount": 5_000, "currency": "IDR", "reference": "R-1"}
    now = clock.now()
    ages = [
        ("/transfers/trf_a", timedelta(hours=3)),  # an older repeat: more than an hour before the group
        ("/transfers/trf_a", timedelta(minutes=50)),
        ("/transfers/trf_a", timedelta(minutes=20)),
        ("/transfers/trf_b", timedelta(minutes=10)),  # another object
        ("/transfers/trf_a", timedelta(minutes=0)),
    ]
    for link, age in ages:
        ntf = await notifications.notify(business.id, sinar.id, "transfer.received", params, link)
        await sql.execute("UPDATE notification SET created_at = $2 WHERE id = $1", ntf, now - age)

    items = await notifications.list_for(actor)
    assert [(i.link, i.count) for i in items] == [
        ("/transfers/trf_a", 3),
        ("/transfers/trf_b", 1),
        ("/transfers/trf_a", 1),
    ]
    assert await notifications.unread_count(actor) == 5

    await signed_in_client(client, owner)
    listing = await client.get("/notifications")
    assert 'data-repeats="3"' in listing.text and "3 times" in listing.text
    read = await client.post(
        f"/notifications/{items[0].id}/read", data={"_csrf_token": csrf_from(listing.text)}
    )
    assert read.status_code == 303
    assert await notifications.unread_count(actor) == 2  # the row's three repeats, not the others
    after = await notifications.list_for(actor)
    assert [(i.count, i.read) for i in after] == [(3, True), (1, False), (1, False)]
