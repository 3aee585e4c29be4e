"""The payout pages: paying out above the threshold from the form, the approvals queue (count, nobody
approves their own, a TOTP code), the payout's page with its proof of payment, the PDF and the verify
page. No job worker runs here: the bank's answer is applied as the provider's callback would apply it."""

from __future__ import annotations

from typing import Any

from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.payouts import lifecycle, services
from portal.lib import sql
from tests.support.accounts import owner_client, post_form
from tests.support.identity import code_for, enrol, signed_in_client
from tests.support.ledger import fund
from tests.support.payouts import DIRECTORY, register


async def test_pay_out_approve_with_a_code_then_the_proof(client: Any) -> None:
    await register(DIRECTORY)
    business, owner, main = await owner_client(client)
    actor = user_actor(owner, business)
    await fund(business.id, main, 100_000_000)
    await services.set_cooldown(actor, 0)
    ben = await services.add_beneficiary(
        actor, kind="bank", holder_name="Budi Santoso", bank_code="014", account_number="8800112233"
    )
    empty = await post_form(client, "/payouts/history", {"beneficiary_id": ben.id}, "/payouts/history")
    assert empty.status_code == 422 and 'id="f-amount-error"' in empty.text
    created = await post_form(
        client,
        "/payouts/history",
        {"beneficiary_id": ben.id, "amount": "15000000", "reference": "PO-PAGE"},
        "/payouts/history",
    )
    assert created.status_code == 303, created.text
    payout_id = created.headers["location"].rsplit("/", 1)[1]
    detail = await client.get(f"/payouts/{payout_id}")
    assert detail.status_code == 200 and "PO-PAGE" in detail.text and "••••••2233" in detail.text
    count = await client.get("/approvals/count")
    assert ">1</span>" in count.text
    secret = await sql.fetchval("SELECT totp_secret FROM app_user WHERE id = $1", owner.id)
    own = await post_form(
        client, f"/approvals/{payout_id}/approve", {"code": code_for(secret, steps=1)}, "/approvals"
    )
    assert own.status_code == 422 and "another user must approve" in own.text

    checker = await identity.create_user(
        actor,
        username=f"chk{business.id[-6:].lower()}",
        full_name="Citra",
        email="citra@example.com",
        role="admin",
    )
    checker_secret = await enrol(checker.id)
    await signed_in_client(client, await identity.user_by_id(checker.id))
    queue = await client.get("/approvals")
    assert queue.status_code == 200 and "PO-PAGE" in queue.text
    wrong = await post_form(client, f"/approvals/{payout_id}/approve", {"code": "000000"}, "/approvals")
    assert wrong.status_code == 422 and 'id="f-code-error"' in wrong.text
    approved = await post_form(
        client, f"/approvals/{payout_id}/approve", {"code": code_for(checker_secret, steps=1)}, "/approvals"
    )
    assert approved.status_code == 303, approved.text
    assert (
        await sql.fetchval(
            "SELECT status FROM payout WHERE business_id = $1 AND id = $2", business.id, payout_id
        )
        == "scheduled"
    )
    assert "nav__count badge" not in (await client.get("/approvals/count")).text

    assert (await client.get(f"/payouts/{payout_id}/proof.pdf")).status_code == 409
    await sql.execute(
        "UPDATE payout SET status = 'submitted', submitted_at = now() WHERE business_id = $1 AND id = $2",
        business.id,
        payout_id,
    )
    await lifecycle.apply_provider_status(business.id, payout_id, "succeeded", bank_reference="BIFAST7788")
    detail = await client.get(f"/payouts/{payout_id}")
    assert "BIFAST7788" in detail.text and f"/payouts/{payout_id}/proof.pdf" in detail.text
    pdf = await client.get(f"/payouts/{payout_id}/proof.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    code = (await lifecycle.get_payout(actor, payout_id)).verification_code
    valid = await client.get("/payouts/verify", params={"payout_id": payout_id, "code": code})
    assert valid.status_code == 200 and "BIFAST7788" in valid.text and "••••••2233" in valid.text
    forged = await client.get(
        "/payouts/verify", params={"payout_id": payout_id, "code": "AAAA-BBBB-CCCC-DDDD"}
    )
    assert forged.status_code == 200 and "BIFAST7788" not in forged.text
