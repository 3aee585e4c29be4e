"""Browser: a scripted burst of transfers raises an alert, which is acknowledged on its page; a custom
report is built, run, saved and exported. No console errors, no CSP violations. (The live server runs
no worker: the test runs the event consumer itself, as the worker would.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from portal.domains.accounts import services as accounts
from portal.domains.identity.auth import user_actor
from portal.domains.ledger import services as ledger
from portal.lib import sql
from portal.lib.ids import new_id
from tests.support.browser import csp_violations, sign_in
from tests.support.identity import make_business, totp_secret
from tests.support.ledger import fund
from tests.support.monitoring import drain, only_rules, rule_of, set_rule

pytestmark = pytest.mark.browser


async def test_burst_alert_acknowledged_and_a_report_built_saved_exported(
    page: Any, live_server: str, db: str
) -> None:
    base = live_server
    business, owner = await make_business(name="Toko Monitoring E2E")
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    branch = await accounts.create_account(actor, name="Cabang Bogor", kind="division", parent_id=main)
    await fund(business.id, branch.id, 50_000_000)
    rule = await rule_of(business.id, "velocity_count", "account")
    await only_rules(business.id, rule["id"])
    await set_rule(business.id, rule["id"], max_count=3)
    await drain()
    for _ in range(5):  # the scripted burst: five transfers out of one account within the hour
        await ledger.create_transfer(
            actor, from_account_id=branch.id, to_account_id=main, amount=1_000_000, reference=new_id("ref")
        )
    await drain()
    alert_ids = [
        r["id"]
        for r in await sql.fetch("SELECT id FROM monitoring_alert WHERE business_id = $1", business.id)
    ]
    assert len(alert_ids) == 2  # the 4th and the 5th transfer

    await sign_in(page, base, owner.username, await totp_secret(owner.id))
    badge = page.locator("#sidebar #monitoring-badge")
    await badge.wait_for(state="attached", timeout=5000)
    assert (await badge.get_attribute("data-open")) == "2"
    await page.click("#sidebar a[data-nav='monitoring']")
    await page.wait_for_url(f"{base}/monitoring")
    await page.click(f"#alerts tr[data-alert='{alert_ids[0]}'] a")
    await page.wait_for_url(re.compile(r".*/monitoring/alerts/alr_[^/]+$"))
    assert await page.locator("#evidence tbody tr").count() >= 4  # the transfer and those it counted
    await page.fill("#note-form textarea[name='note']", "Payroll run, checked with the branch")
    await page.click("#acknowledge")
    await page.wait_for_selector("#alert[data-status='acknowledged']")
    assert "Payroll run" in (await page.text_content("main") or "")

    await page.goto(f"{base}/reports/custom")
    await page.click("#report-builder input[name='columns'][value='description']")
    await page.select_option("#report-builder select[name='filter_field_0']", "from_account_id")
    await page.fill("#report-builder input[name='filter_value_0']", branch.id)
    await page.click("#run-report")
    await page.wait_for_selector("#report-rows[data-rows='5']")
    await page.fill("#report-builder #f-name", "Bogor transfers")
    await page.click("#save-report")
    await page.wait_for_url(re.compile(r".*/reports/custom/rpt_[^/]+$"))
    assert await page.locator("#report-rows tbody tr").count() == 5
    async with page.expect_download() as download_info:
        await page.click("#export-csv")
    download = await download_info.value
    content = Path(await download.path()).read_text(encoding="utf-8-sig")  # noqa: ASYNC240
    assert content.splitlines()[0].startswith("Created,From account,To account,Amount")
    assert len(content.strip().splitlines()) == 6
    assert page.console_errors == []
    assert await csp_violations(page) == []
