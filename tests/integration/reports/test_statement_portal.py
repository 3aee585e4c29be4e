"""Reports → statements in the portal: the page, the HTML statement with htmx pages, downloads at once,
background exports with progress, bad input re-rendering the form, scheduled statements exactly once."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta

import httpx

from portal.domains.reports import schedules, services
from portal.lib import clock, sql
from tests.support.reports import (
    DAY1,
    DAY2,
    TODAY,
    api_business,
    at,
    book,
    history,
    portal_client,
    world_of,
)


async def test_reports_page_lists_accounts_and_is_in_the_nav(client: httpx.AsyncClient) -> None:
    biz = await api_business()
    await portal_client(client, biz.business_id)
    page = await client.get("/reports")
    assert 'href="/reports"' in page.text
    assert biz.tree.accounts[0] in page.text and 'name="format"' in page.text


async def test_html_statement_pages_with_htmx(client: httpx.AsyncClient) -> None:
    biz = await api_business()
    a, _, _ = await history(biz)
    world = await world_of(biz.business_id)
    for i in range(60):
        await book(biz.business_id, world, a, 10, at(DAY2, 12, i % 60))
    await portal_client(client, biz.business_id)
    params = {"account_id": a, "period": "custom", "start": DAY1.isoformat(), "end": DAY2.isoformat()}
    first = await client.get("/reports/statement", params=params, headers={"HX-Request": "true"})
    assert first.status_code == 200
    assert 'id="statement-panel"' in first.text and "<html" not in first.text
    assert first.text.count('class="statement-row') == services.PAGE_DEFAULT
    assert "statement-row--fee" in first.text
    assert 'hx-get="/reports/statement?' in first.text
    next_url = first.text.split('hx-get="')[-1].split('"')[0].replace("&amp;", "&")
    rest = await client.get(next_url, headers={"HX-Request": "true"})
    assert rest.text.count('class="statement-row') == 63 - services.PAGE_DEFAULT
    assert "<table" not in rest.text


async def test_bad_input_rerenders_the_form_and_starts_nothing(client: httpx.AsyncClient) -> None:
    biz = await api_business()
    await portal_client(client, biz.business_id)
    a = biz.tree.accounts[0]
    form = {
        "account_id": a,
        "period": "custom",
        "start": DAY2.isoformat(),
        "end": DAY1.isoformat(),
        "format": "csv",
    }
    response = await client.post("/reports/statements/export", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert 'id="picker"' in response.text and "field-error" in response.text  # next to its field, once
    future = {
        **form,
        "start": (TODAY + timedelta(days=2)).isoformat(),
        "end": (TODAY + timedelta(days=3)).isoformat(),
    }
    response = await client.post("/reports/statements/export", data=future, headers={"HX-Request": "true"})
    assert response.status_code == 422 and "must not be after today" in response.text
    unknown = {**form, "start": DAY1.isoformat(), "end": DAY2.isoformat(), "format": "docx"}
    response = await client.post("/reports/statements/export", data=unknown, headers={"HX-Request": "true"})
    assert response.status_code == 422
    other = await api_business()
    response = await client.post(
        "/reports/statements/export",
        data={
            **form,
            "account_id": other.tree.accounts[0],
            "start": DAY1.isoformat(),
            "end": DAY2.isoformat(),
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 404
    assert await sql.fetchval("SELECT count(*) FROM report_export") == 0


async def test_small_download_redirects_to_the_streamed_file(client: httpx.AsyncClient) -> None:
    biz = await api_business()
    a, _, _ = await history(biz)
    await portal_client(client, biz.business_id)
    form = {
        "account_id": a,
        "period": "custom",
        "start": DAY1.isoformat(),
        "end": DAY2.isoformat(),
        "format": "csv",
    }
    response = await client.post("/reports/statements/export", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 200
    target = response.headers["HX-Redirect"]
    assert target.startswith("/reports/statements/file?")
    file = await client.get(target)
    assert file.status_code == 200 and file.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(file.content.decode("utf-8-sig"))))
    assert rows[-1][8:11] == ["21000", "40000", "119000"]


async def test_large_export_runs_in_the_background_with_progress(client: httpx.AsyncClient) -> None:
    biz = await api_business()
    a, _, _ = await history(biz)
    await portal_client(client, biz.business_id)
    form = {
        "account_id": a,
        "period": "custom",
        "start": DAY1.isoformat(),
        "end": DAY2.isoformat(),
        "format": "pdf",
    }
    original = dict(services.IMMEDIATE_LIMITS)
    services.IMMEDIATE_LIMITS["pdf"] = 1  # 3 entries count as "large" here
    try:
        response = await client.post("/reports/statements/export", data=form, headers={"HX-Request": "true"})
    finally:
        services.IMMEDIATE_LIMITS.update(original)
    target = response.headers["HX-Redirect"]
    assert target.startswith("/reports/exports/exp_")
    export_id = target.rsplit("/", 1)[1]
    pending = await client.get(target, headers={"HX-Request": "true"})
    assert "<progress" in pending.text and 'hx-trigger="every 1s"' in pending.text
    job = await services.run_export(export_id)  # what the worker's `reports.export` job does
    assert job is not None and job.status == "done" and job.progress_done == 3
    again = await services.run_export(export_id)  # idempotent
    assert again is not None and again.finished_at == job.finished_at
    done = await client.get(target, headers={"HX-Request": "true"})
    assert "hx-trigger" not in done.text and f"/reports/exports/{export_id}/file" in done.text
    file = await client.get(f"/reports/exports/{export_id}/file")
    assert file.status_code == 200 and file.content.startswith(b"%PDF")
    assert file.headers["content-disposition"].startswith("attachment")
    other = await api_business()
    await portal_client(client, other.business_id)
    assert (await client.get(target)).status_code == 404
    assert (await client.get(f"/reports/exports/{export_id}/file")).status_code == 404


async def test_scheduled_statement_is_delivered_exactly_once_with_two_runners(
    client: httpx.AsyncClient, smtp_sink: object
) -> None:
    biz = await api_business()
    a, _, _ = await history(biz)
    await portal_client(client, biz.business_id)
    response = await client.post(
        "/reports/schedules",
        data={"account_id": a, "frequency": "daily", "format": "csv", "email": "finance@example.com"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200, response.text[:400]
    assert "finance@example.com" in response.text
    bad = await client.post(
        "/reports/schedules",
        data={"account_id": a, "frequency": "hourly", "format": "csv", "email": "not-an-address"},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422
    # Three days later, two runners race: each of the three due days is taken once.
    later = datetime.now(UTC) + timedelta(days=3)
    clock.set_clock(lambda: later)
    try:
        taken = await asyncio.gather(schedules.run_due(later), schedules.run_due(later))
        assert sum(taken) == 3
        assert await schedules.run_due(later) == 0
    finally:
        clock.set_clock(None)
    runs = await sql.fetch("SELECT period_start, export_id FROM report_schedule_run ORDER BY period_start")
    assert [r["period_start"] for r in runs] == [TODAY, TODAY + timedelta(days=1), TODAY + timedelta(days=2)]
    first_export = runs[0]["export_id"]
    clock.set_clock(lambda: later)
    try:
        job = await services.run_export(first_export)
    finally:
        clock.set_clock(None)
    assert job is not None and job.status == "done" and job.schedule_id is not None
    mails = await sql.fetch(
        "SELECT to_address, text_body FROM email_outbox WHERE business_id = $1", biz.business_id
    )
    statement_mails = [m for m in mails if f"/reports/exports/{first_export}" in m["text_body"]]
    assert [m["to_address"] for m in statement_mails] == ["finance@example.com"]
