"""Every identity and audit page renders for an owner; management flows through the portal."""

from __future__ import annotations

from typing import Any

from portal.domains.identity import mail, services
from portal.lib import sql
from tests.support.identity import csrf_from, make_business, signed_in_client


async def test_owner_sees_every_page(client: Any, db: str) -> None:
    _, owner = await make_business()
    await signed_in_client(client, owner)
    for path in (
        "/",
        "/users",
        "/users/new",
        f"/users/{owner.id}",
        "/account",
        "/developers",
        "/settings",
        "/activity",
    ):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text[:2000])
    nav = (await client.get("/")).text
    for menu in ("users", "activity", "developers", "settings"):
        assert f'data-nav="{menu}"' in nav


async def test_owner_adds_a_finance_user_who_gets_an_enrolment_mail(client: Any, db: str) -> None:
    _, owner = await make_business()
    await signed_in_client(client, owner)
    form = await client.get("/users/new")
    response = await client.post(
        "/users",
        data={
            "username": "Fina.Finance",
            "full_name": "Fina Finance",
            "email": "fina@example.com",
            "mobile": "0812-3456-7890",
            "role": "finance",
            "language": "id",
            "_csrf_token": csrf_from(form.text),
        },
    )
    assert response.status_code == 303, response.text
    row = await sql.fetchrow("SELECT * FROM app_user WHERE username = 'fina.finance'")
    assert row["mobile"] == "+6281234567890"
    assert "transfers:manage" in row["rights"] and "users:view" not in row["rights"]
    mails = await mail.outbox()
    assert mails[0]["to_address"] == "fina@example.com"
    assert "/enroll/" in mails[0]["text_body"]
    assert row["password_hash"] is None


async def test_add_user_bad_input(client: Any, db: str) -> None:
    _, owner = await make_business()
    await signed_in_client(client, owner)
    form = await client.get("/users/new")
    token = csrf_from(form.text)
    cases = [
        ({"username": "", "full_name": "x", "email": "a@b.co", "role": "viewer"}, "required"),
        ({"username": "ok-name", "full_name": "x" * 201, "email": "a@b.co", "role": "viewer"}, "at most 200"),
        (
            {"username": "ok-name", "full_name": "Ana", "email": "not-an-email", "role": "viewer"},
            "e-mail address",
        ),
        (
            {"username": "ok-name", "full_name": "Ana", "email": "a@b.co", "mobile": "12", "role": "viewer"},
            "mobile number",
        ),
        (
            {"username": "ok-name", "full_name": "A\x00na", "email": "a@b.co", "role": "viewer"},
            "control characters",
        ),
        (
            {"username": "ok-name", "full_name": "A\x07na", "email": "a@b.co", "role": "viewer"},
            "control characters",
        ),
        (
            {"username": owner.username.upper(), "full_name": "Ana", "email": "a@b.co", "role": "viewer"},
            "taken",
        ),
        ({"username": "ok-name", "full_name": "Ana", "email": "a@b.co", "role": "superuser"}, "role"),
    ]
    for fields, message in cases:
        response = await client.post("/users", data={"language": "en", **fields, "_csrf_token": token})
        assert response.status_code == 422, fields
        assert message in response.text, (fields, response.text[:3000])
    assert await sql.fetchval("SELECT count(*) FROM app_user") == 1


async def test_nobody_raises_their_own_rights_and_last_owner_is_protected(client: Any, db: str) -> None:
    from portal.domains.identity.auth import user_actor
    from portal.lib.errors import Conflict, Forbidden

    business, owner = await make_business()
    owner_actor = user_actor(owner, business)
    admin = await services.create_user(
        owner_actor, username="adm-1", full_name="Adi Admin", email="a@example.com", role="admin"
    )
    viewer = await services.create_user(
        owner_actor, username="vie-1", full_name="Vivi", email="v@example.com", role="viewer"
    )
    admin_actor = user_actor(admin, business)
    viewer_actor = user_actor(viewer, business)
    # The last owner cannot be demoted or locked.
    for attempt in (
        services.update_user(
            owner_actor,
            owner.id,
            full_name="O",
            mobile="",
            role="admin",
            rights=frozenset(),
            scope_account_id=None,
        ),
        services.set_status(admin_actor, owner.id, "locked"),
    ):
        try:
            await attempt
        except (Conflict, Forbidden):
            pass
        else:
            raise AssertionError("last owner was changed")
    # Only an owner changes an owner or makes one.
    try:
        await services.update_user(
            admin_actor,
            admin.id,
            full_name="A",
            mobile="",
            role="owner",
            rights=admin.rights,
            scope_account_id=None,
        )
    except Forbidden:
        pass
    else:
        raise AssertionError("admin made themselves owner")
    # A viewer cannot manage users at all; a finance user cannot hand out users:manage.
    try:
        await services.update_user(
            viewer_actor,
            viewer.id,
            full_name="V",
            mobile="",
            role="viewer",
            rights=frozenset({"users:manage"}),
            scope_account_id=None,
        )
    except Forbidden:
        pass
    else:
        raise AssertionError("viewer raised their own rights")
    after = await services.get_user(owner_actor, viewer.id)
    assert "users:manage" not in after.rights


