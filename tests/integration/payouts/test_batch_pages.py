"""The batch payout pages: the template, an upload with errors shown on their rows, a fix and a delete,
submission, the approvals queue approving the whole batch with another user's code, the export."""

from __future__ import annotations

from typing import Any

from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.lib import sql
from tests.support.accounts import owner_client
from tests.support.identity import code_for, csrf_from, enrol, signed_in_client
from tests.support.ledger import fund
from tests.support.payouts import assert_ledger_sound, names_checked


async def test_upload_fix_submit_and_approve_a_batch(client: Any) -> None:
    business, owner, main = await owner_client(client)
    await fund(business.id, main, 10_000_000)
    template = await client.get("/payouts/batches/template.csv")
    assert template.status_code == 200 and template.text.startswith("reference,amount,code,")
    token = csrf_from((await client.get("/payouts/batches")).text)
    text = (
        template.text.splitlines()[0]
        + "\nP-1,150000,014,8800112233,Budi Santoso,,\nP-2,abc,OVO,0211,Agus,,\n"
    )
    refused = await client.post(
        "/payouts/batches",
        data={"_csrf_token": token},
        files={"file": ("p.csv", b"reference;amount\n1;2\n", "text/csv")},
    )
    assert refused.status_code == 422 and "The columns must be exactly" in refused.text
    uploaded = await client.post(
        "/payouts/batches", data={"_csrf_token": token}, files={"file": ("p.csv", text.encode(), "text/csv")}
    )
    assert uploaded.status_code == 303, uploaded.text
    url = uploaded.headers["location"]
    page = await client.get(url)
    assert (
        page.status_code == 200
        and 'data-column="amount"' in page.text
        and 'data-column="account_number"' in page.text
    )
    assert 'data-name-status="pending"' in page.text and "Checking names…" in page.text
    token = csrf_from(page.text)
    early = await client.post(f"{url}/submit", data={"_csrf_token": token})
    assert early.status_code == 422 and "Fix or delete" in early.text
    fixed = await client.post(
        f"{url}/rows/3",
        data={
            "_csrf_token": token,
            "reference": "P-2",
            "amount": "20000",
            "code": "OVO",
            "account_number": "081234567890",
            "holder_name": "Agus",
            "description": "",
            "email": "",
        },
    )
    assert fixed.status_code == 303
    assert "data-column=" not in (await client.get(url)).text
    assert (await client.post(f"{url}/submit", data={"_csrf_token": token})).status_code == 303
    # "Check again" asks the bank again for the rows not yet answered.
    assert (await client.post(f"{url}/check_names", data={"_csrf_token": token})).status_code == 303
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM payout WHERE business_id = $1 AND status = 'awaiting_approval'", business.id
        )
        == 2
    )

    checker = await identity.create_user(
        user_actor(owner, business),
        username=f"b{business.id[-7:].lower()}",
        full_name="Citra",
        email="citra.b@example.com",
        role="admin",
    )
    secret = await enrol(checker.id)
    await signed_in_client(client, await identity.user_by_id(checker.id))
    queue = await client.get("/approvals")
    batch_id = url.rsplit("/", 1)[1]
    assert f"/approvals/batches/{batch_id}/approve" in queue.text
    assert ">1</span>" in (await client.get("/approvals/count")).text
    early = await client.post(
        f"/approvals/batches/{batch_id}/approve",
        data={"_csrf_token": csrf_from(queue.text), "code": code_for(secret, steps=1)},
    )
    assert early.status_code == 422 and "still being checked" in early.text
    await names_checked(
        business.id, batch_id, accept_as=user_actor(await identity.user_by_id(checker.id), business)
    )
    approved = await client.post(
        f"/approvals/batches/{batch_id}/approve",
        data={"_csrf_token": csrf_from(queue.text), "code": code_for(secret, steps=1)},
    )
    assert approved.status_code == 303, approved.text
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM payout WHERE business_id = $1 AND status = 'scheduled'", business.id
        )
        == 2
    )
    export = await client.get(f"{url}/export.csv")
    assert export.status_code == 200 and export.text.count("scheduled") == 2
    await assert_ledger_sound()
