"""All Report's filters, totals, criteria and paging, the streamed exports (the same filters,
formula-escaped, masked cards), and the billing dashboard's tiles agreeing with the report over the same
period and scope."""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pytest

from portal.domains.accounts import services as accounts
from portal.domains.billing import services
from portal.domains.billing.services import batches, common, reports
from portal.domains.identity.auth import user_actor
from portal.lib import clock, i18n, sql
from portal.lib.actor import Actor
from portal.lib.errors import ValidationFailed
from tests.support.billing import (
    TEST_CARD,
    billing_business,
    customer_and_billing,
    decline_next,
    register_card,
)
from tests.support.identity import make_business, signed_in_client


@dataclass
class World:
    actor: Actor
    business: Any
    owner: Any


async def _token(billing_id: str) -> str:
    return str(await sql.fetchval("SELECT card_token FROM billing WHERE id = $1", billing_id))


async def report_world() -> World:
    """Today: BIL-A 100,000 and BIL-B 50,000 paid, BIL-C 70,000 declined (54), BIL-R a 10,000 reminder;
    a Batch Transaction file "march-single.csv" charging BIL-P (Sari, with a phone) 25,000 today (paid)
    and 40,000 tomorrow (pending) and BIL-Q 15,000 today (declined, 14)."""
    business, owner = await make_business()
    actor = user_actor(owner, business)
    today = common.today()
    on_today = {"schedule_type": "full_date", "dates": [today.isoformat()]}
    for number, amount in (("BIL-A", 100_000), ("BIL-B", 50_000), ("BIL-C", 70_000)):
        billing = await customer_and_billing(actor, number, amount=amount, schedule=on_today)
        await register_card(actor, billing.id, "5555555555554444" if number == "BIL-C" else TEST_CARD)
        if number == "BIL-C":
            await decline_next(await _token(billing.id), "54")
    await customer_and_billing(actor, "BIL-R", amount=10_000, schedule=on_today, type="reminder")
    await services.create_customer(actor, customer_id="CUST-SARI", name="Sari Dewi", phone="0812-3456-7890")
    single = await services.create_billing(actor, customer_id="CUST-SARI", billing_number="BIL-P", amount=1)
    await register_card(actor, single.id)
    declined = await customer_and_billing(actor, "BIL-Q", amount=1)
    await register_card(actor, declined.id)
    await decline_next(await _token(declined.id), "14")
    content = (
        "billing_number,invoice_number,amount,execute_date\n"
        f"BIL-P,INV-S1,25000,{today.isoformat()}\n"
        f"BIL-P,INV-S2,40000,{(today + timedelta(days=1)).isoformat()}\n"
        f"BIL-Q,INV-S3,15000,{today.isoformat()}\n"
    ).encode()
    batch_id = await batches.upload(actor, "transaction", "march-single.csv", content)
    assert await batches.process(actor, batch_id) == 3
    await services.run_billing(business_id=business.id)
    return World(actor, business, owner)


def numbers(page: reports.ReportPage) -> list[str]:
    return sorted(r["billing_number"] for r in page.rows)


async def find(actor: Actor, **params: str) -> reports.ReportPage:
    return await reports.report(actor, reports.parse_filter(params))


