"""Plans, subscriptions and invoices over the signed JSON API: the bad input of the request refused with
a specific 422 and its field pointer (nothing written), usage lines, the dry run, void, credit note and
write-off, the PDF, and isolation (another business's objects are 404, a division's key sees its own)."""

from __future__ import annotations

from datetime import date
from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.invoices import services as invoices
from portal.domains.ledger.invariants import check_all
from portal.lib import sql
from tests.support.invoices import on_day
from tests.support.ledger import Api, fund, make_api

RIGHTS = frozenset({"accounts:manage", "transfers:manage", "invoices:manage"})


async def _setup(client: Any) -> tuple[Api, Any, Any, str, str]:
    api, business = await make_api(client, RIGHTS)
    owner = await identity.user_by_id(
        await sql.fetchval("SELECT id FROM app_user WHERE business_id = $1 LIMIT 1", business.id)
    )
    assert owner is not None
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    division = await accounts.create_account(actor, name="Divisi Bandung", kind="division", parent_id=main)
    return api, business, actor, main, division.id


async def _count(table: str, business_id: str) -> int:
    return int(await sql.fetchval(f"SELECT count(*) FROM {table} WHERE business_id = $1", business_id))


async def test_bad_input_is_a_specific_422_with_its_field_and_writes_nothing(client: Any) -> None:
    api, business, actor, main, division = await _setup(client)
    plan = {"name": "Royalti", "receiving_account_id": main, "percent": "2.5"}
    cases = [
        ({**plan, "percent": "100.5"}, "percent_above_100", "/percent"),
        ({**plan, "tax_percent": "150"}, "tax_above_100", "/tax_percent"),
        ({**plan, "cycle": "daily"}, "invalid_cycle", "/cycle"),
        ({**plan, "due_days": -1}, "invalid_number", "/due_days"),
        ({**plan, "fixed_amount": -5}, "invalid_number", "/fixed_amount"),
    ]
    for body, code, pointer in cases:
        answer = await api.call("POST", "/api/v1/plans", body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["code"] == code and answer.json()["errors"][0]["pointer"] == pointer, answer.text
    assert await _count("invoice_plan", business.id) == 0
    created = await api.call("POST", "/api/v1/plans", plan)
    assert created.status_code == 201, created.text
    plan_id = created.json()["id"]
    assert created.json()["percent"] == "2.5" and created.json()["tax_percent"] == "11"
    usd = await accounts.create_account(actor, name="USD", kind="partner", parent_id=main, currency="USD")
    subscription = {"plan_id": plan_id, "account_id": division, "starts_on": "2026-01-01"}
    cases = [
        ({**subscription, "cycle_day": 0}, "invalid_number", "/cycle_day"),
        ({**subscription, "cycle_day": 32}, "invalid_number", "/cycle_day"),
        ({**subscription, "ends_on": "2025-12-31"}, "end_before_start", "/ends_on"),
        ({**subscription, "ends_on": "2026-01-01"}, "end_before_start", "/ends_on"),
        ({**subscription, "starts_on": "2026-02-30"}, "invalid_date", "/starts_on"),
        ({**subscription, "account_id": usd.id}, "currency_mismatch", "/account_id"),
        ({**subscription, "account_id": main}, "same_account", "/account_id"),
    ]
    for body, code, pointer in cases:
        answer = await api.call("POST", "/api/v1/subscriptions", body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["code"] == code and answer.json()["errors"][0]["pointer"] == pointer, answer.text
    assert await _count("invoice_subscription", business.id) == 0
    ok = await api.call("POST", "/api/v1/subscriptions", subscription)
    assert ok.status_code == 201, ok.text
    sub_id = ok.json()["data"][0]["id"]
    again = await api.call("POST", "/api/v1/subscriptions", subscription)
    assert again.status_code == 422 and again.json()["code"] == "already_subscribed"
    for quantity in (-3, 0):
        usage = await api.call(
            "POST",
            f"/api/v1/subscriptions/{sub_id}/usage",
            {"description": "API calls", "quantity": quantity, "unit_amount": 100},
        )
        assert usage.status_code == 422 and usage.json()["code"] == "invalid_quantity", usage.text
        assert usage.json()["errors"][0]["pointer"] == "/quantity"
    assert await _count("invoice_usage", business.id) == 0


async def test_usage_lines_the_dry_run_and_a_credit_note(client: Any) -> None:
    api, business, _actor, main, division = await _setup(client)
    await fund(business.id, division, 1_000_000)
    plan = (
        await api.call(
            "POST",
            "/api/v1/plans",
            {"name": "Sewa", "receiving_account_id": main, "fixed_amount": 200_000, "tax_percent": "11"},
        )
    ).json()
    with on_day(date(2026, 1, 1)):
        sub = (
            await api.call(
                "POST",
                "/api/v1/subscriptions",
                {"plan_id": plan["id"], "account_id": division, "starts_on": "2026-01-01"},
            )
        ).json()["data"][0]
    usage = await api.call(
        "POST",
        f"/api/v1/subscriptions/{sub['id']}/usage",
        {"description": "Listrik", "quantity": 3, "unit_amount": 50_000},
    )
    assert usage.status_code == 201 and usage.json()["amount"] == 150_000, usage.text
    preview = (await api.call("GET", f"/api/v1/subscriptions/{sub['id']}/preview")).json()
    assert [line["kind"] for line in preview["lines"]] == ["fixed", "usage"]
    assert (preview["subtotal"], preview["tax"], preview["total"]) == (350_000, 38_500, 388_500)
    assert await _count("invoice", business.id) == 0
    with on_day(date(2026, 2, 1)):
        await invoices.run_cycle(business_id=business.id)
    listing = (await api.call("GET", "/api/v1/invoices")).json()
    (invoice,) = listing["data"]
    assert invoice["status"] == "paid" and invoice["total"] == 388_500 and invoice["number"] == "INV-000001"
    assert (
        await sql.fetchval("SELECT invoice_id FROM invoice_usage WHERE business_id = $1", business.id)
        == invoice["id"]
    )
    pdf = await api.call("GET", f"/api/v1/invoices/{invoice['id']}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    refused = await api.call("POST", f"/api/v1/invoices/{invoice['id']}/void")
    assert refused.status_code == 409 and refused.json()["code"] == "invoice_not_open"
    credited = await api.call("POST", f"/api/v1/invoices/{invoice['id']}/credit", {"reason": "salah tagih"})
    assert credited.status_code == 200, credited.text
    assert credited.json()["status"] == "credited" and credited.json()["credited_amount"] == 388_500
    balance = await sql.fetchval("SELECT credits_posted - debits_posted FROM account WHERE id = $1", division)
    assert balance == 1_000_000
    again = await api.call("POST", f"/api/v1/invoices/{invoice['id']}/credit")
    assert again.status_code == 409
    assert await check_all() == []


async def test_void_and_write_off_of_open_invoices(client: Any) -> None:
    api, business, _actor, main, division = await _setup(client)
    plan = (
        await api.call(
            "POST",
            "/api/v1/plans",
            {"name": "Fee", "receiving_account_id": main, "fixed_amount": 10_000, "cycle": "weekly"},
        )
    ).json()
    with on_day(date(2026, 3, 2)):
        await api.call(
            "POST",
            "/api/v1/subscriptions",
            {"plan_id": plan["id"], "account_id": division, "starts_on": "2026-03-02"},
        )
    with on_day(date(2026, 3, 16)):
        await invoices.run_cycle(business_id=business.id)
    first, second = sorted(
        (await api.call("GET", "/api/v1/invoices?status=open")).json()["data"], key=lambda i: i["number"]
    )
    voided = await api.call("POST", f"/api/v1/invoices/{first['id']}/void")
    assert voided.status_code == 200 and voided.json()["status"] == "void"
    written = await api.call("POST", f"/api/v1/invoices/{second['id']}/write_off")
    assert written.status_code == 200 and written.json()["written_off_amount"] == 11_100
    steps = [s["kind"] for s in (await api.call("GET", f"/api/v1/invoices/{second['id']}")).json()["steps"]]
    assert steps[0] == "issued" and steps[-1] == "written_off" and "payment_failed" in steps


async def test_another_business_gets_404_and_a_division_key_sees_only_its_own(client: Any) -> None:
    api, business, actor, main, division = await _setup(client)
    sibling = await accounts.create_account(actor, name="Divisi Surabaya", kind="division", parent_id=main)
    plan = await invoices.create_plan(actor, name="Fee", receiving_account_id=main, fixed_amount=1_000)
    with on_day(date(2026, 1, 1)):
        await invoices.subscribe(
            actor, plan_id=plan.id, account_id=main, starts_on="2026-01-01", include_descendants=True
        )
    with on_day(date(2026, 2, 1)):
        await invoices.run_cycle(business_id=business.id)
    assert len((await api.call("GET", "/api/v1/invoices")).json()["data"]) == 2
    mine = await invoices.list_invoices(actor, account_id=division)
    theirs = await invoices.list_invoices(actor, account_id=sibling.id)
    scoped_key, secret = await identity.create_api_key(
        actor, name="div", permissions=frozenset({"invoices:view"}), scope_account_id=division
    )
    scoped = Api(client, scoped_key.client_id, secret)
    seen = (await scoped.call("GET", "/api/v1/invoices")).json()["data"]
    assert [i["id"] for i in seen] == [mine.data[0].id]
    assert (await scoped.call("GET", f"/api/v1/invoices/{theirs.data[0].id}")).status_code == 404
    assert (await scoped.call("GET", f"/api/v1/invoices/{mine.data[0].id}/pdf")).status_code == 200
    for query in ("after=%00", "account_id=x%27%20OR%201%3D1", "subscription_id=%E2%80%AE", "status=bogus"):
        refused = await api.call("GET", f"/api/v1/invoices?{query}")
        assert refused.status_code == 422, (query, refused.text)
    other, _ = await make_api(client, RIGHTS)
    for path in (f"/api/v1/invoices/{mine.data[0].id}", f"/api/v1/plans/{plan.id}"):
        answer = await other.call("GET", path)
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"
