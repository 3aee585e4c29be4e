"""The webhook pages: add an endpoint (secret shown once), send a test event, see attempts, resend;
rights and tenant isolation on every page."""

from __future__ import annotations

import re
from typing import Any

from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.webhooks import services
from portal.lib import sql
from tests.support.identity import csrf_from, enrol, make_business, signed_in_client
from tests.support.webhooks import Receiver, run_queued_jobs


async def test_add_endpoint_send_test_event_and_resend(client: Any, db: str, receiver: Receiver) -> None:
    business, owner = await make_business()
    await signed_in_client(client, owner)
    listing = await client.get("/developers/webhooks")
    assert listing.status_code == 200 and "No webhook endpoints yet" in listing.text
    token = csrf_from(listing.text)
    refused = await client.post(
        "/developers/webhooks", data={"_csrf_token": token, "url": "ftp://example.com/x", "description": "x"}
    )
    assert refused.status_code == 422 and "https://" in refused.text
    assert await sql.fetchval("SELECT count(*) FROM webhook_endpoint") == 0
    created = await client.post(
        "/developers/webhooks",
        data={
            "_csrf_token": token,
            "url": receiver.url("/ok"),
            "description": "Orders",
            "event_types": ["topup.paid", "transfer.created"],
        },
    )
    assert created.status_code == 200, created.text
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", created.text)
    assert secret is not None
    endpoint_id = await sql.fetchval("SELECT id FROM webhook_endpoint")
    assert await sql.fetchval("SELECT event_types FROM webhook_endpoint") == [
        "topup.paid",
        "transfer.created",
    ]
    detail = await client.get(f"/developers/webhooks/{endpoint_id}")
    assert secret.group(0) not in detail.text  # shown once only
    tested = await client.post(f"/developers/webhooks/{endpoint_id}/test", data={"_csrf_token": token})
    assert tested.status_code == 303
    assert "Test event queued" in (await client.get(tested.headers["location"])).text
    await run_queued_jobs()
    console = await client.get("/developers/events")
    assert "webhook.test" in console.text and "thanks" in console.text
    event_id = await sql.fetchval("SELECT id FROM event")
    again = await client.post(
        f"/developers/webhooks/{endpoint_id}/events/{event_id}/resend", data={"_csrf_token": token}
    )
    assert again.status_code == 303
    await run_queued_jobs()
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event_id, event_id]
    page = await client.get(f"/developers/webhooks/{endpoint_id}")
    assert page.text.count('class="attempt attempt--ok"') == 2
    rotated = await client.post(f"/developers/webhooks/{endpoint_id}/rotate", data={"_csrf_token": token})
    assert "whsec_" in rotated.text
    deleted = await client.post(f"/developers/webhooks/{endpoint_id}/delete", data={"_csrf_token": token})
    assert deleted.status_code == 303
    assert await sql.fetchval("SELECT count(*) FROM webhook_endpoint") == 0
    assert business.id


async def test_viewers_see_but_cannot_change(client: Any, db: str) -> None:
    business, owner = await make_business()
    actor = user_actor(owner, business)
    endpoint, _ = await services.create_endpoint(actor, url="http://127.0.0.1:9/hook")
    viewer = await identity.create_user(
        actor, username="dev-viewer", full_name="V", email="v@example.com", role="viewer"
    )
    await sql.execute("UPDATE app_user SET rights = $2 WHERE id = $1", viewer.id, ["developers:view"])
    await enrol(viewer.id)
    viewer = await identity.user_by_id(viewer.id)
    await signed_in_client(client, viewer)
    page = await client.get(f"/developers/webhooks/{endpoint.id}")
    assert page.status_code == 200 and "Rotate secret" not in page.text
    token = csrf_from(page.text)
    response = await client.post(f"/developers/webhooks/{endpoint.id}/rotate", data={"_csrf_token": token})
    assert response.status_code == 403


async def test_another_business_endpoint_is_404(client: Any, db: str) -> None:
    business, owner = await make_business(name="A")
    other, other_owner = await make_business(name="B")
    theirs, _ = await services.create_endpoint(user_actor(other_owner, other), url="http://127.0.0.1:9/hook")
    await signed_in_client(client, owner)
    assert (await client.get(f"/developers/webhooks/{theirs.id}")).status_code == 404
    token = csrf_from((await client.get("/developers/webhooks")).text)
    for action in ("rotate", "delete", "test"):
        response = await client.post(
            f"/developers/webhooks/{theirs.id}/{action}", data={"_csrf_token": token}
        )
        assert response.status_code == 404, action
    assert await sql.fetchval("SELECT count(*) FROM webhook_endpoint") == 1
    assert business.id