async def test_lock_and_password_reset_end_sessions(client: Any, db: str) -> None:
    from portal.domains.identity.auth import user_actor
    from tests.support.identity import enrol

    business, owner = await make_business()
    owner_actor = user_actor(owner, business)
    other = await services.create_user(
        owner_actor, username="ops-1", full_name="Opi", email="o@example.com", role="operator"
    )
    await enrol(other.id)
    await signed_in_client(client, other)
    assert (await client.get("/")).status_code == 200
    await services.set_status(owner_actor, other.id, "locked")
    assert (await client.get("/")).status_code == 303
    assert await sql.fetchval("SELECT count(*) FROM web_session WHERE user_id = $1", other.id) == 0


async def test_rights_change_rotates_the_users_session(client: Any, db: str) -> None:
    from portal.domains.identity.auth import user_actor
    from tests.support.identity import enrol

    business, owner = await make_business()
    owner_actor = user_actor(owner, business)
    other = await services.create_user(
        owner_actor, username="ops-2", full_name="Opa", email="o2@example.com", role="operator"
    )
    await enrol(other.id)
    await signed_in_client(client, other)
    before = client.cookies.get("neraca_session")
    await services.update_user(
        owner_actor,
        other.id,
        full_name="Opa",
        mobile="",
        role="viewer",
        rights=frozenset({"dashboard:view"}),
        scope_account_id=None,
    )
    response = await client.get("/")
    assert response.status_code == 200
    after = client.cookies.get("neraca_session")
    assert after and after != before
    client.cookies.set("neraca_session", before)
    assert (await client.get("/")).status_code == 303


async def test_api_key_created_on_the_page_is_shown_once(client: Any, db: str) -> None:
    _, owner = await make_business()
    await signed_in_client(client, owner)
    page = await client.get("/developers")
    response = await client.post(
        "/developers/keys",
        data={"name": "Shop backend", "right_accounts": "view", "_csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 200
    assert "sk_" in response.text
    listing = await client.get("/developers")
    assert "Shop backend" in listing.text and "sk_" not in listing.text
    stored = await sql.fetchrow("SELECT * FROM api_key")
    assert "sk_" not in stored["secret_sealed"]


async def test_settings_update_fees(client: Any, db: str) -> None:
    business, owner = await make_business()
    await signed_in_client(client, owner)
    page = await client.get("/settings")
    bad = await client.post(
        "/settings",
        data={
            "name": "Toko",
            "default_language": "id",
            "mode": "live",
            "fee_topup": "-5",
            "fee_withdrawal": "8000",
            "fee_transfer": "0",
            "_csrf_token": csrf_from(page.text),
        },
    )
    assert bad.status_code == 422
    # No live payment provider is configured: live mode is refused with a field error, nothing saved.
    live = await client.post(
        "/settings",
        data={
            "name": "Toko Live",
            "default_language": "id",
            "mode": "live",
            "fee_topup": "5.000",
            "fee_withdrawal": "9000",
            "fee_transfer": "0",
            "_csrf_token": csrf_from(page.text),
        },
    )
    assert live.status_code == 422
    assert "Live mode needs a live payment provider" in live.text
    assert (await services.get_business(business.id)).mode == "sandbox"
    ok = await client.post(
        "/settings",
        data={
            "name": "Toko Baru",
            "default_language": "id",
            "mode": "sandbox",
            "fee_topup": "5.000",
            "fee_withdrawal": "9000",
            "fee_transfer": "0",
            "_csrf_token": csrf_from(page.text),
        },
    )
    assert ok.status_code == 303
    updated = await services.get_business(business.id)
    assert updated.fees == {"topup": 5000, "withdrawal": 9000, "transfer": 0}
    assert updated.mode == "sandbox" and updated.name == "Toko Baru"


async def test_account_language_is_saved(client: Any, db: str) -> None:
    _, owner = await make_business()
    await signed_in_client(client, owner)
    home = await client.get("/")
    response = await client.post(
        "/language", data={"language": "id", "next": "/", "_csrf_token": csrf_from(home.text)}
    )
    assert response.status_code == 303
    assert await sql.fetchval("SELECT language FROM app_user WHERE id = $1", owner.id) == "id"


async def test_mail_outbox_is_local_only(client: Any, db: str) -> None:
    await make_business()
    response = await client.get("/dev/mail")
    assert response.status_code == 200
    assert "/enroll/" in response.text
    # Through a reverse proxy on this machine the request is not local: the proxy says who asked.
    proxied = await client.get("/dev/mail", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 404 and "/enroll/" not in proxied.text
