"""Monitoring pages: the queue with filters and the badge, an alert's actions (note, acknowledge, hold
and release the settlement, freeze the account, resolve), the rules page (tune with 422 on a bad value,
the 30-day test) and the recipients."""

from __future__ import annotations

from typing import Any

from portal.domains.monitoring.services import is_settlement_held
from portal.lib import sql
from tests.support.accounts import owner_client, post_form
from tests.support.monitoring import insert_alert, rule_of


async def test_alert_queue_detail_and_actions(client: Any) -> None:
    business, _, main = await owner_client(client)
    alert_id = await insert_alert(business.id, main, amount=150_000_000)
    queue = await client.get("/monitoring")
    assert queue.status_code == 200 and f'data-alert="{alert_id}"' in queue.text
    assert f'data-alert="{alert_id}"' not in (await client.get("/monitoring?status=resolved")).text
    assert (await client.get("/monitoring?status=sleeping")).status_code == 422
    badge = await client.get("/monitoring/badge", headers={"HX-Request": "true"})
    assert 'data-open="1"' in badge.text

    url = f"/monitoring/alerts/{alert_id}"
    assert (await post_form(client, f"{url}/note", {"note": "Calling the branch"}, url)).status_code == 303
    assert (await post_form(client, f"{url}/acknowledge", {"note": ""}, url)).status_code == 303
    assert (await post_form(client, f"{url}/hold", {"note": "until checked"}, url)).status_code == 303
    assert await is_settlement_held(business.id, main)
    again = await post_form(client, f"{url}/hold", {}, url)
    assert again.status_code == 422 and "already held" in again.text
    assert (await post_form(client, f"{url}/release", {}, url)).status_code == 303
    assert not await is_settlement_held(business.id, main)
    assert (await post_form(client, f"{url}/freeze", {}, url)).status_code == 303
    assert await sql.fetchval("SELECT status FROM account WHERE id = $1", main) == "frozen"
    assert (await post_form(client, f"{url}/resolve", {"note": "Known payroll"}, url)).status_code == 303
    detail = await client.get(url)
    assert 'data-status="resolved"' in detail.text and "Calling the branch" in detail.text
    assert 'data-open="0"' in (await client.get("/monitoring/badge", headers={"HX-Request": "true"})).text
    assert (await post_form(client, f"{url}/explode", {}, url)).status_code == 404


async def test_rules_page_tunes_tests_and_sets_recipients(client: Any) -> None:
    business, _, _ = await owner_client(client)
    rule = await rule_of(business.id, "large_amount")
    page = await client.get("/monitoring/rules")
    assert page.status_code == 200 and f'id="rule-{rule["id"]}"' in page.text
    form = {"name": "Big money", "amount": "-5", "severity": "high", "action": "block", "enabled": "1"}
    refused = await post_form(client, f"/monitoring/rules/{rule['id']}", form, "/monitoring/rules")
    assert refused.status_code == 422 and "must be at least" in refused.text
    saved = await post_form(
        client, f"/monitoring/rules/{rule['id']}", {**form, "amount": "75.000.000"}, "/monitoring/rules"
    )
    assert saved.status_code == 303
    assert (await rule_of(business.id, "large_amount"))["params"] == {"amount": 75_000_000}
    tested = await post_form(
        client, f"/monitoring/rules/{rule['id']}/test", {"amount": "1000"}, "/monitoring/rules"
    )
    assert tested.status_code == 200 and 'data-would-fire="0"' in tested.text
    recipients = await post_form(
        client,
        "/monitoring/settings",
        {"recipients": "risk@example.com, ops@example.com"},
        "/monitoring/rules",
    )
    assert recipients.status_code == 303
    stored = await sql.fetchval(
        "SELECT recipients FROM monitoring_settings WHERE business_id = $1", business.id
    )
    assert stored == ["risk@example.com", "ops@example.com"]
    bad = await post_form(
        client, "/monitoring/settings", {"recipients": "not an address"}, "/monitoring/rules"
    )
    assert bad.status_code == 422
