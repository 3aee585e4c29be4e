"""Browser: the Reconciled Transactions report's Settlement Configuration pop-up — split a paid payment
60/40 between two accounts, dry run, save, see the split indicator under the invoice number, settle it;
on another transaction cancel a split by Reset Configuration and Save. No console errors, no CSP
violations."""

from __future__ import annotations

from typing import Any

import pytest

from portal.domains.accounts import services as accounts
from portal.domains.payments import services
from portal.domains.payments.services.payments import PaymentRequest
from portal.lib import sql
from portal.lib.actor import system_actor
from tests.support.browser import csp_violations, sign_in
from tests.support.identity import make_business, totp_secret
from tests.support.payments import business_day_today, verify_split_service_at_simulator

pytestmark = pytest.mark.browser


async def paid(
    business_id: str, account_id: str, invoice: str, split: list[dict[str, Any]] | None = None
) -> str:
    actor = system_actor(business_id)
    payment = await services.create_payment(
        actor,
        PaymentRequest(
            account_id=account_id,
            amount=100_000,
            channel="va",
            bank_code="014",
            invoice_number=invoice,
            customer_name="Budi Santoso",
            split=split,
        ),
    )
    await services.simulate_payment(actor, payment.id)
    return payment.id


async def test_settlement_configuration_pop_up(page: Any, live_server: str, db: str) -> None:
    base = live_server
    business, owner = await make_business(name="Toko Split E2E")
    actor = system_actor(business.id)
    main = await accounts.ensure_business_accounts(business.id)
    x = await accounts.create_account(actor, name="Cabang Bandung", kind="partner", parent_id=main)
    y = await accounts.create_account(actor, name="Cabang Medan", kind="partner", parent_id=main)
    await services.request_split_service(actor)
    await verify_split_service_at_simulator(business.id)
    await services.refresh_split_service(actor)
    first = await paid(business.id, main, "INV-E2E-1")
    second = await paid(
        business.id,
        main,
        "INV-E2E-2",
        split=[{"kind": "account", "account_id": x.id, "percent": 50}],
    )
    await sign_in(page, base, owner.username, await totp_secret(owner.id))

    await page.goto(f"{base}/reports/reconciled?status=paid")
    row = page.locator(f"#reconciled-list tr[data-id='{first}']")
    assert await row.locator(".split-indicator").count() == 0
    await row.locator("details.row-menu > summary").click()
    await row.locator("button.settlement-configuration").click()
    dialog = page.locator("#modal")
    await dialog.locator("#configuration-form").wait_for()
    await dialog.locator("#add-bank").click()
    await dialog.locator("select[name='dest_0']").wait_for()
    await dialog.locator("#add-bank").click()
    await dialog.locator("select[name='dest_1']").wait_for()
    await dialog.locator("select[name='dest_0']").select_option(f"account:{x.id}")
    await dialog.locator("input[name='value_0']").fill("60")
    await dialog.locator("select[name='dest_1']").select_option(f"account:{y.id}")
    await dialog.locator("input[name='value_1']").fill("40")
    await dialog.locator("#dry-run-button").click()
    await dialog.locator("#dry-run").wait_for()
    text = await dialog.locator("#destinations").text_content() or ""
    assert "57,600" in text and "38,400" in text  # Total Settlement Amount 96,000 split 60/40
    assert await sql.fetchval("SELECT split FROM payment WHERE id = $1", first) is None  # a dry run
    await dialog.locator("#save-configuration").click()
    await dialog.locator(".alert--success").wait_for()

    await page.goto(f"{base}/reports/reconciled?split=yes")
    assert await page.locator(f"tr[data-id='{first}'] .split-indicator").count() == 1

    # Cancel the split of the other transaction: Reset Configuration, then Save Configuration.
    await page.goto(f"{base}/reports/reconciled?invoice=INV-E2E-2")
    row = page.locator(f"#reconciled-list tr[data-id='{second}']")
    assert await row.locator(".split-indicator").count() == 1
    await row.locator("details.row-menu > summary").click()
    await row.locator("button.settlement-configuration").click()
    await dialog.locator("select[name='dest_0']").wait_for()
    await dialog.locator("#reset-configuration").click()
    await dialog.locator("select[name='dest_0']").wait_for(state="detached")
    await dialog.locator("#save-configuration").click()
    await dialog.locator(".alert--success").wait_for()
    await page.goto(f"{base}/reports/reconciled?invoice=INV-E2E-2")
    assert await page.locator(f"tr[data-id='{second}'] .split-indicator").count() == 0

    # Settle: the split pays Bandung 57,600 and Medan 38,400; the configuration can no longer change.
    (stl,) = await services.create_batches(business.id, await business_day_today())
    await services.apply_batch(business.id, stl)
    balances = await sql.fetch(
        "SELECT id, credits_posted - debits_posted AS posted FROM account WHERE id = ANY($1::text[])",
        [x.id, y.id],
    )
    assert {r["id"]: r["posted"] for r in balances} == {x.id: 57_600, y.id: 38_400}
    await page.goto(f"{base}/reports/reconciled?invoice=INV-E2E-1")
    row = page.locator(f"#reconciled-list tr[data-id='{first}']")
    await row.locator("details.row-menu > summary").click()
    await row.locator("button.settlement-configuration").click()
    await dialog.locator("#configuration-form").wait_for()
    assert await dialog.locator("#save-configuration").count() == 0

    assert page.console_errors == []
    assert await csp_violations(page) == []
