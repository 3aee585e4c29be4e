"""Statements in Chromium: show the statement (htmx swap), then download it in every format."""

from __future__ import annotations

from typing import Any

from tests.support.browser import csp_violations
from tests.support.reports import DAY1, DAY2, api_business, history, signed_in_owner

MAGIC = {
    "csv": b"\xef\xbb\xbfStatement",
    "xlsx": b"PK",
    "pdf": b"%PDF",
    "mt940": b":20:",
    "camt053": b"<?xml",
}
EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "pdf": "pdf", "mt940": "sta", "camt053": "xml"}


async def test_view_and_download_each_format_from_the_portal(page: Any, live_server: str) -> None:
    biz = await api_business()
    a, _, _ = await history(biz)
    token = await signed_in_owner(biz.business_id)
    await page.context.add_cookies([{"name": "neraca_session", "value": token, "url": live_server}])
    response = await page.goto(live_server + "/reports")
    assert response is not None and response.ok
    await page.select_option("#f-account_id", a)
    await page.select_option("#f-period", "custom")
    await page.fill("#f-start", DAY1.isoformat())
    await page.fill("#f-end", DAY2.isoformat())
    await page.click("#show-statement")
    await page.wait_for_selector("#statement-table")
    assert await page.locator("#statement-table tbody tr.statement-row").count() == 3
    assert "119" in await page.locator("#statement-panel").inner_text()
    for fmt, magic in MAGIC.items():
        await page.select_option("#f-format", fmt)
        async with page.expect_download() as info:
            await page.click("#download-statement")
        download = await info.value
        assert download.suggested_filename == f"Partner-0_{DAY1}_{DAY2}.{EXTENSIONS[fmt]}"
        path = await download.path()
        with open(path, "rb") as fh:  # noqa: ASYNC230 (a small local file)
            assert fh.read(len(magic)) == magic, fmt
    assert await csp_violations(page) == []
    assert page.console_errors == []
