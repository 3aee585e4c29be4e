"""The invoices pages: a plan created through the form (bad input shown on its field), a division
subscribed, the dry run on the subscription's page, the invoice page with its steps, the PDF, the
actions, and a division user's view of its own invoices only."""

from __future__ import annotations

from datetime import date
from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.invoices import services as invoices
from portal.domains.invoices.services import reports
from portal.lib import sql
from tests.support.accounts import owner_client, post_form
from tests.support.identity import enrol, signed_in_client
from tests.support.invoices import on_day


async def test_plan_form_subscription_preview_invoice_page_and_pdf(client: Any) -> None:
    business, owner, main = await owner_client(client)
    actor = user_actor(owner, business)
    division = await accounts.create_account(actor, name="Divisi Medan", kind="division", parent_id=main)
    assert (await client.get("/invoices")).status_code == 200
    fields = {
        "name": "Sewa kantor",
        "receiving_account_id": main,
        "cycle": "monthly",
        "fixed_amount": "250000",
    }
    refused = await post_form(client, "/invoices/plans", {**fields, "percent": "120"}, "/invoices/plans")
    assert refused.status_code == 422 and 'id="f-percent-error"' in refused.text
    assert await sql.fetchval("SELECT count(*) FROM invoice_plan WHERE business_id = $1", business.id) == 0
    created = await post_form(client, "/invoices/plans", {**fields, "tax_percent": "11"}, "/invoices/plans")
    assert created.status_code == 303, created.text
    plan_url = created.headers["location"]
    bad_day = await post_form(
        client,
        f"{plan_url}/subscriptions",
        {"account_id": division.id, "starts_on": "2026-01-10", "cycle_day": "32"},
        plan_url,
    )
    assert bad_day.status_code == 422 and 'id="f-cycle_day-error"' in bad_day.text
    subscribed = await post_form(
        client, f"{plan_url}/subscriptions", {"account_id": division.id, "starts_on": "2026-01-10"}, plan_url
    )
    assert subscribed.status_code == 303, subscribed.text
    plan_page = await client.get(plan_url)
    assert "Divisi Medan" in plan_page.text
    sub_id = await sql.fetchval("SELECT id FROM invoice_subscription WHERE business_id = $1", business.id)
    preview = await client.get(f"/invoices/subscriptions/{sub_id}")
    assert preview.status_code == 200 and 'id="preview-period"' in preview.text
    with on_day(date(2026, 2, 10)):
        await invoices.run_cycle(business_id=business.id)
    invoice_id = await sql.fetchval("SELECT id FROM invoice WHERE business_id = $1", business.id)
    listing = await client.get("/invoices?status=open")
    assert invoice_id in listing.text and "INV-000001" in listing.text
    detail = await client.get(f"/invoices/{invoice_id}")
    assert detail.status_code == 200 and 'data-kind="payment_failed"' in detail.text
    pdf = await client.get(f"/invoices/{invoice_id}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    wrong = await post_form(client, f"/invoices/{invoice_id}/credit", {}, f"/invoices/{invoice_id}")
    assert wrong.status_code == 422 or wrong.status_code == 409
    written = await post_form(client, f"/invoices/{invoice_id}/write_off", {}, f"/invoices/{invoice_id}")
    assert written.status_code == 303
    assert await sql.fetchval("SELECT status FROM invoice WHERE id = $1", invoice_id) == "written_off"


async def test_a_division_user_sees_only_its_own_invoices(client: Any) -> None:
    business, owner, main = await owner_client(client)
    actor = user_actor(owner, business)
    mine = await accounts.create_account(actor, name="Divisi Mine", kind="division", parent_id=main)
    other = await accounts.create_account(actor, name="Divisi Other", kind="division", parent_id=main)
    plan = await invoices.create_plan(actor, name="Fee", receiving_account_id=main, fixed_amount=5_000)
    with on_day(date(2026, 1, 1)):
        await invoices.subscribe(
            actor, plan_id=plan.id, account_id=main, starts_on="2026-01-01", include_descendants=True
        )
    with on_day(date(2026, 2, 1)):
        await invoices.run_cycle(business_id=business.id)
    own = (await invoices.list_invoices(actor, account_id=mine.id)).data[0]
    theirs = (await invoices.list_invoices(actor, account_id=other.id)).data[0]
    user = await identity.create_user(
        actor,
        username="divuser",
        full_name="Div User",
        email="d@example.com",
        role="viewer",
        scope_account_id=mine.id,
    )
    await enrol(user.id)
    await signed_in_client(client, user)
    listing = await client.get("/invoices")
    assert listing.status_code == 200 and own.id in listing.text and theirs.id not in listing.text
    assert (await client.get(f"/invoices/{own.id}")).status_code == 200
    assert (await client.get(f"/invoices/{own.id}/pdf")).status_code == 200
    assert (await client.get(f"/invoices/{theirs.id}")).status_code == 404


async def test_reports_age_buckets_by_plan_monthly_chart_and_exports(client: Any) -> None:
    business, owner, main = await owner_client(client)
    actor = user_actor(owner, business)
    late = await accounts.create_account(actor, name="Mitra Telat", kind="partner", parent_id=main)
    plan = await invoices.create_plan(actor, name="Royalti", receiving_account_id=main, fixed_amount=10_000)
    with on_day(date(2026, 1, 1)):
        await invoices.subscribe(actor, plan_id=plan.id, account_id=late.id, starts_on="2026-01-01")
    with on_day(date(2026, 4, 15)):
        await invoices.run_cycle(business_id=business.id)  # January, February and March: nothing paid
        rows = await reports.receivables(actor)
        (row,) = rows
        # Due 1 Feb (73 days late), 1 Mar (45), 1 Apr (14): Rp11.100 each with PPN 11 %.
        assert (row.current, row.days_1_30, row.days_31_60, row.days_61_90, row.over_90) == (
            0,
            11_100,
            11_100,
            11_100,
            0,
        )
        assert row.total == 33_300
        by_plan = await reports.by_plan(actor)
        assert [(p.month, p.invoices, p.billed, p.open) for p in by_plan] == [
            (date(2026, 3, 1), 1, 11_100, 11_100),
            (date(2026, 2, 1), 1, 11_100, 11_100),
            (date(2026, 1, 1), 1, 11_100, 11_100),
        ]
        page = await client.get("/invoices/reports")
    assert page.status_code == 200 and 'id="receivables"' in page.text and 'data-series="billed"' in page.text
    csv_file = await client.get("/invoices/reports/export?report=receivables&fmt=csv")
    assert csv_file.status_code == 200 and "Mitra Telat" in csv_file.text and "33300" in csv_file.text
    xlsx = await client.get("/invoices/reports/export?report=plans&fmt=xlsx")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    pdf = await client.get("/invoices/reports/export?report=monthly&fmt=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    bad = await client.get("/invoices/reports/export?report=secrets&fmt=csv")
    assert bad.status_code == 422
