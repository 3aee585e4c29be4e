"""Batch uploads: rows validated with the reason per row (duplicate invoice numbers in the file, a
formula, a card number — blanked, never kept — a past execute date, an unknown billing), the file
uploaded again, processed once, its single payments charged by the run; Registration creates billings;
the XLSX template reads back; the Batch Report's totals."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import asyncpg
import polars as pl
import pytest

from portal.domains.accounts import services as accounts
from portal.domains.billing import services
from portal.domains.billing.services import batches, common, reports
from portal.lib import frames, i18n, sql
from portal.lib.errors import Conflict, ValidationFailed
from portal.lib.ids import new_id
from tests.support.billing import TEST_CARD, billing_business, customer_and_billing, register_card
from tests.support.database import with_one_connection_free
from tests.support.identity import csrf_from, make_business, signed_in_client


def csv_of(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


async def test_a_transaction_file_with_bad_rows_then_uploaded_again_and_processed(db: str) -> None:
    actor, business = await billing_business()
    billing = await customer_and_billing(actor, "BIL-B1")
    await register_card(actor, billing.id)
    await customer_and_billing(actor, "BIL-NOCARD")
    today = common.today().isoformat()
    past = (common.today() - timedelta(days=1)).isoformat()
    bad = csv_of(
        "billing_number,invoice_number,amount,execute_date",
        f"BIL-B1,INV-1,150000,{today}",
        f"BIL-B1,INV-1,150000,{today}",
        f"BIL-B1,INV-2,=1+1,{today}",
        f"BIL-B1,{TEST_CARD},1000,{today}",
        f"BIL-B1,INV-3,1000,{past}",
        f"BIL-NONE,INV-4,1000,{today}",
        f"BIL-NOCARD,INV-5,1000,{today}",
    )
    batch_id = await batches.upload(actor, "transaction", "march.csv", bad)
    rows = {r["line"]: r for r in await batches.batch_rows(actor, batch_id)}
    assert rows[2]["errors"] == []
    # A row's cells in the order they have always been shown (shortest name first).
    assert list(rows[2]["data"]) == [
        "amount",
        "description",
        "execute_date",
        "billing_number",
        "invoice_number",
    ]
    assert [e["field"] for e in rows[3]["errors"]] == ["invoice_number"]  # also on line 2
    assert "amount" in [e["field"] for e in rows[4]["errors"]]
    assert rows[5]["data"]["invoice_number"] == "" and rows[5]["errors"]
    assert [e["field"] for e in rows[6]["errors"]] == ["execute_date"]
    assert [e["field"] for e in rows[7]["errors"]] == ["billing_number"]
    assert [e["field"] for e in rows[8]["errors"]] == ["billing_number"]
    stored = await sql.fetchval("SELECT f::text FROM billing_batch_file f WHERE batch_id = $1", batch_id)
    assert "INV-3" in stored and TEST_CARD not in stored
    batch = await batches.batch_row(actor, batch_id)
    assert (batch["total_data"], batch["invalid_data"]) == (7, 6)
    with pytest.raises(Conflict):
        await batches.process(actor, batch_id)
    assert await sql.fetchval("SELECT count(*) FROM billing_charge WHERE business_id = $1", business.id) == 0
    good = csv_of(
        "billing_number,invoice_number,amount,execute_date",
        f"BIL-B1,INV-1,150000,{today}",
        f"BIL-B1,INV-2,25000,{today}",
    )
    again = await batches.upload(actor, "transaction", "march-fixed.csv", good)
    assert await batches.process(actor, again) == 2
    with pytest.raises(Conflict):
        await batches.process(actor, again)
    result = await services.run_billing(business_id=business.id)
    assert (result.paid, result.charged) == (2, 2)
    charges = await sql.fetch(
        "SELECT kind, invoice_number, status, batch_id FROM billing_charge WHERE business_id = $1 ORDER BY 2",
        business.id,
    )
    assert [(c["kind"], c["invoice_number"], c["status"]) for c in charges] == [
        ("single", "INV-1", "paid"),
        ("single", "INV-2", "paid"),
    ]
    listed, _ = await batches.list_batches(actor)
    assert [(b["file_name"], b["total_data"], b["total_amount"], b["invalid_data"]) for b in listed] == [
        ("march-fixed.csv", 2, 175_000, 0),
        ("march.csv", 7, 304_000, 6),
    ]


async def test_a_registration_file_creates_billings_with_their_schedules(db: str) -> None:
    actor, _ = await billing_business()
    await services.create_customer(actor, customer_id="CUST-R", name="Rina")
    template = batches.template_xlsx("registration")
    header = batches.read_rows(template, "t.xlsx")[0]
    assert header == list(batches.COLUMNS["registration"])
    content = csv_of(
        "customer_id,billing_number,amount,type,schedule_type,day,weekdays,months,dates",
        'CUST-R,BIL-R1,99000,recurring,date,5,,"1,2,3",',
        "CUST-R,BIL-R2,99000,reminder,day,,0,12,",
        "CUST-R,BIL-R3,99000,recurring,date,30,,1,",
        "CUST-X,BIL-R4,99000,recurring,,,,,",
        "CUST-R,BIL-R1,99000,recurring,,,,,",
    )
    batch_id = await batches.upload(actor, "registration", "reg.csv", content)
    rows = await batches.batch_rows(actor, batch_id)
    assert [bool(r["errors"]) for r in rows] == [False, False, True, True, True]
    good = await batches.upload(
        actor, "registration", "reg2.csv", b"\n".join(content.split(b"\n")[:3]) + b"\n"
    )
    await batches.process(actor, good)
    r1 = await services.get_billing(actor, "BIL-R1")
    assert r1.schedule_type == "date" and all(
        d.day == 5 and d.month in (1, 2, 3) for d in r1.next_execute_dates
    )
    r2 = await services.get_billing(actor, "BIL-R2")
    assert r2.type == "reminder" and all(d.weekday() == 0 and d.month == 12 for d in r2.next_execute_dates)


async def test_charges_of_billings_from_a_registration_file_are_found_by_its_type_and_name(db: str) -> None:
    """A billing created by a Registration file remembers the file; the run's charges carry it, so All
    Report finds them by Batch Type Registration and by CSV File Name (and a billing added by hand not)."""
    actor, business = await billing_business()
    await services.create_customer(actor, customer_id="CUST-RR", name="Rina")
    today = common.today().isoformat()
    content = csv_of(
        "customer_id,billing_number,amount,type,schedule_type,day,weekdays,months,dates",
        f"CUST-RR,BIL-RR1,99000,recurring,full_date,,,,{today}",
        f"CUST-RR,BIL-RR2,45000,reminder,full_date,,,,{today}",
    )
    batch_id = await batches.upload(actor, "registration", "june-registration.csv", content)
    assert await batches.process(actor, batch_id) == 2
    await customer_and_billing(actor, "BIL-HAND", schedule={"schedule_type": "full_date", "dates": [today]})
    assert await sql.fetchval(
        "SELECT array_agg(billing_number ORDER BY billing_number) FROM billing WHERE business_id = $1 "
        "AND batch_id = $2",
        business.id,
        batch_id,
    ) == ["BIL-RR1", "BIL-RR2"]
    await services.run_billing(business_id=business.id)
    for flt in (
        reports.ReportFilter(batch_type="registration"),
        reports.ReportFilter(file_name="june-registration"),
        reports.ReportFilter(batch_type="registration", file_name="june-registration.csv"),
    ):
        page = await reports.report(actor, flt)
        assert sorted(r["billing_number"] for r in page.rows) == ["BIL-RR1", "BIL-RR2"], flt
        assert (page.total_data, page.total_amount) == (2, 144_000)
        assert {r["file_name"] for r in page.rows} == {"june-registration.csv"}
    assert (await reports.report(actor, reports.ReportFilter(file_name="other.csv"))).total_data == 0


async def test_a_registration_file_is_processed_whole_in_one_transaction(db: str) -> None:
    """Every row's billing, its execute dates, its `billing.created` event and activity entry, and the
    batch marked processed, together."""
    actor, business = await billing_business()
    await services.create_customer(actor, customer_id="CUST-W", name="Wati")
    content = csv_of(
        "customer_id,billing_number,amount,type,schedule_type,day,weekdays,months,dates,description",
        'CUST-W,BIL-W1,10.000,recurring,date,5,,"1,2,3,4,5,6,7,8,9,10,11,12",,Gym',
        'CUST-W,BIL-W2,20000,reminder,day,,"0,4",12,,',
        "CUST-W,BIL-W3,30000,recurring,,,,,,No schedule",
    )
    batch_id = await batches.upload(actor, "registration", "whole.csv", content)
    assert await batches.process(actor, batch_id) == 3
    made = await sql.fetch(
        "SELECT billing_number, amount, kind, schedule_type, description, batch_id, status FROM billing "
        "WHERE business_id = $1 ORDER BY billing_number",
        business.id,
    )
    assert [tuple(r) for r in made] == [
        ("BIL-W1", 10_000, "recurring", "date", "Gym", batch_id, "active"),
        ("BIL-W2", 20_000, "reminder", "day", "", batch_id, "active"),
        ("BIL-W3", 30_000, "recurring", None, "No schedule", batch_id, "active"),
    ]
    w1 = await services.get_billing(actor, "BIL-W1")
    assert w1.next_execute_dates and all(d.day == 5 for d in w1.next_execute_dates)
    w2 = await services.get_billing(actor, "BIL-W2")
    assert w2.next_execute_dates and all(d.weekday() in (0, 4) for d in w2.next_execute_dates)
    assert (await services.get_billing(actor, "BIL-W3")).next_execute_dates == []
    events = await sql.fetchval(
        "SELECT count(*) FROM event WHERE business_id = $1 AND type = 'billing.created'", business.id
    )
    assert events == 3
    actions = await sql.fetch(
        "SELECT action, count(*) AS n FROM activity WHERE business_id = $1 AND action IN "
        "('billing.created', 'billing.batch_processed') GROUP BY action ORDER BY action",
        business.id,
    )
    assert [tuple(r) for r in actions] == [("billing.batch_processed", 1), ("billing.created", 3)]
    assert (await batches.batch_row(actor, batch_id))["status"] == "processed"


async def test_a_registration_file_whose_rows_changed_since_checked_creates_nothing(db: str) -> None:
    """A Billing Number taken meanwhile, a description the billing cannot hold: 409 naming each line and
    why, nothing written, the batch still validated; the corrected file is processed."""
    actor, business = await billing_business()
    await services.create_customer(actor, customer_id="CUST-C", name="Citra")
    long = "x" * 150
    content = csv_of(
        "customer_id,billing_number,amount,type,schedule_type,day,weekdays,months,dates,description",
        "CUST-C,BIL-C1,1000,recurring,date,5,,1,,",
        "CUST-C,BIL-C2,1000,recurring,date,5,,1,,",
        f"CUST-C,BIL-C3,1000,recurring,date,5,,1,,{long}",
    )
    batch_id = await batches.upload(actor, "registration", "changed.csv", content)
    await customer_and_billing(actor, "BIL-C2")  # taken after the file was checked
    before = await sql.fetchval("SELECT count(*) FROM activity WHERE business_id = $1", business.id)
    with pytest.raises(Conflict) as refused:
        await batches.process(actor, batch_id)
    assert refused.value.code == "batch_rows_changed" and refused.value.status == 409
    assert [(e.pointer, e.code) for e in refused.value.errors] == [
        ("/lines/3/billing_number", "duplicate_billing_number"),
        ("/lines/4/description", "too_long"),
    ]
    assert "3" in refused.value.errors[0].detail and "BIL-C2" in refused.value.errors[0].detail
    assert "2" in refused.value.detail
    numbers = await sql.fetch("SELECT billing_number FROM billing WHERE business_id = $1", business.id)
    assert [r["billing_number"] for r in numbers] == ["BIL-C2"]
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM billing_execute_date e JOIN billing b ON b.business_id = e.business_id "
            "AND b.id = e.billing_id WHERE b.business_id = $1 AND b.billing_number <> 'BIL-C2'",
            business.id,
        )
        == 0
    )
    assert (await batches.batch_row(actor, batch_id))["status"] == "validated"
    assert await sql.fetchval("SELECT count(*) FROM activity WHERE business_id = $1", business.id) == before
    fixed = await batches.upload(
        actor,
        "registration",
        "changed-2.csv",
        content.replace(b"BIL-C2", b"BIL-C4").replace(long.encode(), b"fine"),
    )
    assert await batches.process(actor, fixed) == 3
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM billing WHERE business_id = $1 AND batch_id = $2", business.id, fixed
        )
        == 3
    )


async def test_a_billing_number_taken_by_a_transaction_open_during_processing_refuses_the_file(
    db: str,
) -> None:
    """The lookup does not see a billing another transaction has inserted but not committed; the insert
    waits for it and, once committed, skips that row: the file is refused and the billings the insert
    already wrote are rolled back with the batch's claim."""
    actor, business = await billing_business()
    customer = await services.create_customer(actor, customer_id="CUST-O", name="Ona")
    content = csv_of(
        "customer_id,billing_number,amount,schedule_type,day,months",
        "CUST-O,BIL-O1,1000,date,5,1",
        "CUST-O,BIL-O2,1000,date,5,1",
        "CUST-O,BIL-O3,1000,date,5,1",
    )
    batch_id = await batches.upload(actor, "registration", "open.csv", content)
    other = await sql.engine().get_new_connection()
    try:
        await other.execute("BEGIN")
        inserted = await other.execute(
            "INSERT INTO billing (business_id, id, customer_id, billing_number, account_id, amount) "
            "VALUES ($1, $2, $3, 'BIL-O2', $4, 1000)",
            business.id,
            new_id("bil"),
            customer.id,
            (await accounts.main_account(actor)).id,
        )
        assert inserted == "INSERT 0 1"
        processing = asyncio.create_task(batches.process(actor, batch_id))
        async with asyncio.timeout(30):
            while not await sql.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'INSERT INTO billing %' AND pid <> pg_backend_pid()"
            ):
                assert not processing.done()
                await asyncio.sleep(0.05)
        await other.execute("COMMIT")
        with pytest.raises(Conflict) as refused:
            await processing
    finally:
        await other.close()
    assert [(e.pointer, e.code) for e in refused.value.errors] == [
        ("/lines/3/billing_number", "duplicate_billing_number")
    ]
    numbers = await sql.fetch("SELECT billing_number FROM billing WHERE business_id = $1", business.id)
    assert [r["billing_number"] for r in numbers] == ["BIL-O2"]
    assert (await batches.batch_row(actor, batch_id))["status"] == "validated"


