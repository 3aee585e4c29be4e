"""Accounts and money pages through the portal (signed-in owner, plain form posts and htmx fragments)."""

from __future__ import annotations

import re
from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.identity.auth import user_actor
from portal.domains.ledger.invariants import check_all
from portal.lib import sql
from tests.support.accounts import owner_client, post_form
from tests.support.identity import csrf_from, make_business, signed_in_client


async def available(account_id: str) -> int:
    return int(
        await sql.fetchval(
            "SELECT credits_posted - debits_posted - debits_pending FROM account WHERE id = $1", account_id
        )
    )


async def test_tree_create_topup_transfer_withdraw_and_notifications(client: Any) -> None:
    _business, _owner, main = await owner_client(client)
    tree = await client.get("/accounts")
    assert tree.status_code == 200 and "Main account" in tree.text

    bad = await post_form(client, "/accounts", {"name": "", "kind": "division", "parent_id": main})
    assert bad.status_code == 422 and "f-name-error" in bad.text
    made = await post_form(client, "/accounts", {"name": "Jakarta", "kind": "division", "parent_id": main})
    assert made.status_code == 303
    jakarta = made.headers["location"].rsplit("/", 1)[-1]
    made = await post_form(
        client, "/accounts", {"name": "Toko Budi", "kind": "partner", "parent_id": jakarta}
    )
    budi = made.headers["location"].rsplit("/", 1)[-1]

    found = await client.get("/accounts?q=budi", headers={"HX-Request": "true", "HX-Target": "account-tree"})
    assert "Toko Budi" in found.text and "<html" not in found.text

    # In English "150.000" reads two ways (150 or 150,000): refused, showing how it was read.
    ambiguous = await post_form(
        client,
        "/topups",
        {"account_id": jakarta, "amount": "150.000", "reference": "TP-1"},
        f"/topups/new?account_id={jakarta}",
    )
    assert ambiguous.status_code == 422 and "IDR 150,000" in ambiguous.text
    order = await post_form(
        client,
        "/topups",
        {"account_id": jakarta, "amount": "150,000", "reference": "TP-1"},
        f"/topups/new?account_id={jakarta}",
    )
    assert order.status_code == 303, order.text
    topup_page = await client.get(order.headers["location"])
    assert "156.000" in topup_page.text or "156,000" in topup_page.text
    topup_id = order.headers["location"].rsplit("/", 1)[-1]
    paid = await post_form(client, f"/topups/{topup_id}/simulate-payment", {}, order.headers["location"])
    assert paid.status_code == 303
    assert await available(jakarta) == 150_000

    refused = await post_form(
        client,
        "/transfers",
        {"from_account_id": jakarta, "to_account_id": budi, "amount": "999999", "reference": "TR-1"},
        "/transfers/new",
    )
    assert refused.status_code == 422 and "f-amount-error" in refused.text
    assert await available(jakarta) == 150_000
    moved = await post_form(
        client,
        "/transfers",
        {"from_account_id": jakarta, "to_account_id": budi, "amount": "50000", "reference": "TR-1"},
        "/transfers/new",
    )
    assert moved.status_code == 303, moved.text
    assert await available(budi) == 50_000
    fragment = await client.get(f"/accounts/{budi}/balance", headers={"HX-Request": "true"})
    assert "50" in fragment.text and "<html" not in fragment.text

    bell = await client.get("/notifications/bell", headers={"HX-Request": "true"})
    assert 'data-unread="2"' in bell.text  # top-up paid + transfer received

    no_bank = await post_form(
        client,
        "/withdrawals",
        {"account_id": budi, "amount": "10000", "reference": "WD-1"},
        "/withdrawals/new",
    )
    assert no_bank.status_code == 422
    saved = await post_form(
        client,
        f"/accounts/{budi}",
        {"section": "bank", "bank_code": "014", "account_number": "1234567890", "holder_name": "Budi"},
        f"/accounts/{budi}",
    )
    assert saved.status_code == 303
    wd = await post_form(
        client,
        "/withdrawals",
        {"account_id": budi, "amount": "10000", "reference": "WD-1"},
        "/withdrawals/new",
    )
    assert wd.status_code == 303
    assert await available(budi) == 50_000 - 18_000
    wid = await sql.fetchval("SELECT id FROM withdrawal WHERE reference = 'WD-1'")
    failed = await post_form(
        client, f"/withdrawals/{wid}/mark-failed", {"reason": "Rekening tidak aktif"}, f"/accounts/{budi}"
    )
    assert failed.status_code == 303
    assert await available(budi) == 50_000
    listing = await client.get("/notifications")
    assert "failed" in listing.text and "Rekening tidak aktif" in listing.text
    read = await post_form(client, "/notifications/read", {}, "/notifications")
    assert read.status_code == 303
    bell = await client.get("/notifications/bell", headers={"HX-Request": "true"})
    assert 'data-unread="0"' in bell.text
    transfers = await client.get("/transfers")
    assert "TR-1" in transfers.text
    assert await check_all() == []


async def test_scoped_user_sees_only_their_subtree(client: Any) -> None:
    from portal.domains.identity import services as identity

    business, owner, main = await owner_client(client)
    actor = user_actor(owner, business)
    jakarta = await accounts.create_account(actor, name="Jakarta", kind="division", parent_id=main)
    bandung = await accounts.create_account(actor, name="Bandung", kind="division", parent_id=main)
    picker = await accounts.list_for_picker(actor)
    assert [label for _, label in picker][:1] == ["Main account (main)"] and len(picker) == 3
    # The users form picks the scope from that tree (whole business or one account's subtree) ...
    new_user = await client.get("/users/new")
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', new_user.text)
    scope_options = [v for v, _ in options if v == "" or v.startswith("acc_")]
    assert scope_options[:1] == [""] and {main, jakarta.id, bandung.id} <= set(scope_options)
    # ... and refuses an account that is not in this business's tree: another business's, or made up.
    other_business, _ = await make_business(name="Other")
    other_main = await accounts.ensure_business_accounts(other_business.id)
    token = csrf_from(new_user.text)
    for wrong in (other_main, "acc_0000000000aaaaaaaaaa", "not-an-id"):
        refused = await client.post(
            "/users",
            data={
                "_csrf_token": token,
                "username": "scoped-wrong",
                "full_name": "Wrong Scope",
                "email": "wrong@example.com",
                "role": "viewer",
                "language": "en",
                "scope_account_id": wrong,
            },
        )
        assert refused.status_code == 422, (wrong, refused.status_code)
        assert "Choose an account from the list." in refused.text
    assert await sql.fetchval("SELECT count(*) FROM app_user WHERE username = 'scoped-wrong'") == 0
    scoped = await identity.create_user(
        actor,
        username=f"mgr{business.id[-6:]}",
        full_name="Manager",
        email="mgr@example.com",
        mobile="",
        role="division_manager",
        scope_account_id=jakarta.id,
    )
    from tests.support.identity import enrol

    await enrol(scoped.id)
    await client.post("/logout", data={"_csrf_token": csrf_from((await client.get("/accounts")).text)})
    await signed_in_client(client, await identity.user_by_id(scoped.id))
    tree = await client.get("/accounts")
    assert "Jakarta" in tree.text and "Bandung" not in tree.text
    assert (await client.get(f"/accounts/{bandung.id}")).status_code == 404
    assert (await client.get(f"/accounts/{jakarta.id}")).status_code == 200
    assert re.search(r"Main account", tree.text) is None
