"""Browser: a Batch Transaction file with two bad rows is uploaded, the two rows are highlighted with
their reasons, the corrected file is uploaded again and processed; the Batch Report lists both files
and, once the billing run has charged the rows, the billing dashboard moves. No console errors, no CSP
violations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from portal.domains.billing import services
from portal.domains.billing.services import common
from portal.domains.identity.auth import user_actor
from tests.support.billing import register_card
from tests.support.browser import csp_violations, sign_in
from tests.support.identity import make_business, totp_secret

pytestmark = pytest.mark.browser


async def tile(page: Any, label: str) -> str:
    stat = page.locator(".stat", has=page.locator(".stat__label", has_text=label)).first
    return (await stat.locator(".stat__value").text_content() or "").strip()


async def test_upload_highlight_reupload_process_report_and_dashboard(
    page: Any, live_server: str, db: str, tmp_path: Path
) -> None:
    base = live_server
    business, owner = await make_business(name="Toko Billing E2E")
    actor = user_actor(owner, business)
    await services.create_customer(actor, customer_id="CUST-E2E", name="Budi Santoso")
    billing = await services.create_billing(
        actor, customer_id="CUST-E2E", billing_number="BIL-E2E", amount=75_000
    )
    await register_card(actor, billing.id)
    await sign_in(page, base, owner.username, await totp_secret(owner.id))

    await page.goto(f"{base}/billing/dashboard?period=weekly")
    assert await tile(page, "Total Data") == "0"

    today = common.today().isoformat()
    header = "billing_number,invoice_number,amount,execute_date"
    bad = tmp_path / "week-1.csv"
    bad.write_text(
        f"{header}\nBIL-E2E,INV-E2E-1,75000,{today}\nBIL-NONE,INV-E2E-2,75000,{today}\nBIL-E2E,INV-E2E-3,=1+2,{today}\n"
    )
    await page.goto(f"{base}/billing/batches")
    await page.select_option("#f-kind", "transaction")
    await page.set_input_files("#f-file", str(bad))
    await page.click("#batch-upload button[type=submit]")
    await page.wait_for_url(f"{base}/billing/batches/bat_*")
    invalid = page.locator("#batch-rows tr.batch-row--invalid")
    assert await invalid.count() == 2
    reasons = await invalid.locator(".batch-reason").all_text_contents()
    assert any("billing_number" in r for r in reasons) and any("formula" in r for r in reasons)
    colour = await invalid.first.locator("td").first.evaluate(
        "cell => getComputedStyle(cell).backgroundColor"
    )
    plain = await page.locator("#batch-rows tr.batch-row--valid td").first.evaluate(
        "cell => getComputedStyle(cell).backgroundColor"
    )
    assert colour != plain
    assert await page.locator("form[action$='/process']").count() == 0

    await page.click("#reupload")
    await page.wait_for_url(f"{base}/billing/batches")
    good = tmp_path / "week-1-fixed.csv"
    good.write_text(f"{header}\nBIL-E2E,INV-E2E-1,75000,{today}\nBIL-E2E,INV-E2E-3,25000,{today}\n")
    await page.set_input_files("#f-file", str(good))
    await page.click("#batch-upload button[type=submit]")
    await page.wait_for_url(f"{base}/billing/batches/bat_*")
    assert await page.locator("#batch-rows tr.batch-row--invalid").count() == 0
    await page.click("form[action$='/process'] button[type=submit]")
    await page.wait_for_url(f"{base}/billing/batches")
    report = await page.locator("#batch-report tbody").text_content() or ""
    assert "week-1-fixed.csv" in report and "week-1.csv" in report

    result = await services.run_billing(business_id=business.id)
    assert result.paid == 2
    await page.goto(f"{base}/billing/dashboard?period=weekly")
    assert await tile(page, "Total Data") == "2"
    assert "100,000" in await tile(page, "Total Success Amount")

    assert page.console_errors == []
    assert await csp_violations(page) == []


async def test_the_upload_card_takes_a_browsed_or_dropped_file(
    page: Any, live_server: str, db: str, tmp_path: Path
) -> None:
    base = live_server
    _business, owner = await make_business(name="Toko Drop Zone")
    await sign_in(page, base, owner.username, await totp_secret(owner.id))
    await page.goto(f"{base}/billing/batches")
    status = page.locator("#batch-upload [data-dropzone-status]")

    browsed = tmp_path / "browsed.csv"
    browsed.write_text("billing_number,invoice_number,amount,execute_date\n")
    async with page.expect_file_chooser() as chooser:
        await page.click("#f-file")
    await (await chooser.value).set_files(str(browsed))
    assert "browsed.csv" in (await status.text_content() or "")

    # A file dragged over the card outlines it; dropped, it becomes the input's file.
    dragged = await page.evaluate_handle(
        """text => { const dt = new DataTransfer();
          dt.items.add(new File([text], "dropped.csv", {type: "text/csv"})); return dt; }""",
        "billing_number,invoice_number,amount,execute_date\nBIL-NONE,INV-D-1,1000,2031-01-06\n",
    )
    await page.dispatch_event("#batch-upload", "dragover", {"dataTransfer": dragged})
    assert "is-dragover" in (await page.get_attribute("#batch-upload", "class") or "")
    await page.dispatch_event("#batch-upload", "drop", {"dataTransfer": dragged})
    assert "is-dragover" not in (await page.get_attribute("#batch-upload", "class") or "")
    assert await page.eval_on_selector("#f-file", "input => input.files[0].name") == "dropped.csv"
    assert "dropped.csv" in (await status.text_content() or "")
    await page.select_option("#f-kind", "transaction")
    await page.click("#batch-upload button[type=submit]")
    await page.wait_for_url(f"{base}/billing/batches/bat_*")
    assert await page.locator("#batch-rows tr.batch-row--invalid").count() == 1  # the dropped file's row
    assert page.console_errors == []
    assert await csp_violations(page) == []