async def test_a_transaction_file_whose_invoice_number_was_taken_meanwhile_charges_nothing(db: str) -> None:
    actor, business = await billing_business()
    billing = await customer_and_billing(actor, "BIL-T1")
    await register_card(actor, billing.id)
    today = common.today().isoformat()
    header = "billing_number,invoice_number,amount,execute_date"
    first = await batches.upload(
        actor,
        "transaction",
        "a.csv",
        csv_of(header, f"BIL-T1,INV-A,1000,{today}", f"BIL-T1,INV-B,1000,{today}"),
    )
    second = await batches.upload(actor, "transaction", "b.csv", csv_of(header, f"BIL-T1,INV-B,500,{today}"))
    assert await batches.process(actor, second) == 1
    with pytest.raises(Conflict) as refused:
        await batches.process(actor, first)
    assert refused.value.code == "batch_rows_changed"
    assert [(e.pointer, e.code) for e in refused.value.errors] == [
        ("/lines/3/invoice_number", "duplicate_invoice_number")
    ]
    charges = await sql.fetch(
        "SELECT invoice_number, amount FROM billing_charge WHERE business_id = $1", business.id
    )
    assert [tuple(r) for r in charges] == [("INV-B", 500)]
    assert (await batches.batch_row(actor, first))["status"] == "validated"