async def test_every_filter_of_the_report(db: str) -> None:
    world = await report_world()
    actor = world.actor
    today, tomorrow = common.today(), common.today() + timedelta(days=1)
    everything = await find(actor)
    assert (everything.total_data, everything.total_amount) == (7, 310_000)
    assert (await find(actor, status="paid")).total_amount == 175_000
    assert numbers(await find(actor, card_no="555555******4444")) == ["BIL-C"]
    assert (await find(actor, card_no="1111")).total_data == 4  # not INV-S2: not charged yet
    assert numbers(await find(actor, response_code="54")) == ["BIL-C"]
    assert numbers(await find(actor, holder_name="budi", amount="50000")) == ["BIL-B"]
    assert [r["invoice_number"] for r in (await find(actor, invoice_number="INV-S1")).rows] == ["INV-S1"]
    # CSV File Name: a Batch Transaction file's charges, by part of the name, any case.
    by_file = await find(actor, file_name="MARCH-single")
    assert sorted(r["invoice_number"] for r in by_file.rows) == ["INV-S1", "INV-S2", "INV-S3"]
    assert {r["file_name"] for r in by_file.rows} == {"march-single.csv"}
    assert (await find(actor, file_name="april")).total_data == 0
    assert (await find(actor, file_name="march_single")).total_data == 0  # "_" is a character, not a wildcard
    assert (await find(actor, holder_name="%")).total_data == 0
    # Card Holder Phone: the customer's, however it is typed; something with no digits finds nothing.
    for typed in ("+62 812-3456-7890", "081234567890", "7890"):
        assert numbers(await find(actor, holder_phone=typed)) == ["BIL-P", "BIL-P"], typed
    assert (await find(actor, holder_phone="abc")).total_data == 0
    # Start/End Date: the execute date, both ends included.
    assert [r["invoice_number"] for r in (await find(actor, start=tomorrow.isoformat())).rows] == ["INV-S2"]
    assert (await find(actor, end=today.isoformat())).total_data == 6
    assert (await find(actor, start=today.isoformat(), end=today.isoformat())).total_data == 6
    assert (await find(actor, end=(today - timedelta(days=1)).isoformat())).total_data == 0
    # All Batch Type: Batch Transaction = the single payments, Recurring and Reminder the billings' own.
    assert numbers(await find(actor, batch_type="transaction")) == ["BIL-P", "BIL-P", "BIL-Q"]
    assert numbers(await find(actor, batch_type="recurring")) == ["BIL-A", "BIL-B", "BIL-C"]
    assert numbers(await find(actor, batch_type="reminder")) == ["BIL-R"]
    # Payment Approval Code and Error Code: the bank's, of one charge.
    paid_a = (await find(actor, billing_number="BIL-A")).rows[0]
    assert paid_a["approval_code"]
    assert numbers(await find(actor, approval_code=paid_a["approval_code"])) == ["BIL-A"]
    declined_q = (await find(actor, billing_number="BIL-Q")).rows[0]
    assert declined_q["status"] == "failed" and declined_q["error_message"]
    fragment = declined_q["error_message"][:6].upper()
    assert numbers(await find(actor, error_code=fragment, batch_type="transaction")) == ["BIL-Q"]
    with pytest.raises(ValidationFailed) as refused:
        reports.parse_filter({"card_no": TEST_CARD})
    assert refused.value.code == "card_number_refused"
    with pytest.raises(ValidationFailed):
        reports.parse_filter({"start": "31/12/2026"})


async def test_the_criteria_show_the_forms_labels(client: Any) -> None:
    flt = reports.parse_filter(
        {
            "billing_number": "BIL-A",
            "batch_type": "transaction",
            "card_no": "411111******1111",
            "status": "paid",
        }
    )
    assert flt.criteria() == [
        ("Billing Number", "BIL-A"),
        ("Card No", "411111••••••1111"),
        ("Batch Type", "Batch Transaction"),
        ("Payment Status", "Paid"),
    ]
    assert reports.parse_filter({"card_no": "1111", "holder_name": "sari"}).criteria() == [
        ("Card No", "••••••1111"),
        ("Card Holder Name", "sari"),
    ]
    _business, owner = await make_business()
    await signed_in_client(client, owner)
    page = await client.get("/billing/reports?card_no=411111&holder_phone=0812&error_code=Do+not")
    assert page.status_code == 200
    line = page.text.split('id="report-summary"')[1].split("</p>")[0]
    assert "Card No: 411111••••••" in line and "Card Holder Phone: 0812" in line
    assert "Payment Error Code: Do not" in line
    assert "card_no" not in line and "holder_phone" not in line and "error_code" not in line
    language = i18n.current_language.set("id")
    try:
        assert reports.parse_filter({"batch_type": "reminder", "file_name": "a.csv"}).criteria() == [
            ("Nama File CSV", "a.csv"),
            ("Tipe Batch", "Pengingat"),
        ]
    finally:
        i18n.current_language.reset(language)


