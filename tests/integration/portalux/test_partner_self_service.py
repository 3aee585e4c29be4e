"""A partner serves itself: withdraws to its own account's bank, finds another account by name and sends
money to it (names and references only, never balances); scoped roles always carry a scope; a missing
right is named on the 403 page."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from portal.domains.accounts import services as accounts
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.ledger import services as ledger
from portal.lib import sql
from portal.lib.errors import NotFound, ValidationFailed
from tests.support.identity import csrf_from, enrol, make_business, signed_in_client
from tests.support.ledger import fund


async def world() -> Any:
    business, owner = await make_business()
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    sinar = await accounts.create_account(actor, name="Toko Sinar Jaya", kind="partner", parent_id=main)
    await accounts.create_account(actor, name="Toko-11 Makmur", kind="partner", parent_id=main)
    maju = await accounts.create_account(actor, name="CV Maju Bersama", kind="partner", parent_id=main)
    await accounts.update_account(
        actor,
        sinar.id,
        {"settlement_bank": {"bank_code": "002", "account_number": "0341010001", "holder_name": "Sinar"}},
    )
    await fund(business.id, sinar.id, 500_000)
    await fund(business.id, maju.id, 900_000)
    partner = await identity.create_user(
        actor,
        username="sinar",
        full_name="Sinar",
        email="s@example.com",
        role="partner",
        scope_account_id=sinar.id,
    )
    await enrol(partner.id)
    return SimpleNamespace(business=business, actor=actor, main=main, sinar=sinar, maju=maju, partner=partner)


async def test_search_finds_by_name_and_reference_and_shows_no_balance(db: str) -> None:
    w = await world()
    business, actor, _sinar, maju, partner = w.business, w.actor, w.sinar, w.maju, w.partner
    await accounts.update_account(actor, maju.id, {"reference": "PTN-002"})
    pactor = user_actor(partner, business)
    assert [r.name for r in await ledger.search_recipients(pactor, "toko")] == [
        "Toko Sinar Jaya",
        "Toko-11 Makmur",
    ]
    assert [r.name for r in await ledger.search_recipients(pactor, "TOKO-11")] == ["Toko-11 Makmur"]
    assert [r.name for r in await ledger.search_recipients(pactor, "ptn-0")] == ["CV Maju Bersama"]
    assert await ledger.search_recipients(pactor, "t") == []  # too short to search
    assert await ledger.search_recipients(pactor, "%") == []  # wildcards are plain text
    found = (await ledger.search_recipients(pactor, "maju"))[0]
    assert set(vars(found)) == {"id", "name", "reference", "currency"}


async def test_partner_sends_outside_its_subtree_and_the_recipient_is_notified(db: str) -> None:
    w = await world()
    business, actor, sinar, maju, partner = w.business, w.actor, w.sinar, w.maju, w.partner
    pactor = user_actor(partner, business)
    t = await ledger.send_to_account(
        pactor, from_account_id=sinar.id, to_account_id=maju.id, amount=120_000, reference="SEND-1"
    )
    assert t.to_account_id == maju.id
    assert (await accounts.get_account_row(actor, maju.id)).available == 1_020_000
    assert (await accounts.get_account_row(actor, sinar.id)).available == 380_000
    note = await sql.fetchrow("SELECT params, link FROM notification WHERE account_id = $1", maju.id)
    assert "Toko Sinar Jaya" in str(note["params"]) and note["link"] == f"/transfers/{t.id}"
    from portal.domains.notifications.services import message

    params = json.loads(note["params"]) if isinstance(note["params"], str) else dict(note["params"])
    assert message("transfer.received", params) == (
        "CV Maju Bersama received IDR 120,000 from Toko Sinar Jaya (reference SEND-1)."
    )
    # Only from its own accounts; never to a system account; a normal transfer still needs both in scope.
    with pytest.raises(NotFound):
        await ledger.send_to_account(
            pactor, from_account_id=maju.id, to_account_id=sinar.id, amount=1, reference="SEND-2"
        )
    fees = await accounts.system_account_id(business.id, "IDR", "fees")
    with pytest.raises(NotFound):
        await ledger.send_to_account(
            pactor, from_account_id=sinar.id, to_account_id=fees, amount=1, reference="SEND-3"
        )
    with pytest.raises(NotFound):
        await ledger.create_transfer(
            pactor, from_account_id=sinar.id, to_account_id=maju.id, amount=1, reference="SEND-4"
        )
    with pytest.raises(ValidationFailed):
        await ledger.send_to_account(
            pactor, from_account_id=sinar.id, to_account_id=maju.id, amount=10**9, reference="SEND-5"
        )
    assert await sql.fetchval("SELECT count(*) FROM transfer WHERE reference LIKE 'SEND-%'") == 1


async def test_partner_withdraws_and_sends_through_the_pages(client: Any, db: str) -> None:
    w = await world()
    _business, _actor, sinar, maju, partner = w.business, w.actor, w.sinar, w.maju, w.partner
    await signed_in_client(client, partner)
    page = await client.get("/transfers/send?q=maju")
    assert page.status_code == 200 and "CV Maju Bersama" in page.text and "900" not in page.text
    empty = await client.get("/transfers/send?q=zzz")
    assert "No results for" in empty.text
    form = await client.get(f"/transfers/send?to_account_id={maju.id}")
    assert f'value="{sinar.id}" selected' in form.text  # the partner's only account is preselected
    token = csrf_from(form.text)
    fields = {"from_account_id": sinar.id, "to_account_id": maju.id, "amount": "50,000", "reference": "PG-1"}
    review = await client.post("/transfers/send", data={**fields, "step": "review", "_csrf_token": token})
    assert review.status_code == 200 and "IDR 50,000" in review.text and "IDR 500,000" in review.text
    sent = await client.post("/transfers/send", data={**fields, "_csrf_token": token})
    assert sent.status_code == 303
    withdraw = await client.post(
        "/withdrawals",
        data={"account_id": sinar.id, "amount": "100,000", "reference": "WD-1", "_csrf_token": token},
    )
    assert withdraw.status_code == 303, withdraw.text[:300]
    assert await sql.fetchval("SELECT status FROM withdrawal WHERE reference = 'WD-1'") == "pending"


async def test_the_403_page_names_the_missing_right_and_who_grants_it(client: Any, db: str) -> None:
    w = await world()
    _business, _actor, _sinar, _maju, partner = w.business, w.actor, w.sinar, w.maju, w.partner
    await signed_in_client(client, partner)
    denied = await client.get("/users")
    assert denied.status_code == 403
    assert "manage Users" in denied.text or "view Users" in denied.text
    assert "owner or admin" in denied.text


async def test_scoped_roles_need_a_scope(client: Any, db: str) -> None:
    w = await world()
    _business, actor, sinar, _maju, partner = w.business, w.actor, w.sinar, w.maju, w.partner
    invitation = await sql.fetchval("SELECT text_body FROM email_outbox WHERE to_address = 's@example.com'")
    assert "added you to Toko Maju in Neraca" in invitation  # names the business and who invited
    for role in ("partner", "division_manager"):
        with pytest.raises(ValidationFailed) as refused:
            await identity.create_user(
                actor, username=f"u-{role[:3]}", full_name="U", email="u@example.com", role=role
            )
        assert refused.value.errors[0].pointer == "scope_account_id"
    with pytest.raises(ValidationFailed):
        await identity.update_user(
            actor,
            partner.id,
            full_name="Sinar",
            mobile="",
            role="partner",
            rights=partner.rights,
            scope_account_id=None,
        )
    owner = await identity.user_by_id(actor.user_id)
    await signed_in_client(client, owner)
    form = await client.get(f"/users/new?scope_account_id={sinar.id}")
    assert f'value="{sinar.id}" selected' in form.text and 'value="partner" selected' in form.text
