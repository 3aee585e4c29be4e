"""Browser: add a beneficiary (the sandbox provider's name inquiry), pay out above the approval threshold,
approve it as another user with an authenticator code (oathtool-style, computed from the secret), and
download the proof of payment once the bank has paid. No console errors, no CSP violations."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from portal.domains.accounts import services as accounts
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.payouts import lifecycle, services
from portal.lib import clock, security, sql
from tests.support.browser import csp_violations, sign_in
from tests.support.identity import enrol, make_business, totp_secret
from tests.support.ledger import fund
from tests.support.payouts import DIRECTORY, register

pytestmark = pytest.mark.browser


async def status_of(business_id: str, payout_id: str) -> str:
    return str(
        await sql.fetchval(
            "SELECT status FROM payout WHERE business_id = $1 AND id = $2", business_id, payout_id
        )
    )


async def test_beneficiary_payout_approval_and_proof(
    page: Any, browser: Any, live_server: str, db: str
) -> None:
    base = live_server
    await register(DIRECTORY)
    business, owner = await make_business(name="Toko Payout E2E")
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    await fund(business.id, main, 100_000_000)
    await services.set_cooldown(actor, 0)
    await sign_in(page, base, owner.username, await totp_secret(owner.id))

    # Add a beneficiary: the name inquiry returns the holder's name the bank knows.
    await page.goto(f"{base}/payouts/beneficiaries")
    await page.select_option("#beneficiary-form #f-kind", "bank")
    await page.select_option("#beneficiary-form #f-bank_code", "014")
    await page.fill("#beneficiary-form #f-account_number", "8800112233")
    await page.fill("#beneficiary-form #f-holder_name", "Budi Santoso")
    await page.click("#beneficiary-form button[type=submit]")
    ben_id = None
    for _ in range(100):
        ben_id = await sql.fetchval("SELECT id FROM beneficiary WHERE business_id = $1", business.id)
        if ben_id:
            break
        await asyncio.sleep(0.1)
    assert ben_id, "the beneficiary was not added"
    await page.goto(f"{base}/payouts/beneficiaries/{ben_id}")
    assert "BUDI SANTOSO" in await page.inner_text("main")

    # Pay out above the threshold (Rp10,000,000 by default): it waits for approval, its money held.
    await page.goto(f"{base}/payouts/history")
    await page.select_option("#payout-form #f-beneficiary_id", index=1)
    await page.fill("#payout-form #f-amount", "15000000")
    await page.fill("#payout-form #f-reference", "E2E-PAYOUT")
    await page.click("#payout-form button[type=submit]")
    await page.wait_for_url(re.compile(r".*/payouts/po_[^/]+$"))
    payout_id = page.url.rsplit("/", 1)[-1]
    assert await status_of(business.id, payout_id) == "awaiting_approval"
    assert "Awaiting approval" in await page.inner_text("main")

    # Another user approves it in their own session with a fresh authenticator code.
    checker = await identity.create_user(
        actor, username="e2echecker", full_name="Citra Checker", email="citra.e2e@example.com", role="admin"
    )
    secret = await enrol(checker.id)
    context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    try:
        other = await context.new_page()
        await sign_in(other, base, "e2echecker", secret)
        await other.goto(f"{base}/approvals")
        await other.wait_for_selector(".nav__count.badge")
        assert "E2E-PAYOUT" in await other.inner_text("main")
        next_code = security.totp_code(secret, security.totp_step(clock.now()) + 1)
        await other.fill(f"form[action='/approvals/{payout_id}/approve'] input[name=code]", next_code)
        await other.click(f"form[action='/approvals/{payout_id}/approve'] button[type=submit]")
        await other.wait_for_url(f"{base}/approvals")
        assert "Nothing awaits approval" in await other.inner_text("main")
    finally:
        await context.close()
    assert await status_of(business.id, payout_id) == "scheduled"

    # The job worker's part (this live server runs none): hand it to the provider, then learn the outcome.
    await lifecycle.submit_payout(business.id, payout_id)
    for _ in range(100):
        if await lifecycle.query_payout(business.id, payout_id) == "succeeded":
            break
        await asyncio.sleep(0.2)
    assert await status_of(business.id, payout_id) == "succeeded"

    await page.goto(f"{base}/payouts/{payout_id}")
    assert "Proof of payment" in await page.inner_text("main")
    async with page.expect_download() as download_info:
        await page.click(f"a[href='/payouts/{payout_id}/proof.pdf']")
    download = await download_info.value
    path = await download.path()
    with open(path, "rb") as fh:  # noqa: ASYNC230 (a small file, once)
        assert fh.read(5) == b"%PDF-"
    assert page.console_errors == []
    assert await csp_violations(page) == []