async def test_the_report_pages_by_cursor_newest_first(db: str) -> None:
    world = await report_world()
    first = await reports.report(world.actor, reports.ReportFilter(), limit=4)
    assert len(first.rows) == 4 and first.next_cursor and first.total_data == 7
    second = await reports.report(world.actor, reports.ReportFilter(), limit=4, after=first.next_cursor)
    assert len(second.rows) == 3 and second.next_cursor is None and second.total_data == 7
    seen = [r["id"] for r in first.rows + second.rows]
    everything = await sql.fetch("SELECT id FROM billing_charge WHERE business_id = $1", world.business.id)
    assert len(seen) == len(set(seen)) == 7 and set(seen) == {r["id"] for r in everything}
    # Newest first: the billings' own charges (made by the run) before the file's (processed earlier).
    order = [(r["created_at"], r["id"]) for r in first.rows + second.rows]
    assert order == sorted(order, reverse=True)
    assert {r["kind"] for r in second.rows} == {"single"}
    with pytest.raises(ValidationFailed):
        await reports.report(world.actor, reports.ReportFilter(), after="not-a-cursor")
    # The exports read the same order in batches: every row once, whatever the batch size.
    streamed = [r["id"] async for r in reports.iterate_report(world.actor, reports.ReportFilter(), batch=2)]
    assert streamed == seen
    exact = [r["id"] async for r in reports.iterate_report(world.actor, reports.ReportFilter(), batch=7)]
    assert exact == seen


async def test_the_exports_honour_the_filters(client: Any) -> None:
    world = await report_world()
    await signed_in_client(client, world.owner)
    for params, expected in (
        ("file_name=march", ["INV-S1", "INV-S2", "INV-S3"]),
        ("batch_type=recurring&status=paid", None),
        (f"start={(common.today() + timedelta(days=1)).isoformat()}", ["INV-S2"]),
        ("holder_phone=0812+3456+7890", ["INV-S1", "INV-S2"]),
    ):
        flt = reports.parse_filter(dict(p.split("=") for p in params.replace("+", " ").split("&")))
        wanted = sorted(r["invoice_number"] for r in (await reports.report(world.actor, flt)).rows)
        assert expected is None or wanted == expected
        exported = await client.get(f"/billing/reports/export.csv?{params}")
        assert exported.status_code == 200
        rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
        assert sorted(r["invoice_number"] for r in rows) == wanted, params
        xlsx = await client.get(f"/billing/reports/export.xlsx?{params}")
        sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True).active
        cells = [list(r) for r in sheet.iter_rows(values_only=True)]
        column = cells[0].index("invoice_number")
        assert sorted(r[column] for r in cells[1:]) == wanted, params
    assert len(wanted) == 2  # the last: Sari's two single payments
    # The dashboard's link shows All Report with exactly the tile's Total Data (reminders included).
    board = await client.get("/billing/dashboard?period=monthly")
    tile = re.search(r'stat__label">Total Data</div>\s*<div class="stat__value num">(\d+)<', board.text)
    link = re.search(r'<a href="(/billing/reports\?[^"]+)">See these charges in All Report', board.text)
    assert tile and link and tile.group(1) == "6"
    linked = await client.get(html.unescape(link.group(1)))
    assert re.search(r"<dt>Total Data</dt><dd>6</dd>", linked.text)


async def test_the_report_page_and_the_exports_escape_and_mask(client: Any) -> None:
    business, owner = await make_business()
    await signed_in_client(client, owner)
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


async def _sum(actor: Actor, statuses: tuple[str, ...], **criteria: Any) -> tuple[int, int]:
    """All Report's Total Data and Total Amount over several Payment Statuses."""
    pages = [await reports.report(actor, reports.ReportFilter(status=s, **criteria)) for s in statuses]
    return sum(p.total_data for p in pages), sum(p.total_amount for p in pages)