async def test_a_file_of_only_a_header_or_blank_rows_is_kept_with_no_rows(db: str) -> None:
    """Its record holds no row (one read by COPY, one by Python): nothing to show, nothing processed."""
    actor, business = await billing_business()
    for content in (
        b"billing_number,invoice_number,amount\n",
        b"billing_number,invoice_number,amount\n,,\n\n",
    ):
        batch_id = await batches.upload(actor, "transaction", "empty.csv", content)
        batch = await batches.batch_row(actor, batch_id)
        assert (batch["total_data"], batch["invalid_data"], batch["total_amount"]) == (0, 0, 0)
        assert await batches.batch_rows(actor, batch_id) == []
        assert await batches.process(actor, batch_id) == 0
    assert await sql.fetchval("SELECT count(*) FROM billing_charge WHERE business_id = $1", business.id) == 0


async def test_files_that_are_not_csv_or_xlsx_or_too_large_are_refused(db: str) -> None:
    actor, _ = await billing_business()
    for name, content, code in (
        ("a.txt", b"x", "invalid_file"),
        ("a.xlsx", b"not a zip", "invalid_file"),
        ("a.csv", b"x" * (batches.MAX_BYTES + 1), "file_too_large"),
        ("a.csv", b"", "empty_file"),
        ("a.csv", b"foo,bar\n1,2\n", "missing_columns"),
        ("a.csv", b"billing_number,invoice_number,amount\nA\rB,1,2\n", "invalid_file"),
        ("a.csv", b"billing_number,invoice_number,amount\n\xff,1,2\n", "invalid_file"),  # not UTF-8
    ):
        with pytest.raises(ValidationFailed) as refused:
            await batches.upload(actor, "transaction", name, content)
        assert refused.value.code == code, name
    assert await sql.fetchval("SELECT count(*) FROM billing_batch") == 0


