"""Above the business's threshold the confirm step of a transfer or a payment to another account asks
for the user's authenticator code: refused with a specific message without it, with a wrong one or with
one already used (nothing booked), booked with a fresh one; audited; below the threshold nothing is
asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.lib import clock, sql
from tests.support.identity import code_for, csrf_from, make_business, signed_in_client, totp_secret
from tests.support.ledger import fund


async def test_an_authenticator_code_above_the_threshold(client: Any, db: str) -> None:
    business, owner = await make_business()
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    sinar = await accounts.create_account(actor, name="Toko Sinar Jaya", kind="partner", parent_id=main)
    maju = await accounts.create_account(actor, name="CV Maju Bersama", kind="partner", parent_id=main)
    await fund(business.id, sinar.id, 1_000_000)
    await signed_in_client(client, owner)

    settings = await client.get("/settings")
    form = {"name": business.name, "default_language": "en", "mode": "sandbox", "fee_topup": "0"}
    form |= {"fee_withdrawal": "0", "fee_transfer": "0", "_csrf_token": csrf_from(settings.text)}
    refused = await client.post("/settings", data=form | {"code_above": "lots"})
    assert "Enter a whole number of rupiah, or leave it empty." in refused.text
    saved = await client.post("/settings", data=form | {"code_above": "100,000"})
    assert saved.status_code == 303
    assert (await identity.get_business(business.id)).code_above == 100_000

    token = csrf_from((await client.get("/transfers/new")).text)
    base = {"_csrf_token": token, "from_account_id": sinar.id, "to_account_id": maju.id}

    async def transfer(amount: str, reference: str, **extra: str) -> Any:
        return await client.post("/transfers", data=base | {"amount": amount, "reference": reference} | extra)

    async def booked(reference: str) -> int:
        return int(await sql.fetchval("SELECT count(*) FROM transfer WHERE reference = $1", reference))

    small = await transfer("100,000", "SMALL-1", step="review")
    assert small.status_code == 200 and "data-review-code" not in small.text
    assert (await transfer("100,000", "SMALL-1")).status_code == 303 and await booked("SMALL-1") == 1

    large = await transfer("150,000", "LARGE-1", step="review")
    assert large.status_code == 200 and "data-review-code" in large.text
    missing = await transfer("150,000", "LARGE-1")
    assert (
        missing.status_code == 422 and "Enter the 6-digit code from your authenticator app." in missing.text
    )
    assert 'name="otp"' in missing.text and 'value="LARGE-1"' in missing.text  # the review again
    now_code = code_for(await totp_secret(owner.id))
    wrong = await transfer("150,000", "LARGE-1", otp="000000" if now_code != "000000" else "111111")
    assert wrong.status_code == 422 and "The code does not match." in wrong.text
    assert await booked("LARGE-1") == 0

    clock.set_clock(lambda: datetime.now(UTC) + timedelta(seconds=90))
    try:
        code = code_for(await totp_secret(owner.id))
        ok = await transfer("150,000", "LARGE-1", otp=code)
        assert ok.status_code == 303 and await booked("LARGE-1") == 1
        send = await client.post(
            "/transfers/send",
            data=base | {"amount": "200,000", "reference": "LARGE-2", "otp": code},
        )
        assert send.status_code == 422 and "This code was already used." in send.text
        assert await booked("LARGE-2") == 0
    finally:
        clock.set_clock(None)

    actions = [
        r["action"]
        for r in await sql.fetch(
            "SELECT action FROM activity WHERE business_id = $1 AND action LIKE 'user.code%' ORDER BY seq",
            business.id,
        )
    ]
    assert actions == ["user.code_refused", "user.code_confirmed"]


async def test_a_withdrawal_above_the_threshold_asks_the_partner_for_a_code(client: Any, db: str) -> None:
    """The partner's withdrawal to its own bank: the review asks for a code above the threshold and the
    confirm books only with a fresh one (accepted once, each refusal specific, audited); a top-up
    moves money in and is never asked."""
    from portal.domains.identity.services import create_user
    from tests.support.identity import enrol

    business, owner = await make_business()
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    sinar = await accounts.create_account(actor, name="Toko Sinar Jaya", kind="partner", parent_id=main)
    bank = {"bank_code": "002", "account_number": "0341010001", "holder_name": "Sinar"}
    await accounts.update_account(actor, sinar.id, {"settlement_bank": bank})
    await fund(business.id, sinar.id, 1_000_000)
    await sql.execute("UPDATE business SET code_above = 100000 WHERE id = $1", business.id)
    partner = await create_user(
        actor,
        username="sinar",
        full_name="Sinar",
        email="s@example.com",
        role="partner",
        scope_account_id=sinar.id,
    )
    await enrol(partner.id)
    await signed_in_client(client, partner)
    token = csrf_from((await client.get("/withdrawals/new")).text)
    base = {"_csrf_token": token, "account_id": sinar.id}

    async def withdraw(amount: str, reference: str, **extra: str) -> Any:
        return await client.post(
            "/withdrawals", data=base | {"amount": amount, "reference": reference} | extra
        )

    async def requested(reference: str) -> int:
        return int(await sql.fetchval("SELECT count(*) FROM withdrawal WHERE reference = $1", reference))

    small = await withdraw("100,000", "WD-SMALL", step="review")
    assert small.status_code == 200 and "data-review-code" not in small.text
    topup = await client.post(
        "/topups",
        data={"_csrf_token": token, "account_id": sinar.id, "amount": "500,000", "reference": "TU-1"}
        | {"step": "review"},
    )
    assert topup.status_code == 200 and "data-review-code" not in topup.text  # money in: no code

    large = await withdraw("150,000", "WD-LARGE", step="review")
    assert large.status_code == 200 and "data-review-code" in large.text and "0341010001" in large.text
    missing = await withdraw("150,000", "WD-LARGE")
    assert (
        missing.status_code == 422 and "Enter the 6-digit code from your authenticator app." in missing.text
    )
    assert 'value="WD-LARGE"' in missing.text  # the review again, with what was entered
    now_code = code_for(await totp_secret(partner.id))
    wrong = await withdraw("150,000", "WD-LARGE", otp="000000" if now_code != "000000" else "111111")
    assert wrong.status_code == 422 and "The code does not match." in wrong.text
    assert await requested("WD-LARGE") == 0

    clock.set_clock(lambda: datetime.now(UTC) + timedelta(seconds=90))
    try:
        code = code_for(await totp_secret(partner.id))
        ok = await withdraw("150,000", "WD-LARGE", otp=code)
        assert ok.status_code == 303 and await requested("WD-LARGE") == 1
        again = await withdraw("200,000", "WD-AGAIN", otp=code)
        assert again.status_code == 422 and "This code was already used." in again.text
        assert await requested("WD-AGAIN") == 0
    finally:
        clock.set_clock(None)
    actions = [
        r["action"]
        for r in await sql.fetch(
            "SELECT action FROM activity WHERE business_id = $1 AND action LIKE 'user.code%' ORDER BY seq",
            business.id,
        )
    ]
    assert actions == ["user.code_refused", "user.code_confirmed"]