@pytest.mark.parametrize("period", ["weekly", "monthly"])
async def test_every_dashboard_tile_agrees_with_the_report(db: str, period: str) -> None:
    world = await report_world()
    actor = world.actor
    paid_a = (await find(actor, billing_number="BIL-A")).rows[0]
    await services.refund_charge(actor, paid_a["id"])
    await services.set_active(actor, "BIL-B", False)
    board = await reports.dashboard(actor, period)
    period_criteria: dict[str, Any] = {"start": board.start, "end": board.end}
    same = await reports.report(actor, reports.ReportFilter(**period_criteria))
    # Total Data is exactly what "See these charges in All Report" shows: reminders too.
    assert board.total_data == same.total_data == 6
    assert any(r["kind"] == "reminder" for r in same.rows)
    ok_data, ok_amount = await _sum(actor, reports.SUCCESS, **period_criteria)
    failed_data, _ = await _sum(actor, reports.FAILED, **period_criteria)
    # A refunded charge was a success (its sale stays in Total Success Amount, as in All Report).
    assert board.total_success_amount == ok_amount == 175_000
    assert board.total_unique_billing_numbers == len({r["billing_number"] for r in same.rows}) == 6
    assert sum(ok for _, ok, _ in board.chart) == ok_data == 3
    assert sum(failed for _, _, failed in board.chart) == failed_data == 2
    for day, ok, failed in board.chart:
        that_day = {"start": day, "end": day}
        assert (ok, failed) == (
            (await _sum(actor, reports.SUCCESS, **that_day))[0],
            (await _sum(actor, reports.FAILED, **that_day))[0],
        )
    for message, n in board.failed_messages:
        code = message.split(" ")[0]
        assert n == (await _sum(actor, reports.FAILED, response_code=code, **period_criteria))[0]
    assert sorted(m.split(" ")[0] for m, _ in board.failed_messages) == ["14", "54"]
    single_ok, _ = await _sum(actor, reports.SUCCESS, batch_type="transaction", **period_criteria)
    single_failed, _ = await _sum(actor, reports.FAILED, batch_type="transaction", **period_criteria)
    assert (board.single_success, board.single_failed) == (single_ok, single_failed) == (1, 1)
    issuers: dict[str, int] = {}
    for row in same.rows:
        if row["issuer"]:
            issuers[row["issuer"]] = issuers.get(row["issuer"], 0) + 1
    assert dict(board.top_issuers) == issuers and issuers["Sandbox Test Bank"] >= 4
    # Registration Recurring: the recurring billings registered in the period, by status (B inactive).
    assert (board.recurring_active, board.recurring_inactive) == (4, 1)


async def test_registration_recurring_counts_the_period_only(db: str) -> None:
    actor, _business = await billing_business()
    long_ago = datetime.now(UTC) - timedelta(days=40)
    clock.set_clock(lambda: long_ago)
    try:
        await customer_and_billing(actor, "BIL-OLD")
    finally:
        clock.set_clock(None)
    await customer_and_billing(actor, "BIL-NEW")
    await customer_and_billing(actor, "BIL-REMIND", type="reminder")
    for period in ("weekly", "monthly"):
        board = await reports.dashboard(actor, period)
        assert (board.recurring_active, board.recurring_inactive) == (1, 0), period


async def test_a_scoped_user_sees_only_their_part_on_the_dashboard(db: str) -> None:
    actor, business = await billing_business()
    main = await accounts.ensure_business_accounts(business.id)
    division = await accounts.create_account(
        actor, name="Division", kind="partner", parent_id=main, currency="IDR"
    )
    today = {"schedule_type": "full_date", "dates": [common.today().isoformat()]}
    theirs = await customer_and_billing(
        actor, "BIL-DIV", amount=20_000, schedule=today, account_id=division.id
    )
    await register_card(actor, theirs.id)
    for number in ("BIL-HQ1", "BIL-HQ2"):
        other = await customer_and_billing(actor, number, amount=90_000, schedule=today)
        await register_card(actor, other.id)
    await services.run_billing(business_id=business.id)
    await services.set_active(actor, "BIL-HQ2", False)
    manager = replace(actor, scope_account_id=division.id)
    board = await reports.dashboard(manager, "monthly")
    assert (board.recurring_active, board.recurring_inactive) == (1, 0)
    assert (board.total_data, board.total_success_amount) == (1, 20_000)
    seen = await reports.report(manager, reports.ReportFilter(start=board.start, end=board.end))
    assert [r["billing_number"] for r in seen.rows] == ["BIL-DIV"]
    whole = await reports.dashboard(actor, "monthly")
    assert (whole.recurring_active, whole.recurring_inactive, whole.total_data) == (2, 1, 3)