async def test_a_file_holding_every_separator_character_is_refused_whole(db: str) -> None:
    """A file whose cells hold every character its record could be joined with (the usual separators
    and every one from U+E000 up: over a million distinct characters) is refused with a specific error,
    nothing written."""
    actor, _ = await billing_business()
    every = "".join(chr(c) for c in range(0xE000, 0x110000))
    content = csv_of(
        "billing_number,invoice_number,amount,execute_date,description",
        f"BIL-E1,INV-E1,1000,2030-01-01,x{frames._SEPARATORS}x",
        f"BIL-E1,INV-E2,1000,2030-01-01,{every}",
    )
    assert len(content) <= batches.MAX_BYTES
    with pytest.raises(ValidationFailed) as refused:
        await batches.upload(actor, "transaction", "every.csv", content)
    assert refused.value.code == "unreadable_file"
    assert await sql.fetchval("SELECT count(*) FROM billing_batch") == 0
    assert await sql.fetchval("SELECT count(*) FROM billing_batch_file") == 0


async def test_the_upload_page_highlights_bad_rows(client: Any) -> None:
    business, owner = await make_business()
    await signed_in_client(client, owner)
    page = await client.get("/billing/batches")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    token = csrf_from(page.text)
    content = csv_of("billing_number,invoice_number,amount,execute_date", "NOPE,INV-1,1000,2020-01-01")
    posted = await client.post(
        "/billing/batches",
        data={"_csrf_token": token, "kind": "transaction"},
        files={"file": ("bad.csv", content, "text/csv")},
    )
    assert posted.status_code == 303, posted.text[:500]
    detail = await client.get(posted.headers["location"])
    assert 'class="batch-row--invalid"' in detail.text and "Re-upload file" in detail.text
    assert 'action="/billing/batches/' not in detail.text  # no Process while rows are invalid
    template = await client.get("/billing/templates/transaction.csv")
    assert template.status_code == 200 and template.text.startswith("billing_number,invoice_number")
    report = await client.get("/billing/batches")
    assert "bad.csv" in report.text
    assert json.dumps(business.id)


