"""The portal shell in Chromium: no console error, no CSP violation, htmx loaded, language switch works."""

from __future__ import annotations

from typing import Any

from tests.support.browser import csp_violations


async def test_first_page_loads_cleanly(page: Any, live_server: str) -> None:
    response = await page.goto(live_server + "/")
    assert response is not None and response.ok
    await page.wait_for_load_state("networkidle")
    assert await page.evaluate("typeof window.htmx") == "object"
    assert (await page.evaluate("htmx.version")).startswith("2.0.")
    assert await page.evaluate("htmx.config.allowEval") is False
    assert await page.evaluate("htmx.config.selfRequestsOnly") is True
    assert page.console_errors == []
    assert await csp_violations(page) == []


async def test_missing_page_shows_the_404_page_cleanly(page: Any, live_server: str) -> None:
    response = await page.goto(live_server + "/no/such/page")
    assert response is not None and response.status == 404
    assert (await page.locator("main").inner_text()).strip() != ""
    assert await csp_violations(page) == []
    # The browser logs the 404 status of the document itself; nothing else may fail.
    assert [error for error in page.console_errors if "404" not in error] == []


async def test_language_switch_in_the_browser(page: Any, live_server: str) -> None:
    await page.goto(live_server + "/")
    await page.locator("form.lang-switch button[value='id']").first.click()
    await page.wait_for_load_state("networkidle")
    assert await page.locator("html").get_attribute("lang") == "id"
    await page.locator("form.lang-switch button[value='en']").first.click()
    await page.wait_for_load_state("networkidle")
    assert await page.locator("html").get_attribute("lang") == "en"
    assert page.console_errors == []
    assert await csp_violations(page) == []


async def test_interactive_api_docs_render_under_the_csp(page: Any, live_server: str) -> None:
    await page.goto(live_server + "/api/docs")
    await page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "Neraca API" in await page.locator(".swagger-ui .info .title").inner_text()
    assert await csp_violations(page) == []
    assert page.console_errors == []
