"""Browser: sign in, create a division and a partner, top up and simulate the payment,
transfer to the partner while both account pages watch their balances change without a reload, request
a withdrawal, mark it failed and see the money back. No console errors, no CSP violations."""

from __future__ import annotations

import re
from typing import Any

import pytest

from portal.domains.accounts import services as accounts
from portal.lib import sql
from tests.support.browser import csp_violations, sign_in
from tests.support.identity import make_business, totp_secret

pytestmark = pytest.mark.browser

TOP_UP = 1_000_000
TRANSFER = 250_000
WITHDRAW = 100_000
WITHDRAWAL_FEE = 8_000


async def account_id(business_id: str, name: str) -> str:
    value = await sql.fetchval(
        "SELECT id FROM account WHERE business_id = $1 AND name = $2", business_id, name
    )
    assert value, f"no account named {name}"
    return str(value)


async def available(page: Any) -> int:
    """The `Available` figure of an account page (`IDR 1,000,000` or `Rp1.000.000` → 1000000)."""
    text = await page.text_content("[data-balance=available] .stat__value") or ""
    return int(re.sub(r"\D", "", text) or 0)


async def wait_for_available(page: Any, expected: int) -> None:
    """Until the polled balance shows `expected` (the page itself is never reloaded)."""
    for _ in range(60):
        if await available(page) == expected:
            return
        await page.wait_for_timeout(250)
    raise AssertionError(f"available stayed {await available(page)}, expected {expected}")


async def confirm(page: Any, amount: int) -> None:
    """The review step shows the amount as it was read, formatted (Rp1.000.000 / IDR 1,000,000); confirm."""
    shown = await page.locator("[data-review-amount]").text_content() or ""
    assert int(re.sub(r"\D", "", shown)) == amount, shown
    assert any(sep in shown for sep in ".,"), shown  # formatted, not the digits as typed
    await page.click("[data-confirm]")


async def mark(page: Any, value: str) -> None:
    await page.evaluate("value => { window.__marker = value; }", value)


async def marker(page: Any) -> Any:
    return await page.evaluate("window.__marker")


async def create_account(page: Any, base: str, name: str, kind: str, parent_id: str) -> None:
    await page.goto(f"{base}/accounts")
    await page.fill("#new-account #f-name", name)
    await page.select_option("#new-account #f-kind", kind)
    await page.select_option("#new-account #f-parent_id", parent_id)
    await page.click("#new-account button[type=submit]")
    await page.wait_for_selector(f"#toasts >> text=Account {name} created.")


async def test_top_up_transfer_withdraw_and_fail_in_the_browser(page: Any, live_server: str, db: str) -> None:
    base = live_server
    business, owner = await make_business(name="Toko Ledger E2E")
    await sign_in(page, base, owner.username, await totp_secret(owner.id))
    main = await accounts.ensure_business_accounts(business.id)  # what the first accounts page does

    # A division under the main account, a partner under the division.
    await create_account(page, base, "Jakarta E2E", "division", main)
    division = await account_id(business.id, "Jakarta E2E")
    await create_account(page, base, "Mitra E2E", "partner", division)
    partner = await account_id(business.id, "Mitra E2E")

    # Top up the division and simulate the bank's payment (sandbox).
    await page.goto(f"{base}/accounts/{division}")
    await page.click(f"a[href='/topups/new?account_id={division}']")
    await page.wait_for_url(re.compile(r".*/topups/new.*"))
    await page.fill("#f-amount", str(TOP_UP))
    await page.click("main form button[type=submit]")
    await confirm(page, TOP_UP)
    await page.wait_for_url(re.compile(r".*/topups/top_[^/]+$"))
    # The virtual account shown is the one the sandbox provider opened for this top-up.
    topup_id = page.url.rsplit("/", 1)[-1]
    va_number = await sql.fetchval("SELECT va_number FROM provider_payin WHERE source_id = $1", topup_id)
    assert va_number and va_number in await page.inner_text("main")
    await page.click("form[action$='/simulate-payment'] button[type=submit]")
    await page.wait_for_url(f"{base}/accounts/{division}")
    assert await available(page) == TOP_UP
    assert await sql.fetchval("SELECT status FROM provider_payin WHERE source_id = $1", topup_id) == "paid"

    # Both account pages stay open (each its own tab, same session) while a third tab transfers.
    errors: list[str] = []
    partner_page = await page.context.new_page()
    actor_page = await page.context.new_page()
    for other in (partner_page, actor_page):
        other.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        other.on("pageerror", lambda e: errors.append(str(e)))
    await partner_page.goto(f"{base}/accounts/{partner}")
    assert await available(partner_page) == 0
    await mark(page, "division-page")
    await mark(partner_page, "partner-page")

    await actor_page.goto(f"{base}/transfers/new?from_account_id={division}")
    await actor_page.select_option("#f-to_account_id", partner)
    await actor_page.fill("#f-amount", str(TRANSFER))
    await actor_page.click("main form button[type=submit]")
    await confirm(actor_page, TRANSFER)
    await actor_page.wait_for_url(re.compile(rf".*/accounts/{division}\?transferred=trf_.*"))

    await wait_for_available(page, TOP_UP - TRANSFER)
    await wait_for_available(partner_page, TRANSFER)
    # Same documents: the balances were swapped in by htmx, not by a navigation.
    assert await marker(page) == "division-page"
    assert await marker(partner_page) == "partner-page"
    await partner_page.close()

    # A settlement bank account, then a withdrawal: amount + fee leave `available` at once.
    await page.click("details.card > summary")
    await page.select_option("#f-bank_code", "014")
    await page.fill("#f-account_number", "1234567890")
    await page.fill("#f-holder_name", "Jakarta E2E")
    await page.click("form:has(input[name=section][value=bank]) button[type=submit]")
    await page.wait_for_url(f"{base}/accounts/{division}")
    await page.click(f"a[href='/withdrawals/new?account_id={division}']")
    await page.wait_for_url(re.compile(r".*/withdrawals/new.*"))
    await page.fill("#f-amount", str(WITHDRAW))
    await page.click("main form button[type=submit]")
    await confirm(page, WITHDRAW)
    await page.wait_for_url(f"{base}/accounts/{division}")
    assert await available(page) == TOP_UP - TRANSFER - WITHDRAW - WITHDRAWAL_FEE
    badge = await page.locator("#withdrawals [data-withdrawal]").first.text_content() or ""
    assert "Pending" in badge or "Tertunda" in badge

    # The operator marks it failed (in the other tab): the division page gets the money back live.
    await mark(page, "division-page-2")
    await actor_page.goto(f"{base}/accounts/{division}")
    # The confirmation says, in numbers, where the money goes before anything happens.
    await actor_page.click("#withdrawals details[data-confirm-action$='/mark-failed'] summary")
    consequence = await actor_page.text_content("#withdrawals details[open] [data-consequence]") or ""
    assert "available balance" in consequence or "saldo tersedia" in consequence
    await actor_page.fill("#withdrawals input[name=reason]", "Rekening ditutup")
    await actor_page.click("#withdrawals form[action$='/mark-failed'] button[type=submit]")
    await actor_page.wait_for_url(f"{base}/accounts/{division}")
    assert "Rekening ditutup" in (await actor_page.text_content("#withdrawals") or "")
    await wait_for_available(page, TOP_UP - TRANSFER)
    assert await marker(page) == "division-page-2"
    status = await sql.fetchval("SELECT status FROM withdrawal WHERE account_id = $1", division)
    assert status == "failed"

    for tab in (page, actor_page):
        assert await csp_violations(tab) == []
    assert page.console_errors == []
    assert errors == []
