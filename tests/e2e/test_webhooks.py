"""Browser: add a webhook endpoint for a local receiver, send a test event, see the attempt in the
console, resend it. No console errors, no CSP violations. (The live server runs no worker: the test
runs the queued delivery jobs itself, as the worker would.)"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from portal.lib import sql
from tests.support.browser import csp_violations, sign_in
from tests.support.identity import make_business, totp_secret
from tests.support.webhooks import Receiver, run_queued_jobs

pytestmark = pytest.mark.browser


async def test_endpoint_test_event_console_and_resend(page: Any, live_server: str, db: str) -> None:
    base = live_server
    receiver = await Receiver().start()
    try:
        _business, owner = await make_business(name="Toko Webhooks E2E")
        await sign_in(page, base, owner.username, await totp_secret(owner.id))

        await page.goto(f"{base}/developers")
        await page.click("nav.tabs >> text=Webhooks")
        await page.wait_for_url(f"{base}/developers/webhooks")
        await page.fill("#endpoint-form #f-url", receiver.url("/ok"))
        await page.fill("#endpoint-form #f-description", "Orders")
        await page.check("#event-types input[value='topup.paid']")
        await page.click("#endpoint-form button[type=submit]")
        secret = await page.text_content("#new-endpoint")
        assert secret is not None and re.search(r"whsec_[A-Za-z0-9+/=]{40,}", secret)

        await page.click(f"#webhook-endpoints a >> text={receiver.url('/ok')}")
        await page.wait_for_url(re.compile(r".*/developers/webhooks/we_[^/]+$"))
        endpoint_url = page.url
        await page.click("#endpoint-actions form[action$='/test'] button[type=submit]")
        await page.wait_for_url(endpoint_url + "?notice=test")
        assert "Test event queued" in (await page.text_content("main") or "")
        assert await run_queued_jobs() == 1
        assert [json.loads(r.body)["type"] for r in receiver.requests] == ["webhook.test"]

        await page.goto(endpoint_url)
        await page.click("#webhook-events details.attempts > summary")
        row = page.locator("#webhook-events tr.attempt").first
        assert "200" in (await row.locator(".attempt__status").text_content() or "")
        assert "thanks" in (await row.locator(".attempt__body").text_content() or "")

        await page.click("#webhook-events form[action$='/resend'] button[type=submit]")
        await page.wait_for_url(endpoint_url + "?notice=resent")
        assert await run_queued_jobs() == 1
        event_id = await sql.fetchval("SELECT id FROM event")
        assert [r.headers["webhook-id"] for r in receiver.requests] == [event_id, event_id]
        await page.goto(f"{base}/developers/events")
        await page.click("#webhook-events details.attempts > summary")
        assert await page.locator("#webhook-events tr.attempt--ok").count() == 2

        assert page.console_errors == []
        assert await csp_violations(page) == []
    finally:
        await receiver.stop()
