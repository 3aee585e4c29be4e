"""Browser: the owner creates a billing plan and subscribes a division and a partner; the clock moves
past the period's end and the cycle runs; the division's invoice is paid from its balance, and the
partner's user sees its own failed invoice (open, collection failed, the retry day) and nothing else.
No console errors, no CSP violations."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from portal.domains.accounts import services as accounts
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.invoices import services as invoices
from portal.lib import sql
from tests.support.browser import csp_violations, sign_in
from tests.support.identity import enrol, make_business, totp_secret
from tests.support.invoices import on_day
from tests.support.ledger import fund

pytestmark = pytest.mark.browser


async def test_plan_subscription_cycle_paid_and_the_partner_view_of_a_failed_one(
    page: Any, live_server: str
) -> None:
    base = live_server
    business, owner = await make_business()
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    division = await accounts.create_account(actor, name="Divisi Logistik", kind="division", parent_id=main)
    partner = await accounts.create_account(actor, name="Mitra Sinar", kind="partner", parent_id=main)
    await fund(business.id, division.id, 2_000_000)
    await sign_in(page, base, owner.username, await totp_secret(owner.id))

    await page.goto(f"{base}/invoices/plans")
    await page.fill("#plan-form #f-name", "Biaya waralaba")
    await page.select_option("#plan-form #f-receiving_account_id", main)
    await page.select_option("#plan-form #f-cycle", "monthly")
    await page.fill("#plan-form #f-fixed_amount", "500000")
    await page.fill("#plan-form #f-due_days", "0")
    await page.click("#plan-form button[type=submit]")
    await page.wait_for_url(f"{base}/invoices/plans/pln_*")
    for account in (division, partner):
        await page.select_option("#subscribe-form #f-account_id", account.id)
        await page.fill("#subscribe-form #f-starts_on", "2026-03-01")
        await page.click("#subscribe-form button[type=submit]")
        await page.wait_for_selector(f"#subscription-list >> text={account.name}")

    # The clock moves past the period's end; the worker's cycle runs at that moment.
    with on_day(date(2026, 4, 1)):
        assert await invoices.run_cycle(business_id=business.id) == (2, 2)

    await page.goto(f"{base}/invoices")
    paid_id = await sql.fetchval(
        "SELECT id FROM invoice WHERE business_id = $1 AND account_id = $2", business.id, division.id
    )
    failed_id = await sql.fetchval(
        "SELECT id FROM invoice WHERE business_id = $1 AND account_id = $2", business.id, partner.id
    )
    row = page.locator(f"#invoice-list tr[data-id='{paid_id}']")
    assert "Paid" in (await row.text_content() or "")
    await row.locator("a").click()
    await page.wait_for_selector("#invoice[data-status=paid]")
    assert await page.locator("#invoice-steps li[data-kind=collected]").count() == 1
    balance = await sql.fetchval(
        "SELECT credits_posted - debits_posted FROM account WHERE id = $1", division.id
    )
    assert balance == 2_000_000 - 555_000  # Rp500.000 + PPN 11 %

    partner_user = await identity.create_user(
        actor,
        username="mitra",
        full_name="Mitra Sinar",
        email="mitra@example.com",
        role="partner",
        scope_account_id=partner.id,
    )
    secret = await enrol(partner_user.id)
    owner_errors = list(page.console_errors)
    await page.context.clear_cookies()
    await sign_in(page, base, "mitra", secret)
    await page.goto(f"{base}/invoices")
    assert await page.locator(f"#invoice-list tr[data-id='{failed_id}']").count() == 1
    assert await page.locator(f"#invoice-list tr[data-id='{paid_id}']").count() == 0
    await page.click(f"#invoice-list tr[data-id='{failed_id}'] a")
    await page.wait_for_selector("#invoice[data-status=open]")
    failed_step = page.locator("#invoice-steps li[data-kind=payment_failed]")
    assert "not enough available balance" in (await failed_step.text_content() or "")
    assert await page.locator("form[action$='/collect']").count() == 0  # a viewer cannot act on it
    download = await page.request.get(f"{base}/invoices/{failed_id}/pdf")
    assert download.status == 200 and (await download.body()).startswith(b"%PDF")
    assert (await page.request.get(f"{base}/invoices/{paid_id}")).status == 404
    assert owner_errors == [] and page.console_errors == []
    assert await csp_violations(page) == []
