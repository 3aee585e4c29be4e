"""Every page a signed-in owner can reach, in Chromium, against the demo data set (`portal.demo`):
opened directly and reached through boosted (hx-boost) navigation — sidebar links, the account tree
(lazy expand, then a click on an account), breadcrumbs — plus the HTML statement and the 422 states of
the money forms. Each page must answer OK, show its heading, log no console error and cause no CSP
violation (the CSP allows no inline style: an htmx swap that writes a `style` attribute shows up here)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pyotp
import pytest

from portal.domains.reports.services.periods import today_wib
from portal.lib import sql
from tests.support.browser import csp_violations

pytestmark = pytest.mark.browser

OWNER = "demo-owner"
OWNER_PASSWORD = "demo owner password 1"
OWNER_TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

# Sidebar pages of an owner: (nav key, path, heading).
MENU = [
    ("dashboard", "/", None),  # the dashboard's heading is its own module's business; any h1 will do
    ("accounts", "/accounts", "Accounts"),
    ("transfers", "/transfers", "Transfers"),
    ("reports", "/reports", "Statements"),
    ("invoices", "/invoices", "Invoices"),
    ("monitoring", "/monitoring", "Monitoring"),
    ("users", "/users", "Users"),
    ("activity", "/activity", "Activity"),
    ("developers", "/developers", "API keys"),
    ("settings", "/settings", "Business settings"),
]
OTHER_PAGES = [
    ("/notifications", "Notifications"),
    ("/account", "Your account"),
    ("/topups/new", "Top up"),
    ("/transfers/new", "New transfer"),
    ("/withdrawals/new", "Withdraw"),
    ("/users/new", "Add user"),
    ("/developers/webhooks", "Webhooks"),
    ("/developers/events", "Events"),
    ("/reports/reconciliation", "Reconciliation"),
    ("/invoices/plans", "Billing plans"),
    ("/invoices/reports", "Invoice reports"),
    ("/reports/custom", "Custom reports"),
    ("/reports/custom?preset=financial_performance", "Custom reports"),
    ("/monitoring/rules", "Monitoring rules"),
]


async def load_demo_business() -> dict[str, str]:
    """The demo data set in the (freshly emptied) test database; returns account ids by name."""
    from portal.demo import load_demo

    await load_demo()
    rows = await sql.fetch("SELECT id, name FROM account")
    return {row["name"]: row["id"] for row in rows}


async def sign_in(page: Any, base: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#f-username", OWNER)
    await page.fill("#f-password", OWNER_PASSWORD)
    await page.fill("#f-otp", pyotp.TOTP(OWNER_TOTP).now())
    await page.click("main button[type=submit]")
    await page.wait_for_url(f"{base}/")


async def use_session(page: Any, base: str) -> None:
    """A session for the demo owner without the login form (one TOTP sign-in per test run is enough)."""
    from portal.domains.identity import auth
    from portal.domains.identity import services as identity

    user_id = await sql.fetchval("SELECT id FROM app_user WHERE username = $1", OWNER)
    user = await identity.user_by_id(user_id)
    assert user is not None
    token = await auth.start_session(user, auth.ClientInfo(ip="127.0.0.1", user_agent="pytest"))
    await page.context.add_cookies([{"name": "neraca_session", "value": token, "url": base}])


async def settle(page: Any) -> None:
    """Let htmx finish (load triggers, settle, the first poll of live fragments)."""
    await page.wait_for_load_state("networkidle")
    await page.wait_for_timeout(300)


async def assert_clean(page: Any, where: str, heading: str | None, allow_status: int | None = None) -> None:
    h1 = page.locator("main h1").first
    await h1.wait_for(state="visible", timeout=5000)
    text = (await h1.inner_text()).strip()
    assert text, f"{where}: empty heading"
    if heading is not None:
        assert text == heading, f"{where}: heading {text!r}, expected {heading!r}"
    errors = page.console_errors
    if allow_status is not None:  # the browser logs the document's own 4xx status; nothing else may fail
        errors = [e for e in errors if f"status of {allow_status}" not in e]
    assert errors == [], f"{where}: console errors {errors}"
    assert await csp_violations(page) == [], f"{where}: CSP violations {await csp_violations(page)}"


async def test_every_page_opened_directly(page: Any, live_server: str) -> None:
    base = live_server
    ids = await load_demo_business()
    await sign_in(page, base)
    partner = ids["Toko Sinar Jaya"]
    owner_id = await sql.fetchval("SELECT id FROM app_user WHERE username = $1", OWNER)
    pages = (
        [(path, heading) for _, path, heading in MENU]
        + OTHER_PAGES
        + [
            (f"/accounts/{ids['Jakarta']}", "Jakarta"),
            (f"/accounts/{partner}", "Toko Sinar Jaya"),
            (f"/users/{owner_id}", None),
            (f"/topups/new?account_id={partner}", "Top up"),
            (f"/transfers/new?from_account_id={ids['Jakarta']}", "New transfer"),
            (f"/withdrawals/new?account_id={partner}", "Withdraw"),
            (f"/transfers?account_id={partner}", "Transfers"),
            (f"/reports/statement?account_id={ids['Jakarta']}&period=month", "Statements"),
        ]
    )
    for path, heading in pages:
        response = await page.goto(base + path)
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        await settle(page)
        await assert_clean(page, path, heading)

    # The HTML statement shows its table: the month of 30 days ago, which the demo's 91 days of weekly
    # entries always fill (the current month has none in its first days, WIB).
    month_ago = (today_wib() - timedelta(days=30)).isoformat()
    await page.goto(f"{base}/reports/statement?account_id={ids['Jakarta']}&period=month&date={month_ago}")
    assert await page.locator("#statement-table").count() == 1

    # The money forms, submitted empty: 422 with the error summary, still clean.
    for path in (
        f"/topups/new?account_id={partner}",
        f"/transfers/new?from_account_id={partner}",
        f"/withdrawals/new?account_id={partner}",
    ):
        page.console_errors.clear()
        await page.goto(base + path)
        async with page.expect_response(lambda r: r.request.method == "POST") as info:
            await page.click("main form button[type=submit]")
        response = await info.value
        assert response.status == 422, f"{path}: HTTP {response.status} for an empty form"
        await page.wait_for_selector("#error-summary")
        await settle(page)
        await assert_clean(page, f"{path} (422)", None, allow_status=422)


async def test_boosted_navigation_through_every_menu_page_and_the_tree(page: Any, live_server: str) -> None:
    base = live_server
    ids = await load_demo_business()
    await use_session(page, base)
    await page.goto(base + "/")
    await settle(page)
    # Boosted navigation keeps the document: a marker set now must survive every click below.
    await page.evaluate("window.__sameDocument = true")

    async def boosted(where: str, url: str | re.Pattern[str], heading: str | None) -> None:
        await page.wait_for_url(url, timeout=5000)
        await settle(page)
        assert await page.evaluate("window.__sameDocument === true"), f"{where}: full page load, not boosted"
        await assert_clean(page, where, heading)

    for key, path, heading in MENU[1:] + MENU[:1]:
        await page.click(f"#sidebar a[data-nav='{key}']")
        await boosted(f"sidebar → {path}", base + path, heading)

    # The account tree: expand a lazily loaded branch, then open an account from it.
    await page.click("#sidebar a[data-nav='accounts']")
    await boosted("sidebar → /accounts", base + "/accounts", "Accounts")
    tree = page.locator("#account-tree")
    assert await tree.locator("li.tree__item").count() >= 5
    # The whole tree sits inside its card (no node spills out of it).
    assert await page.locator("li.tree__item:not(#account-tree li)").count() == 0
    await tree.locator("li[data-name='Jakarta'] > details > summary .tree__chevron").click()
    south = tree.locator("li[data-name='Jakarta Selatan'] > details > summary a")
    await south.wait_for(state="visible", timeout=5000)
    await settle(page)
    await assert_clean(page, "tree: Jakarta expanded", "Accounts")
    # Elements whose style was ever touched through the CSSOM (browser extensions, devtools, animations)
    # carry an empty style attribute; htmx must not copy it onto the swapped-in page with setAttribute,
    # which the CSP blocks ("Applying inline style violates … style-src", hash of the empty string).
    await page.evaluate("document.querySelectorAll('[id]').forEach(e => { e.style.cssText = '' })")
    await south.click()
    await boosted("tree → Jakarta Selatan", f"{base}/accounts/{ids['Jakarta Selatan']}", "Jakarta Selatan")
    assert await page.evaluate("htmx.config.attributesToSettle.includes('style')") is False
    # Stay for a balance poll (every 2 s) to swap in.
    await page.wait_for_timeout(2500)
    await assert_clean(page, "account page after a balance poll", "Jakarta Selatan")

    # Back to the tree by the breadcrumb, then a top-level account straight from the tree.
    await page.locator("main .breadcrumbs a[href='/accounts']").click()
    await page.wait_for_url(base + "/accounts")
    await settle(page)
    await tree.locator("li[data-name='Toko Sinar Jaya'] a").first.click()
    await page.wait_for_url(f"{base}/accounts/{ids['Toko Sinar Jaya']}", timeout=5000)
    await settle(page)
    await assert_clean(page, "tree → Toko Sinar Jaya", "Toko Sinar Jaya")

    # Search the tree (htmx swap of the tree alone), open the match.
    await page.goto(base + "/accounts")
    await page.fill("#f-q", "Warung")
    await tree.locator("table a", has_text="Warung Bu Sri").wait_for(timeout=5000)
    await tree.locator("table a", has_text="Warung Bu Sri").click()
    await page.wait_for_url(f"{base}/accounts/{ids['Warung Bu Sri']}", timeout=5000)
    await settle(page)
    await assert_clean(page, "search → Warung Bu Sri", "Warung Bu Sri")

    # Back in history to the tree (htmx history restore).
    await page.go_back()
    await page.wait_for_url(re.compile(r".*/accounts(\?.*)?$"))
    await settle(page)
    await assert_clean(page, "history back to the tree", "Accounts")


async def test_every_page_has_no_serious_accessibility_violation(page: Any, live_server: str) -> None:
    """Every page, as the owner on a desktop and on a phone (390×844): no serious accessibility problem
    (tests/support/a11y.py: names of controls and links, labels, duplicate ids, language, ARIA
    references) and nothing wider than the screen."""
    from tests.support.a11y import serious_violations

    base = live_server
    ids = await load_demo_business()
    await use_session(page, base)
    partner = ids["Toko Sinar Jaya"]
    transfer_id = await sql.fetchval("SELECT id FROM transfer WHERE credit_account_id = $1 LIMIT 1", partner)
    pages = (
        [path for _, path, _ in MENU]
        + [path for path, _ in OTHER_PAGES]
        + [
            f"/accounts/{ids['Jakarta']}",
            f"/accounts/{partner}",
            f"/transfers/{transfer_id}",
            "/transfers/send?q=toko",
            f"/reports?account_id={ids['Jakarta']}&scope=subtree&view=1",
        ]
    )
    problems: dict[str, list[str]] = {}
    for width, height in ((1366, 900), (390, 844)):
        await page.set_viewport_size({"width": width, "height": height})
        for path in pages:
            response = await page.goto(base + path)
            assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
            await settle(page)
            found = await serious_violations(page)
            if found:
                problems[f"{width}px {path}"] = found
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())
