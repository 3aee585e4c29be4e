"""The payments pages: create by the form (errors on their fields), list with filters and search, the
detail with its timeline, settlement batch page and exports, settings and split activation, and the
Reconciled Transactions report's Settlement Configuration (dry run, save, indicator, reset)."""

from __future__ import annotations

from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.payments import services
from portal.lib import sql
from portal.lib.actor import system_actor
from tests.support.accounts import owner_client, post_form
from tests.support.payments import business_day_today
from tests.support.provider import Harness


async def test_create_list_detail_and_settle_through_the_pages(harness: Harness, client: Any) -> None:
    business, _owner, main = await owner_client(client)
    form = await client.get("/payments/new")
    assert form.status_code == 200 and 'id="payment-form"' in form.text
    bad = await post_form(
        client,
        "/payments",
        {"account_id": main, "amount": "0", "channel": "va", "bank_code": "014", "invoice_number": "WEB-1"},
        "/payments/new",
    )
    assert bad.status_code == 422 and 'id="f-amount-error"' in bad.text
    created = await post_form(
        client,
        "/payments",
        {
            "account_id": main,
            "amount": "150000",
            "channel": "va",
            "bank_code": "014",
            "invoice_number": "WEB-1",
            "customer_name": "Budi Santoso",
        },
        "/payments/new",
    )
    assert created.status_code == 303, created.text[:500]
    url = created.headers["location"]
    detail = await client.get(url)
    assert detail.status_code == 200 and "WEB-1" in detail.text and 'id="payment-timeline"' in detail.text
    paid = await post_form(client, f"{url}/simulate-payment", {}, url)
    assert paid.status_code == 303
    assert (await sql.fetchval("SELECT status FROM payment WHERE business_id = $1", business.id)) == "paid"
    listing = await client.get("/payments?status=paid&q=WEB")
    assert listing.status_code == 200 and "WEB-1" in listing.text
    assert "WEB-1" not in (await client.get("/payments?status=expired")).text
    (stl,) = await services.create_batches(business.id, await business_day_today())
    await services.apply_batch(business.id, stl)
    batch = await client.get(f"/payments/settlements/{stl}")
    assert batch.status_code == 200 and "WEB-1" in batch.text
    csv = await client.get(f"/payments/settlements/{stl}/export?format=csv")
    assert csv.status_code == 200 and "WEB-1" in csv.text and ",146000" in csv.text
    xlsx = await client.get(f"/payments/settlements/{stl}/export?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert stl in (await client.get("/payments/settlements")).text
    statement = await client.get(f"/accounts/{main}")
    assert statement.status_code == 200
    home = await client.get("/")
    assert 'id="dash-payments"' in home.text and 'data-figure="payments-va"' in home.text


async def test_settlement_configuration_pop_up(harness: Harness, client: Any) -> None:
    business, _owner, main = await owner_client(client)
    settings = await client.get("/payments/settings")
    assert settings.status_code == 200
    assert (
        await post_form(client, "/payments/settings/split-service", {}, "/payments/settings")
    ).status_code == 303
    assert "UPDATING" in (await client.get("/payments/settings")).text
    # Asking again before the provider's review changes nothing; the simulator's control verifies it.
    again = await post_form(client, "/payments/settings/split-service/refresh", {}, "/payments/settings")
    assert again.status_code == 303 and "UPDATING" in (await client.get("/payments/settings")).text
    await harness.control("POST", f"/control/api/services/{business.id}/split_settlement/verify")
    again = await post_form(client, "/payments/settings/split-service/refresh", {}, "/payments/settings")
    assert again.status_code == 303
    assert "ACTIVE" in (await client.get("/payments/settings")).text
    x = await accounts.create_account(
        system_actor(business.id), name="Cabang X", kind="partner", parent_id=main
    )
    y = await accounts.create_account(
        system_actor(business.id), name="Cabang Y", kind="partner", parent_id=main
    )
    from portal.domains.payments.services.payments import PaymentRequest

    payment = await services.create_payment(
        system_actor(business.id),
        PaymentRequest(
            account_id=main,
            amount=100_000,
            channel="va",
            bank_code="014",
            invoice_number="REC-1",
            customer_name="A",
        ),
    )
    await services.simulate_payment(system_actor(business.id), payment.id)
    report = await client.get("/reports/reconciled?status=paid&invoice=REC-1")
    assert report.status_code == 200 and "REC-1" in report.text and "split-indicator" not in report.text
    popup = await client.get(
        f"/reports/reconciled/{payment.id}/configuration", headers={"HX-Request": "true"}
    )
    assert popup.status_code == 200 and 'id="configuration-form"' in popup.text
    base = f"/reports/reconciled/{payment.id}/configuration"
    rows = {
        "split_by": "percent",
        "dest_0": f"account:{x.id}",
        "value_0": "60",
        "dest_1": f"account:{y.id}",
        "value_1": "40",
    }
    over = await post_form(client, base, {**rows, "value_1": "41", "op": "save"}, "/reports/reconciled")
    assert over.status_code == 422 and "100" in over.text
    dry = await post_form(client, base, {**rows, "op": "preview"}, "/reports/reconciled")
    assert dry.status_code == 200 and 'id="dry-run"' in dry.text
    assert "57,600" in dry.text and "38,400" in dry.text  # 96,000 split 60/40
    assert await sql.fetchval("SELECT split FROM payment WHERE business_id = $1", business.id) is None
    saved = await post_form(client, base, {**rows, "op": "save"}, "/reports/reconciled")
    assert saved.status_code == 200, saved.text[:500]
    assert "split-indicator" in (await client.get("/reports/reconciled?split=yes")).text
    reset = await post_form(client, base, {**rows, "op": "reset"}, "/reports/reconciled")
    assert reset.status_code == 200 and "destination-row" not in reset.text
    cancelled = await post_form(client, base, {"split_by": "percent", "op": "save"}, "/reports/reconciled")
    assert cancelled.status_code == 200
    assert await sql.fetchval("SELECT split FROM payment WHERE business_id = $1", business.id) is None
