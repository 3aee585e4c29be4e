"""The custom report builder in the portal: run, save, the saved report's page with its chart, exports."""

from __future__ import annotations

from typing import Any

from tests.support.accounts import owner_client
from tests.support.identity import csrf_from
from tests.support.ledger import fund


async def test_build_run_save_and_export(client: Any) -> None:
    business, _, main = await owner_client(client)
    await fund(business.id, main, 5_000_000)
    page = await client.get("/reports/custom?dataset=account_movements")
    assert page.status_code == 200 and 'id="report-builder"' in page.text
    token = csrf_from(page.text)
    form = {
        "_csrf_token": token,
        "dataset": "account_movements",
        "columns": ["money_in", "net"],
        "group_by": ["month"],
        "filter_field_0": "money_in",
        "filter_op_0": "gte",
        "filter_value_0": "1",
    }
    ran = await client.post("/reports/custom/run", data=form)
    assert ran.status_code == 200, ran.text[:500]
    assert 'id="report-rows"' in ran.text and 'data-rows="1"' in ran.text
    ungrouped = {k: v for k, v in form.items() if k != "group_by"}
    plain = await client.post(
        "/reports/custom/run", data={**ungrouped, "columns": ["created_at", "money_in"]}
    )
    assert plain.status_code == 200 and 'data-rows="1"' in plain.text, plain.text[:300]
    bad = await client.post("/reports/custom/run", data={**form, "filter_field_0": "password"})
    assert bad.status_code == 422 and "unknown filter" in bad.text
    saved = await client.post("/reports/custom", data={**form, "name": "Monthly in"})
    assert saved.status_code == 303, saved.text[:500]
    report_url = saved.headers["location"]
    shown = await client.get(report_url)
    assert shown.status_code == 200 and 'id="report-chart"' in shown.text and "Monthly in" in shown.text
    csv_file = await client.get(f"{report_url}/download?format=csv")
    assert (
        csv_file.status_code == 200
        and csv_file.content.decode("utf-8-sig").splitlines()[0] == "Month,Money in,Net,Count"
    )
    listed = await client.get("/reports/custom")
    assert "Monthly in" in listed.text


async def test_schedule_a_saved_report_on_its_page(client: Any) -> None:
    await owner_client(client)
    page = await client.get("/reports/custom?dataset=transfers")
    token = csrf_from(page.text)
    saved = await client.post(
        "/reports/custom", data={"_csrf_token": token, "dataset": "transfers", "name": "Weekly transfers"}
    )
    assert saved.status_code == 303, saved.text[:500]
    report_url = saved.headers["location"]
    shown = await client.get(report_url)
    assert 'id="schedule-form"' in shown.text and "This report is not e-mailed." in shown.text
    bad = await client.post(
        f"{report_url}/schedule",
        data={"_csrf_token": token, "frequency": "weekly", "time": "25:00", "weekday": "2", "format": "csv"},
    )
    assert bad.status_code == 422 and "HH:MM" in bad.text
    good = await client.post(
        f"{report_url}/schedule",
        data={"_csrf_token": token, "frequency": "weekly", "time": "08:15", "weekday": "2", "format": "xlsx"},
    )
    assert good.status_code == 303, good.text[:500]
    shown = await client.get(report_url)
    assert 'id="schedule-next"' in shown.text and "Next e-mail:" in shown.text
    assert 'value="08:15"' in shown.text
    stopped = await client.post(f"{report_url}/schedule", data={"_csrf_token": token, "frequency": ""})
    assert stopped.status_code == 303
    assert "This report is not e-mailed." in (await client.get(report_url)).text
