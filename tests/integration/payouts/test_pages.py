"""The payouts pages: rails with limits, fees, hours and business days; editing the business's terms;
adding a beneficiary through the name inquiry with a confirmed mismatch; default and delete."""

from __future__ import annotations

from typing import Any

from portal.lib import sql
from tests.support.accounts import owner_client, post_form
from tests.support.payouts import DIRECTORY, register


async def test_rails_page_lists_rails_and_edits_terms_within_the_cap(client: Any) -> None:
    business, _owner, _main = await owner_client(client)
    page = await client.get("/payouts")
    assert page.status_code == 200
    assert 'data-rail="bifast"' in page.text and 'data-rail="rtgs"' in page.text
    assert 'id="business-days"' in page.text
    over_cap = await post_form(
        client,
        "/payouts/rails/bifast",
        {"fee": "3000", "min_amount": "1", "max_amount": "250000000", "active": "1"},
    )
    assert over_cap.status_code == 422 and 'id="f-fee-error"' in over_cap.text
    saved = await post_form(
        client, "/payouts/rails/online", {"fee": "5000", "min_amount": "10000", "max_amount": "25000000"}
    )
    assert saved.status_code == 303
    terms = await sql.fetchrow("SELECT * FROM payout_rail_terms WHERE business_id = $1", business.id)
    assert terms is not None and (terms["fee"], terms["active"]) == (5_000, False)
    cooldown = await post_form(client, "/payouts/settings", {"cooldown_minutes": "30"})
    assert cooldown.status_code == 303
    value = await sql.fetchval(
        "SELECT beneficiary_cooldown_s FROM payout_settings WHERE business_id = $1", business.id
    )
    assert value == 1800


async def test_settings_page_changes_the_approval_threshold_with_a_clear_refusal(client: Any) -> None:
    business, _owner, _main = await owner_client(client)
    shown = await client.get("/payouts/settings")
    assert shown.status_code == 200
    assert 'name="approval_threshold"' in shown.text and 'value="10000000"' in shown.text
    bad = await post_form(
        client, "/payouts/settings", {"approval_threshold": "sepuluh", "cooldown_minutes": "60"}
    )
    assert bad.status_code == 422
    assert 'id="f-approval_threshold-error"' in bad.text and 'value="sepuluh"' in bad.text
    saved = await post_form(
        client,
        "/payouts/settings",
        {"approval_threshold": "2500000", "cooldown_minutes": "5"},
        "/payouts/settings",
    )
    assert saved.status_code == 303
    row = await sql.fetchrow("SELECT * FROM payout_settings WHERE business_id = $1", business.id)
    assert row is not None and (row["approval_threshold"], row["beneficiary_cooldown_s"]) == (2_500_000, 300)
    zero = await post_form(client, "/payouts/settings", {"approval_threshold": "0"}, "/payouts/settings")
    assert zero.status_code == 303
    summary = await sql.fetchval(
        "SELECT summary FROM activity WHERE business_id = $1 AND action = 'payout_settings.updated' "
        "ORDER BY id DESC LIMIT 1",
        business.id,
    )
    assert summary == "Payout approval threshold Rp2.500.000 → Rp0"
    rails = await client.get("/payouts")
    assert 'id="payout-settings-summary"' in rails.text and 'href="/payouts/settings"' in rails.text


async def test_adding_a_beneficiary_shows_a_mismatch_and_needs_the_confirmation(client: Any) -> None:
    await register({**DIRECTORY, "account_number": "8800117777", "holder_name": "Siti Rahma"})
    business, _owner, _main = await owner_client(client)
    fields = {"kind": "bank", "bank_code": "014", "account_number": "8800117777", "holder_name": "Budi"}
    shown = await post_form(client, "/payouts/beneficiaries", fields, "/payouts/beneficiaries")
    assert shown.status_code == 422
    assert "SITI RAHMA" in shown.text and 'name="confirm_holder_name"' in shown.text
    assert await sql.fetchval("SELECT count(*) FROM beneficiary WHERE business_id = $1", business.id) == 0
    added = await post_form(
        client,
        "/payouts/beneficiaries",
        {**fields, "confirm_holder_name": "SITI RAHMA"},
        "/payouts/beneficiaries",
    )
    assert added.status_code == 303, added.text
    detail = await client.get(added.headers["location"])
    assert detail.status_code == 200 and "SITI RAHMA" in detail.text and "8800117777" in detail.text
    listing = await client.get("/payouts/beneficiaries")
    assert "SITI RAHMA" in listing.text and "••••••7777" in listing.text
    beneficiary_id = added.headers["location"].rsplit("/", 1)[1]
    deleted = await post_form(
        client, f"/payouts/beneficiaries/{beneficiary_id}/delete", {}, "/payouts/beneficiaries"
    )
    assert deleted.status_code == 303
    assert (await client.get(f"/payouts/beneficiaries/{beneficiary_id}")).status_code == 404


async def test_a_closed_account_is_a_field_error_on_the_form(client: Any) -> None:
    await register({**DIRECTORY, "account_number": "8800118888"}, status="closed")
    await owner_client(client)
    fields = {
        "kind": "bank",
        "bank_code": "014",
        "account_number": "8800118888",
        "holder_name": "Budi Santoso",
    }
    refused = await post_form(client, "/payouts/beneficiaries", fields, "/payouts/beneficiaries")
    assert refused.status_code == 422 and 'id="f-account_number-error"' in refused.text
