"""All Report's filters and totals, the streamed export (formula-escaped, masked cards), and the billing
dashboard's tiles agreeing with the report over the same period."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import openpyxl
import pytest

from portal.domains.billing import services
from portal.domains.billing.services import common, reports
from portal.lib.errors import ValidationFailed
from tests.support.billing import (
    TEST_CARD,
    billing_business,
    customer_and_billing,
    decline_next,
    register_card,
)
from tests.support.identity import make_business, signed_in_client


async def charged_world() -> tuple[Any, Any]:
    actor, business = await billing_business()
    today = common.today().isoformat()
    tokens = []
    for number, amount in (("BIL-A", 100_000), ("BIL-B", 50_000), ("BIL-C", 70_000)):
        billing = await customer_and_billing(
            actor, number, amount=amount, schedule={"schedule_type": "full_date", "dates": [today]}
        )
        registered = await register_card(
            actor, billing.id, "5555555555554444" if number == "BIL-C" else TEST_CARD
        )
        tokens.append((number, registered))
    from portal.lib import sql

    token_c = await sql.fetchval("SELECT card_token FROM billing WHERE billing_number = 'BIL-C'")
    await decline_next(token_c, "54")
    await services.run_billing(business_id=business.id)
    return actor, business


async def test_the_report_filters_and_totals(db: str) -> None:
    actor, _ = await charged_world()
    everything = await reports.report(actor, reports.parse_filter({}))
    assert (everything.total_data, everything.total_amount) == (3, 220_000)
    paid = await reports.report(actor, reports.parse_filter({"status": "paid"}))
    assert (paid.total_data, paid.total_amount) == (2, 150_000)
    by_card = await reports.report(actor, reports.parse_filter({"card_no": "555555******4444"}))
    assert [r["billing_number"] for r in by_card.rows] == ["BIL-C"]
    by_last4 = await reports.report(actor, reports.parse_filter({"card_no": "1111"}))
    assert by_last4.total_data == 2
    declined = await reports.report(actor, reports.parse_filter({"response_code": "54"}))
    assert [r["billing_number"] for r in declined.rows] == ["BIL-C"]
    by_holder = await reports.report(actor, reports.parse_filter({"holder_name": "budi", "amount": "50000"}))
    assert [r["billing_number"] for r in by_holder.rows] == ["BIL-B"]
    flt = reports.parse_filter({"billing_number": "BIL-A", "batch_type": "recurring"})
    assert flt.criteria() == [("billing_number", "BIL-A"), ("batch_type", "recurring")]
    with pytest.raises(ValidationFailed) as refused:
        reports.parse_filter({"card_no": TEST_CARD})
    assert refused.value.code == "card_number_refused"
    with pytest.raises(ValidationFailed):
        reports.parse_filter({"start": "31/12/2026"})


@pytest.mark.parametrize("period", ["weekly", "monthly"])
async def test_the_dashboard_agrees_with_the_report(db: str, period: str) -> None:
    actor, _ = await charged_world()
    board = await reports.dashboard(actor, period)
    same = await reports.report(actor, reports.ReportFilter(start=board.start, end=board.end))
    paid = await reports.report(actor, reports.ReportFilter(start=board.start, end=board.end, status="paid"))
    assert board.total_data == same.total_data == 3
    assert board.total_success_amount == paid.total_amount == 150_000
    assert board.total_unique_billing_numbers == len({r["billing_number"] for r in same.rows}) == 3
    assert sum(ok for _, ok, _ in board.chart) == paid.total_data
    assert sum(failed for _, _, failed in board.chart) == 1
    assert [n for _, n in board.failed_messages] == [1] and board.failed_messages[0][0].startswith("54")
    assert dict(board.top_issuers)["Sandbox Test Bank"] == 3
    assert (board.recurring_active, board.recurring_inactive) == (3, 0)


async def test_the_report_pages_and_the_export(client: Any) -> None:
    business, owner = await make_business()
    await signed_in_client(client, owner)
    from portal.domains.identity.auth import user_actor

    actor = user_actor(owner, business)
    await services.create_customer(actor, customer_id="C-1", name="=HYPERLINK(1)")
    billing = await services.create_billing(
        actor,
        customer_id="C-1",
        billing_number="B-1",
        amount=1000,
        schedule={"schedule_type": "full_date", "dates": [common.today().isoformat()]},
    )
    await register_card(actor, billing.id)
    await services.run_billing(business_id=business.id)
    page = await client.get("/billing/reports?billing_number=B-1")
    assert page.status_code == 200 and 'id="report-summary"' in page.text and "B-1" in page.text
    assert "Show Search Form" in page.text
    bad = await client.get(f"/billing/reports?card_no={TEST_CARD}")
    assert bad.status_code == 422 and TEST_CARD not in bad.text
    export = await client.get("/billing/reports/export.csv?billing_number=B-1")
    assert export.status_code == 200
    lines = export.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("billing_number,invoice_number") and len(lines) == 2
    assert "'=HYPERLINK(1)" in lines[1] and "411111••••••1111" in lines[1] and TEST_CARD not in export.text
    xlsx = await client.get("/billing/reports/export.xlsx?billing_number=B-1")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxml")
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert list(cells[0]) == lines[0].split(",") and len(cells) == 2
    assert cells[1][0] == "B-1" and cells[1][7] == "paid"
    assert "=HYPERLINK(1)" in cells[1] and "411111••••••1111" in cells[1] and 1000 in cells[1]
    with zipfile.ZipFile(io.BytesIO(xlsx.content)) as unpacked:
        raw = b"".join(unpacked.read(name) for name in unpacked.namelist())
    assert TEST_CARD.encode() not in raw and b"<f>" not in raw  # masked card only, no formula cell
    empty = await client.get("/billing/reports/export.xlsx?billing_number=NOPE")
    rows = list(openpyxl.load_workbook(io.BytesIO(empty.content), read_only=True).active.iter_rows())
    assert len(rows) == 1  # the same filters as the CSV: only the header
    board = await client.get("/billing/dashboard?period=monthly")
    assert board.status_code == 200 and 'id="billing-dashboard"' in board.text