async def test_the_page_names_the_lines_that_changed_since_the_file_was_checked(client: Any) -> None:
    business, owner = await make_business()
    await signed_in_client(client, owner)
    from portal.domains.identity.auth import user_actor

    actor = user_actor(owner, business)
    await services.create_customer(actor, customer_id="CUST-P", name="Putri")
    content = csv_of(
        "customer_id,billing_number,amount,schedule_type,day,months",
        "CUST-P,BIL-P1,1000,date,5,1",
        "CUST-P,BIL-P2,1000,date,5,1",
    )
    batch_id = await batches.upload(actor, "registration", "page.csv", content)
    await customer_and_billing(actor, "BIL-P2")
    page = await client.get(f"/billing/batches/{batch_id}")
    posted = await client.post(
        f"/billing/batches/{batch_id}/process", data={"_csrf_token": csrf_from(page.text)}
    )
    assert posted.status_code == 422, posted.text[:500]
    assert 'id="batch-problems"' in posted.text and "BIL-P2" in posted.text
    assert "Line 3" in posted.text and 'action="/billing/batches/' in posted.text  # still processable
    assert (await batches.batch_row(actor, batch_id))["status"] == "validated"
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM billing WHERE business_id = $1 AND batch_id = $2", business.id, batch_id
        )
        == 0
    )


