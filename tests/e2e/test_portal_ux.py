"""The portal as its users live in it, in Chromium on the demo data set, each task as the role doing it:
a partner sends to an account found by name and withdraws; finance confirms a mark-paid after reading
what it does; a failed withdrawal's history tells the truth; a roll-up statement is in date order with
internal transfers once; at 390×844 the transfers list shows every amount and nothing is wider than
the screen."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import openpyxl
import pyotp
import pytest

from portal.lib import sql
from tests.support.a11y import serious_violations
from tests.support.browser import csp_violations

pytestmark = pytest.mark.browser

USERS = {
    "demo-partner": ("demo partner password 4", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
    "demo-finance": ("demo finance password 2", "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"),
    "demo-owner": ("demo owner password 1", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
}


async def demo() -> dict[str, str]:
    from portal.demo import load_demo

    await load_demo()
    return {r["name"]: r["id"] for r in await sql.fetch("SELECT id, name FROM account")}


async def sign_in(page: Any, base: str, username: str) -> None:
    password, secret = USERS[username]
    await page.goto(f"{base}/login")
    await page.fill("#f-username", username)
    await page.fill("#f-password", password)
    await page.fill("#f-otp", pyotp.TOTP(secret).now())
    await page.click("main button[type=submit]")
    await page.wait_for_url(f"{base}/")


async def clean(page: Any) -> None:
    assert await csp_violations(page) == []
    assert page.console_errors == []


async def test_partner_sends_to_an_account_found_by_name_and_withdraws(page: Any, live_server: str) -> None:
    base = live_server
    ids = await demo()
    sinar, maju = ids["Toko Sinar Jaya"], ids["CV Maju Bersama"]
    await sign_in(page, base, "demo-partner")

    await page.goto(f"{base}/transfers/send")
    await page.fill("#f-q", "maju")
    choose = page.locator("#recipients a", has_text="Pay this account")
    await choose.first.wait_for(timeout=5000)  # found as the partner types (htmx), names only
    assert not re.search(r"IDR\s*[0-9]|Rp\s*[0-9]", await page.inner_text("#recipients"))  # no balance
    await choose.first.click()
    await page.wait_for_selector("[data-recipient]")
    assert await page.input_value("#f-from_account_id") == sinar  # its only account, preselected
    await page.fill("#f-amount", "25,000")
    await page.click("main form button[name=step]")
    await page.wait_for_selector("#review")
    assert "IDR 25,000" in await page.inner_text("[data-review-amount]")
    assert await page.locator("[data-review-available]").count() == 1
    await page.click("#review button[data-confirm]")
    await page.wait_for_url(re.compile(rf".*/accounts/{sinar}.*"))
    sent = await sql.fetchval(
        "SELECT amount FROM transfer WHERE debit_account_id = $1 AND credit_account_id = $2", sinar, maju
    )
    assert sent == 25_000
    note = await sql.fetchval("SELECT count(*) FROM notification WHERE account_id = $1", maju)
    assert note >= 1

    await page.goto(f"{base}/withdrawals/new?account_id={sinar}")
    await page.fill("#f-amount", "100,000")
    await page.click("main form button[name=step]")
    await page.wait_for_selector("#review")
    assert "Sinar" in await page.inner_text("#review")  # the destination bank account
    await page.click("#review button[data-confirm]")
    await page.wait_for_url(re.compile(rf".*/accounts/{sinar}.*"))
    pending = await page.locator("#account-lines tr[data-status=pending]").all_inner_texts()
    assert any("\u2212IDR 100,000" in row for row in pending), pending  # held: not gone, not posted
    await clean(page)


async def test_finance_confirms_a_mark_paid_and_a_failed_withdrawal_reads_true(
    page: Any, live_server: str
) -> None:
    from portal.domains.ledger import services as ledger
    from portal.lib.actor import system_actor

    base = live_server
    ids = await demo()
    sinar = ids["Toko Sinar Jaya"]
    business_id = await sql.fetchval("SELECT business_id FROM account WHERE id = $1", sinar)
    system = system_actor(business_id)
    paid = await ledger.create_withdrawal(system, account_id=sinar, amount=100_000, reference="WEB-PAID-1")
    failed = await ledger.create_withdrawal(system, account_id=sinar, amount=50_000, reference="WEB-FAIL-1")
    await sign_in(page, base, "demo-finance")

    await page.goto(f"{base}/accounts/{sinar}")
    confirm = page.locator(f"details[data-confirm-action='/withdrawals/{paid.id}/mark-paid']")
    await confirm.locator("summary").click()
    consequence = await confirm.locator("[data-consequence]").inner_text()
    assert f"IDR {paid.total:,}" in consequence and "Toko Sinar Jaya" in consequence
    assert await sql.fetchval("SELECT status FROM withdrawal WHERE id = $1", paid.id) == "pending"
    await confirm.locator("button[type=submit]").click()
    await page.wait_for_url(re.compile(rf".*/accounts/{sinar}$"))
    assert await sql.fetchval("SELECT status FROM withdrawal WHERE id = $1", paid.id) == "paid"

    await ledger.mark_withdrawal_failed(system, failed.id, reason="Rekening ditutup")
    await page.goto(f"{base}/transfers?q=web-fail")
    statuses = await page.locator("#transfers tbody tr[data-status]").evaluate_all(
        "rows => rows.map(r => r.dataset.status)"
    )
    assert "voided" in statuses and "refunded" in statuses and "posted" not in statuses
    await page.locator("#transfers tbody tr[data-status=refunded] a[data-reference]").first.click()
    await page.wait_for_url(re.compile(r".*/transfers/trf_.*"))
    await page.goto(f"{base}/withdrawals/{failed.id}")
    timeline = await page.inner_text(".timeline")
    assert "Failed" in timeline and "Rekening ditutup" in timeline and f"+IDR {failed.total:,}" in timeline
    await clean(page)


async def test_roll_up_statement_in_date_order_with_internal_transfers_once(
    page: Any, live_server: str
) -> None:
    base = live_server
    ids = await demo()
    await sign_in(page, base, "demo-owner")
    main = ids["Demo Nusantara"]
    # Opened from the account with "sub-accounts": the quick periods keep the choice.
    await page.goto(f"{base}/reports?account_id={main}&scope=subtree")
    await page.click("[data-preset]:has-text('Last month')")
    await page.wait_for_selector("#statement-table")
    booked = await page.locator("#statement-table tbody tr[data-booked]").evaluate_all(
        "rows => rows.map(r => r.dataset.booked)"
    )
    assert booked and booked == sorted(booked)
    internal = await page.locator("#statement-table tr[data-internal]").count()
    assert internal >= 1
    assert await page.locator("[data-total=external_in]").count() == 1
    assert "world (IDR)" not in await page.inner_text("#statement-table")

    # The downloaded files say the same: date order, each internal transfer once (marked, in the
    # Internal column, never as a debit and a credit), external and internal totals apart.
    await page.select_option("#f-format", "csv")
    async with page.expect_download() as info:
        await page.click("#download-statement")
    path = await (await info.value).path()
    with open(path, encoding="utf-8-sig", newline="") as fh:  # noqa: ASYNC230 (a small local file)
        rows = list(csv.reader(fh))
    meta = {r[0]: r[1] for r in rows if len(r) == 2}
    # the screen's "Between these accounts" says how many (its table shows the first page of them)
    on_screen = re.search(r"(\d+) internal transfer", await page.inner_text("[data-total=internal]"))
    assert on_screen is not None and int(on_screen.group(1)) >= internal
    internal = int(on_screen.group(1))
    assert int(meta["Internal transfer count"]) == internal
    assert int(meta["Internal transfers (between these accounts)"]) > 0
    head = next(i for i, r in enumerate(rows) if r and r[0] == "Date (WIB)")
    assert rows[head][8:11] == ["Debit", "Credit", "Internal"]
    entries = rows[head + 1 : -1]
    assert [r[0] for r in entries] == sorted(r[0] for r in entries)
    marked = [r for r in entries if r[10]]
    assert len(marked) == internal and all(not r[8] and not r[9] for r in marked)
    ids = [r[1] for r in entries]
    assert len(ids) == len(set(ids))  # no transfer listed twice
    await page.select_option("#f-format", "xlsx")
    async with page.expect_download() as info:
        await page.click("#download-statement")
    with open(await (await info.value).path(), "rb") as fh:  # noqa: ASYNC230 (a small local file)
        workbook = openpyxl.load_workbook(io.BytesIO(fh.read()), read_only=True)
    sheet = [list(r) for r in workbook.active.iter_rows(values_only=True)]
    head = next(i for i, r in enumerate(sheet) if r[0] == "Date (WIB)")
    lines = sheet[head + 1 : -1]
    assert [r[0] for r in lines] == sorted(r[0] for r in lines)
    assert sheet[head][10] == "Internal" and sum(1 for r in lines if r[10] is not None) == internal
    await clean(page)


async def test_phone_shows_every_amount_of_the_transfers_list(page: Any, live_server: str) -> None:
    base = live_server
    await demo()
    await page.set_viewport_size({"width": 390, "height": 844})
    await sign_in(page, base, "demo-owner")
    await page.goto(f"{base}/transfers")
    amounts = page.locator("#transfers tbody tr[data-line] [data-amount]")
    assert await amounts.count() > 5
    for i in range(min(await amounts.count(), 10)):
        box = await amounts.nth(i).bounding_box()
        assert box is not None and box["width"] > 0 and box["x"] + box["width"] <= 390
        assert re.search(r"IDR [0-9]", await amounts.nth(i).inner_text())
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    # The menu toggle is a named control a screen reader and the keyboard reach.
    await page.focus("#nav-toggle")
    assert await page.evaluate("document.activeElement.id") == "nav-toggle"
    assert await page.get_attribute("#nav-toggle", "aria-label")
    assert await serious_violations(page) == []
    await clean(page)


async def test_the_page_title_follows_htmx_creates_and_page_swaps(page: Any, live_server: str) -> None:
    base = live_server
    await demo()
    await sign_in(page, base, "demo-owner")
    await page.goto(f"{base}/accounts")
    assert await page.title() == "Accounts · Neraca"
    await page.fill("#f-name", "Toko Judul Baru")
    await page.select_option("#f-kind", "partner")
    await page.click("#new-account button[type=submit]")  # hx-post into #main: the tree with a toast
    await page.wait_for_selector("#account-tree a:has-text('Toko Judul Baru')")
    assert await page.inner_text("main h1") == "Accounts"  # the page's header is swapped in with it
    assert await page.title() == "Accounts · Neraca"
    await page.click("#sidebar a[href='/transfers']")  # a boosted page swap
    await page.wait_for_url(f"{base}/transfers")
    assert await page.title() == "Transfers · Neraca"
    await clean(page)
