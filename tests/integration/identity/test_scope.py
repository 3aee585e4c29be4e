"""A scoped admin reaches the users and API keys of their own scope only, and no business-wide setting."""

from __future__ import annotations

from typing import Any

import pytest

from portal.domains.identity import services
from portal.domains.identity.auth import user_actor
from portal.lib import sql
from portal.lib.errors import Forbidden, NotFound
from tests.support.identity import csrf_from, enrol, make_business, signed_in_client


async def _jakarta() -> tuple[Any, Any, Any, Any]:
    from portal.domains.accounts import services as accounts

    business, owner = await make_business()
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    jakarta = await accounts.create_account(actor, name="Jakarta", kind="division", parent_id=main)
    admin = await services.create_user(
        actor,
        username="jkt-admin",
        full_name="Jakarta Admin",
        email="j@example.com",
        role="admin",
        scope_account_id=jakarta.id,
    )
    await enrol(admin.id)
    return business, owner, admin, jakarta


async def test_scoped_admin_cannot_touch_a_business_wide_user(client: Any, db: str) -> None:
    business, owner, admin, jakarta = await _jakarta()
    wide = await services.create_user(
        user_actor(owner, business),
        username="wide",
        full_name="Wide User",
        email="w@example.com",
        role="viewer",
    )
    await signed_in_client(client, admin)
    token = csrf_from((await client.get("/account")).text)
    for action in ("lock", "unlock", "reset-password", "reset-authenticator", "resend-enrolment"):
        response = await client.post(f"/users/{wide.id}/{action}", data={"_csrf_token": token})
        assert response.status_code == 404, (action, response.status_code)
    moved = await client.post(
        f"/users/{wide.id}",
        data={"_csrf_token": token, "full_name": "Renamed", "role": "viewer", "scope_account_id": jakarta.id},
    )
    assert moved.status_code == 404
    row = await sql.fetchrow(
        "SELECT full_name, status, scope_account_id FROM app_user WHERE id = $1", wide.id
    )
    assert (row["full_name"], row["status"], row["scope_account_id"]) == ("Wide User", "active", None)


async def test_scoped_admin_sees_and_revokes_only_keys_of_their_scope(client: Any, db: str) -> None:
    business, owner, admin, jakarta = await _jakarta()
    owner_actor = user_actor(owner, business)
    wide_key, _ = await services.create_api_key(
        owner_actor, name="wide-key", permissions=frozenset({"accounts:view"})
    )
    jkt_key, _ = await services.create_api_key(
        owner_actor, name="jakarta-key", permissions=frozenset({"accounts:view"}), scope_account_id=jakarta.id
    )
    admin_actor = user_actor(admin, business)
    assert [k.id for k in await services.list_api_keys(admin_actor)] == [jkt_key.id]
    with pytest.raises(NotFound):
        await services.revoke_api_key(admin_actor, wide_key.id)
    assert await sql.fetchval("SELECT revoked_at FROM api_key WHERE id = $1", wide_key.id) is None
    await signed_in_client(client, admin)
    page = await client.get("/developers")
    assert "jakarta-key" in page.text and "wide-key" not in page.text
    assert (await services.revoke_api_key(admin_actor, jkt_key.id)).status == "revoked"


async def test_business_settings_need_an_unscoped_user(client: Any, db: str) -> None:
    business, _owner, admin, _ = await _jakarta()
    with pytest.raises(Forbidden):
        await services.update_business(
            user_actor(admin, business),
            name="Taken",
            default_language="en",
            mode="live",
            fees={"topup": "1", "withdrawal": "1", "transfer": "1"},
        )
    await signed_in_client(client, admin)
    token = csrf_from((await client.get("/account")).text)
    response = await client.post(
        "/settings",
        data={
            "_csrf_token": token,
            "name": "Taken",
            "default_language": "en",
            "mode": "live",
            "fee_topup": "1",
            "fee_withdrawal": "1",
            "fee_transfer": "1",
        },
    )
    assert response.status_code == 403
    after = await services.get_business(business.id)
    assert (after.name, after.mode) == (business.name, business.mode) and after.fees == business.fees