async def test_batches_over_the_api(client: Any) -> None:
    import base64

    from portal.domains.identity import roles
    from tests.support.ledger import make_api

    api, business = await make_api(client, frozenset(roles.ALL_RIGHTS))
    assert (
        await api.call("POST", "/api/v1/customers", {"customer_id": "C-API", "name": "Budi"})
    ).status_code == 201
    content = csv_of(
        "customer_id,billing_number,amount,schedule_type,day,months", 'C-API,B-API,5000,date,7,"1,7"'
    )
    body = {
        "kind": "registration",
        "file_name": "reg.csv",
        "content_base64": base64.b64encode(content).decode(),
    }
    made = await api.call("POST", "/api/v1/billing-batches", body)
    assert made.status_code == 201, made.text
    batch = made.json()
    assert (batch["total_data"], batch["invalid_data"], batch["rows"][0]["errors"]) == (1, 0, [])
    listed = await api.call("GET", "/api/v1/billing-batches")
    assert [b["id"] for b in listed.json()["data"]] == [batch["id"]]
    done = await api.call("POST", f"/api/v1/billing-batches/{batch['id']}/process")
    assert done.status_code == 200 and done.json()["status"] == "processed"
    again = await api.call("POST", f"/api/v1/billing-batches/{batch['id']}/process")
    assert again.status_code == 409 and again.json()["code"] == "batch_processed"
    assert (await api.call("GET", "/api/v1/billings/B-API")).json()["schedule"] == {
        "day": 7,
        "months": [1, 7],
    }
    # A Billing Number taken between the upload and the processing: 409 naming the line, nothing made.
    late = csv_of("customer_id,billing_number,amount", "C-API,B-API2,5000")
    second = await api.call(
        "POST", "/api/v1/billing-batches", {**body, "content_base64": base64.b64encode(late).decode()}
    )
    assert second.json()["invalid_data"] == 0
    made_by_hand = {"customer_id": "C-API", "billing_number": "B-API2", "amount": 1}
    assert (await api.call("POST", "/api/v1/billings", made_by_hand)).status_code == 201
    changed = await api.call("POST", f"/api/v1/billing-batches/{second.json()['id']}/process")
    assert changed.status_code == 409 and changed.json()["code"] == "batch_rows_changed", changed.text
    assert [(e["pointer"], e["code"]) for e in changed.json()["errors"]] == [
        ("/lines/2/billing_number", "duplicate_billing_number")
    ]
    again = await api.call("GET", f"/api/v1/billing-batches/{second.json()['id']}")
    assert again.json()["status"] == "validated"
    bad = await api.call("POST", "/api/v1/billing-batches", {**body, "content_base64": "%%%"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/content_base64"
    other, _ = await make_api(client, frozenset(roles.ALL_RIGHTS))
    assert (await other.call("GET", f"/api/v1/billing-batches/{batch['id']}")).status_code == 404
    assert business.id


async def test_an_upload_with_no_spare_connection_does_its_lookups_on_its_own(db: str) -> None:
    """With every other pooled connection held, the upload looks up the customers and Billing Numbers
    on its own connection after writing the record (waiting for a second one could wait forever once
    every connection is held by such uploads): the same rows and reasons as with a spare one."""
    actor, _ = await billing_business()
    await services.create_customer(actor, customer_id="CUST-S", name="Sari")
    await customer_and_billing(actor, "BIL-TAKEN")
    lines = [
        "customer_id,billing_number,amount,type,schedule_type,day,months",
        "CUST-S,{p}1,1000,recurring,date,5,2",
        "CUST-NONE,{p}2,1000,recurring,date,5,2",
        "CUST-S,BIL-TAKEN,1000,weekly,date,5,2",
    ]

    async def uploaded(prefix: str) -> list[tuple[int, list[str]]]:
        content = csv_of(*(line.format(p=prefix) for line in lines))
        batch_id = await asyncio.wait_for(batches.upload(actor, "registration", "s.csv", content), 30)
        return [
            (r["line"], [e["field"] for e in r["errors"]]) for r in await batches.batch_rows(actor, batch_id)
        ]

    alone = await with_one_connection_free(uploaded("BIL-A"))
    assert alone == await uploaded("BIL-B")
    assert alone == [(2, []), (3, ["customer_id"]), (4, ["billing_number", "type"])]


async def _upload_both_ways(actor: Any, content: bytes, name: str) -> tuple[str, str]:
    """The batches of a CSV uploaded as it is and with a blank row longer than its header appended: polars
    could read that one otherwise than the csv module, so Python reads it."""
    newline = b"\r\n" if content.endswith(b"\r\n") else b"\n"
    ragged = content + b"," * 12 + newline
    assert frames.csv_frame(ragged, max_rows=batches.MAX_ROWS) is None
    return (
        await batches.upload(actor, "registration", name, content),
        await batches.upload(actor, "registration", f"ragged-{name}", ragged),
    )


async def test_a_csv_read_by_polars_gets_the_rows_and_reasons_python_reading_gives(db: str) -> None:
    """A CSV is read by polars; one polars could read otherwise (here a blank row longer than the
    header) is read in Python. Both readings keep the same rows with the same reasons: trimmed cells,
    quoted fields, a header in another order with an extra column, all-blank rows left out of the
    numbering, schedule cells padded with spaces judged trimmed."""
    actor, _ = await billing_business()
    await services.create_customer(actor, customer_id="CUST-Q", name="Rina")
    lines = [
        "Months,extra,customer_id,Billing Number,amount,schedule_type,day,type",
        '"1,2,3",x, CUST-Q ,\tBIL-Q1\u00a0,99000,date,5,recurring',
        ",,,,,,,",
        '12,"a ""quoted"" note",CUST-Q,BIL-Q2,=1+1,date,30,reminder',
        "1,,CUST-NONE,BIL-Q1,-5,day,,Recurring",
        "2,,CUST-Q,BIL-Q3,1.000,date,7,weekly",
        "2,,CUST-Q,BIL-Q5,1000, date ,\u00a031\t,Reminder",
        "2,,CUST-Q,BIL-Q6,1000,date , 28,RECURRING",
    ]
    content = ("\r\n".join(lines) + "\r\n").encode()
    assert frames.csv_frame(content, max_rows=batches.MAX_ROWS) is not None
    by_copy, by_python = await _upload_both_ways(actor, content, "q.csv")
    copied, read = await batches.batch_rows(actor, by_copy), await batches.batch_rows(actor, by_python)
    assert copied == read
    assert [r["line"] for r in copied] == [2, 3, 4, 5, 6, 7]
    assert copied[0]["data"]["billing_number"] == "BIL-Q1" and copied[0]["data"]["months"] == "1,2,3"
    assert [[e["field"] for e in r["errors"]] for r in copied] == [
        [],
        ["amount", "amount", "schedule_type"],
        ["amount", "amount", "customer_id", "schedule_type", "billing_number"],
        ["type"],
        ["schedule_type"],  # day 31, read trimmed: not in every month
        [],
    ]
    assert copied[5]["data"]["day"] == "28" and copied[5]["data"]["type"] == "RECURRING"


async def test_a_csv_without_quotes_is_read_alike_whether_its_cells_need_trimming_or_not(db: str) -> None:
    """An ASCII CSV without quotes whose cells all start and end with a printable character, and one
    with padded cells (a tab, an information separator Python strips): polars reading and Python
    reading give the same rows."""
    actor, _ = await billing_business()
    await services.create_customer(actor, customer_id="CUST-T", name="Tono")
    clean = [
        "customer_id,billing_number,amount,type,schedule_type,day,months,description",
        "CUST-T,BIL-T1,5000,recurring,date,5,2,Plan A",
        "CUST-T,BIL-T1,=5,Reminder,date,31,2,",
        ",,,,,,,",
        "CUST-NONE,BIL-T2,0,weekly,day,,,x",
    ]
    padded = [*clean[:2], "CUST-T,BIL-T3 ,5000,recurring,date,\x1f7,2,Plan\tB\t", *clean[2:]]
    for lines in (clean, padded):
        content = ("\r\n".join(lines) + "\r\n").encode()
        assert frames.csv_frame(content, max_rows=batches.MAX_ROWS) is not None
        by_copy, by_python = await _upload_both_ways(actor, content, "t.csv")
        copied, read = await batches.batch_rows(actor, by_copy), await batches.batch_rows(actor, by_python)
        assert copied == read
        copied_batch, read_batch = (
            await batches.batch_row(actor, by_copy),
            await batches.batch_row(actor, by_python),
        )
        assert [copied_batch[k] for k in ("total_data", "invalid_data", "total_amount")] == [
            read_batch[k] for k in ("total_data", "invalid_data", "total_amount")
        ]
    assert [r["data"]["billing_number"] for r in copied] == ["BIL-T1", "BIL-T3", "BIL-T1", "BIL-T2"]
    assert [r["data"]["day"] for r in copied[:2]] == ["5", "7"] and copied[1]["data"][
        "description"
    ] == "Plan\tB"
    assert [[e["field"] for e in r["errors"]] for r in copied] == [
        [],
        [],
        ["amount", "amount", "schedule_type", "billing_number"],
        ["amount", "customer_id", "type", "schedule_type"],
    ]


async def test_cells_are_kept_as_typed_whatever_they_hold(db: str) -> None:
    """A cell holding the character that joins a column for PostgreSQL (another one is then taken), a
    formula (kept quoted), a one-row file (its columns of one value each): read back as typed, by
    polars reading and by Python reading alike."""
    actor, _ = await billing_business()
    await services.create_customer(actor, customer_id="CUST-S", name="Sari")
    lines = [
        "customer_id,billing_number,amount,description",
        "CUST-S,BIL-S1,5000,a\x1fb",
        "CUST-S,BIL-S2,5000,=SUM(A1)",
        "CUST-S,BIL-S3,5000,c\x1ed\x1fe",
    ]
    content = ("\n".join(lines) + "\n").encode()
    polars_batch, python_batch = await _upload_both_ways(actor, content, "s.csv")
    by_polars = await batches.batch_rows(actor, polars_batch)
    by_python = await batches.batch_rows(actor, python_batch)
    assert by_polars == by_python
    assert [r["data"]["description"] for r in by_polars] == ["a\x1fb", "'=SUM(A1)", "c\x1ed\x1fe"]
    assert [[e["field"] for e in r["errors"]] for r in by_polars] == [[], ["description"], []]
    one = await batches.batch_rows(
        actor, await batches.upload(actor, "registration", "one.csv", ("\n".join(lines[:2]) + "\n").encode())
    )
    assert [(r["line"], r["data"]["billing_number"], r["data"]["description"]) for r in one] == [
        (2, "BIL-S1", "a\x1fb")
    ]


async def test_a_column_of_one_value_is_kept_once_and_read_on_every_row(db: str) -> None:
    """Each column of a file's record is one text: a column whose cells are all the same is that one
    cell, read back on every line (the page, the API, processing); any other its cells joined by the
    record's separator. The record refuses a column of another length."""
    actor, _ = await billing_business()
    await services.create_customer(actor, customer_id="CUST-O", name="Oka")
    content = csv_of(
        "customer_id,billing_number,amount,type,schedule_type,day,months",
        "CUST-O,BIL-O1,5000,recurring,date,5,2",
        "",
        "CUST-O,BIL-O2,5000,recurring,date,5,3",
        "CUST-O,BIL-O3,5000,recurring,date,5,4",
    )
    batch_id = await batches.upload(actor, "registration", "o.csv", content)
    stored = await sql.fetchrow(
        "SELECT lines, separator, customer_id, billing_number, amount, type, months, description, "
        "invoice_number FROM billing_batch_file WHERE business_id = $1 AND batch_id = $2",
        actor.business_id,
        batch_id,
    )
    assert stored["lines"] == [2, 3, 4]  # a blank row is left out, not numbered
    assert (stored["customer_id"], stored["amount"], stored["type"], stored["description"]) == (
        "CUST-O",
        "5000",
        "recurring",
        "",
    )
    sep = stored["separator"]
    assert sep == "\x1f" and stored["invoice_number"] is None  # a column a Registration file lacks
    assert stored["billing_number"] == sep.join(["BIL-O1", "BIL-O2", "BIL-O3"])
    assert stored["months"] == sep.join(["2", "3", "4"])
    rows = await batches.batch_rows(actor, batch_id)
    assert [(r["line"], r["data"]["billing_number"], r["data"]["type"], r["data"]["day"]) for r in rows] == [
        (2, "BIL-O1", "recurring", "5"),
        (3, "BIL-O2", "recurring", "5"),
        (4, "BIL-O3", "recurring", "5"),
    ]
    assert await batches.process(actor, batch_id) == 3
    created = await sql.fetch(
        "SELECT billing_number, amount FROM billing WHERE business_id = $1 AND billing_number LIKE 'BIL-O%' "
        "ORDER BY billing_number",
        actor.business_id,
    )
    assert [(r["billing_number"], r["amount"]) for r in created] == [
        ("BIL-O1", 5000),
        ("BIL-O2", 5000),
        ("BIL-O3", 5000),
    ]
    for wrong in ("recurring" + sep + "reminder", sep.join(["a", "b", "c", "d"])):
        with pytest.raises(asyncpg.CheckViolationError):
            await sql.execute(
                "UPDATE billing_batch_file SET type = $3 WHERE business_id = $1 AND batch_id = $2",
                actor.business_id,
                batch_id,
                wrong,
            )


async def test_a_file_whose_cells_hold_every_usual_separator_is_kept_and_read_alike(db: str) -> None:
    """When every usual separator character is typed in a cell somewhere in the file, the record's
    columns are joined by a character no cell holds (from the private use area), and read back exactly."""
    actor, _ = await billing_business()
    await services.create_customer(actor, customer_id="CUST-S", name="Sari")
    taken = "\x1f\x1e\x1d\x1c\x1b\x1a\x19\x18\x17\x16\x15\x14\ufdd0\ufdd1"
    descriptions = [f"note {c} {n}" for n, c in enumerate(taken)]
    content = csv_of(
        "customer_id,billing_number,amount,type,schedule_type,day,description",
        *(f"CUST-S,BIL-S{n},5000,recurring,date,5,{d}" for n, d in enumerate(descriptions)),
    )
    batch_id = await batches.upload(actor, "registration", "s.csv", content)
    separator = await sql.fetchval(
        "SELECT separator FROM billing_batch_file WHERE business_id = $1 AND batch_id = $2",
        actor.business_id,
        batch_id,
    )
    assert separator == "\ue000"
    rows = await batches.batch_rows(actor, batch_id)
    assert [r["data"]["description"] for r in rows] == descriptions
    assert [r["data"]["billing_number"] for r in rows] == [f"BIL-S{n}" for n in range(len(taken))]


async def test_reasons_are_written_in_the_uploaders_language(db: str) -> None:
    """The rules run in threads and the lookups on a second connection: the reasons are still in the
    language of the request (Bahasa Indonesia here), the Python rules' ones too."""
    actor, _ = await billing_business()
    await services.create_customer(actor, customer_id="CUST-L", name="Lina")
    content = csv_of("customer_id,billing_number,amount,schedule_type", "CUST-L,BIL-L1,=1,weekly")
    token = i18n.current_language.set("id")
    try:
        rows = await batches.batch_rows(actor, await batches.upload(actor, "registration", "l.csv", content))
    finally:
        i18n.current_language.reset(token)
    assert [e["message"] for e in rows[0]["errors"]] == [
        "Formula tidak diizinkan di dalam sel.",
        "Jumlah harus berupa bilangan bulat rupiah di atas nol.",
        "Tipe jadwal adalah Tanggal, Hari, atau Tanggal Penuh.",
    ]


async def test_the_reference_lookups_are_planned_with_their_keys_at_every_upload(db: str) -> None:
    """A lookup's keys are one array built from parameters, hashed only when folded into a constant at
    planning: PostgreSQL may keep one generic plan for a prepared statement from its sixth execution, and
    each row would then test every key in turn (0.5 s a lookup of 100,000 keys). The lookups are planned
    with their keys every time, inside a transaction and on their own, and leave no setting behind."""
    actor, _ = await billing_business()
    for n in range(20):
        await customer_and_billing(actor, f"BIL-P{n:03d}")
    keys = pl.Series([f"BIL-P{n:03d}" for n in range(0, 400, 2)])
    lookups = batches._lookups(
        "registration",
        pl.DataFrame({"customer_id": keys, "billing_number": keys}),
        None,
    )
    taken = lookups["taken"]
    assert taken is not None

    async def plans(conn: Any) -> tuple[int, int]:
        row = await conn.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1",
            taken[0],
        )
        return (row["generic_plans"], row["custom_plans"])

    async with sql.connection() as conn:
        for _ in range(4):
            found = await batches._existing(conn, actor.business_id, taken)
            assert sorted(r[0] for r in found) == [f"BIL-P{n:03d}" for n in range(0, 20, 2)]
        async with conn.transaction():
            for _ in range(4):
                assert len(await batches._existing(conn, actor.business_id, taken)) == 10
            assert await conn.fetchval("SELECT current_setting('plan_cache_mode')") == "auto"
        assert await plans(conn) == (0, 8)
        assert await conn.fetchval("SELECT current_setting('plan_cache_mode')") == "auto"
        # The case it guards against: the same statement fetched plainly turns generic.
        for _ in range(8):
            await conn.fetch(taken[0], actor.business_id, *taken[1])
        assert (await plans(conn))[0] > 0
