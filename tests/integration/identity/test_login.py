"""Sign-in: password + TOTP, one generic message, replay refused, throttling and lockout."""

from __future__ import annotations

from typing import Any

import pytest

from portal.domains.identity import auth
from portal.lib import clock, security, sql
from tests.support.identity import (
    PASSWORD,
    FakeClock,
    code_for,
    csrf_from,
    login,
    make_business,
    totp_secret,
)


@pytest.fixture
def fake_clock() -> Any:
    fake = FakeClock()
    clock.set_clock(fake)
    yield fake
    clock.set_clock(None)


async def test_dashboard_requires_login(client: Any) -> None:
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    deep = await client.get("/users?q=x")
    assert deep.status_code in (303, 404)
    htmx = await client.get("/", headers={"HX-Request": "true", "HX-Current-URL": "http://127.0.0.1:8000/"})
    assert htmx.status_code == 401
    assert htmx.headers["hx-redirect"] == "/login"


async def test_login_sets_a_session_and_rotates_it(client: Any, db: str) -> None:
    _, owner = await make_business()
    secret = await totp_secret(owner.id)
    response = await login(client, owner.username, secret)
    assert response.status_code == 303, response.text
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    first_token = client.cookies.get("neraca_session")
    home = await client.get("/")
    assert home.status_code == 200
    assert owner.full_name in home.text
    # Signing in again (next code) replaces the session id; the old id stops working.
    again = await login(client, owner.username, secret, steps=1)
    assert again.status_code == 303
    second_token = client.cookies.get("neraca_session")
    assert second_token != first_token
    assert (
        await sql.fetchval("SELECT count(*) FROM web_session WHERE id = $1", security.token_hash(first_token))
        == 0
    )


async def test_one_generic_message_for_unknown_user_wrong_password_wrong_code(client: Any, db: str) -> None:
    _, owner = await make_business()
    secret = await totp_secret(owner.id)
    page = await client.get("/login")
    token = csrf_from(page.text)
    texts = []
    for username, password, otp in (
        ("nobody-here", PASSWORD, code_for(secret)),
        (owner.username, "wrong password here", code_for(secret)),
        (owner.username, PASSWORD, "000000" if code_for(secret) != "000000" else "111111"),
    ):
        response = await client.post(
            "/login", data={"username": username, "password": password, "otp": otp, "_csrf_token": token}
        )
        assert response.status_code == 400
        assert auth.GENERIC_FAILURE in response.text
        texts.append(response.text)
    assert client.cookies.get("neraca_session") is None
    actions = [r["action"] for r in await sql.fetch("SELECT action FROM activity ORDER BY id")]
    assert actions.count("user.login_failed") == 3


async def test_totp_code_cannot_be_used_twice(client: Any, db: str, fake_clock: FakeClock) -> None:
    # The clock stands still: on the wall clock the second sign-in could fall in the next 30-second
    # step and rightly be accepted with that step's new code.
    _, owner = await make_business()
    secret = await totp_secret(owner.id)
    assert (await login(client, owner.username, secret)).status_code == 303
    client.cookies.clear()
    replay = await login(client, owner.username, secret)
    assert replay.status_code == 400
    # The generic failure, as for a wrong password: saying "already used" would confirm the password.
    assert auth.GENERIC_FAILURE in replay.text and "already used" not in replay.text
    # An earlier step than the last used one is refused too.
    older = await login(client, owner.username, secret, steps=-1)
    assert older.status_code == 400


async def test_window_is_one_step(client: Any, db: str, fake_clock: FakeClock) -> None:
    _, owner = await make_business()
    secret = await totp_secret(owner.id)
    assert (await login(client, owner.username, secret, steps=2)).status_code == 400
    assert (await login(client, owner.username, secret, steps=1)).status_code == 303


async def test_progressive_delay_then_lockout(client: Any, db: str, fake_clock: FakeClock) -> None:
    _, owner = await make_business()
    secret = await totp_secret(owner.id)
    for _ in range(5):
        assert (await login(client, owner.username, secret, password="not the password!")).status_code == 400
    throttled = await login(client, owner.username, secret)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    for _ in range(5):
        fake_clock.advance(seconds=61)
        assert (await login(client, owner.username, secret, password="not the password!")).status_code == 400
    fake_clock.advance(seconds=61)
    locked = await login(client, owner.username, secret)
    assert locked.status_code == 429
    assert "minutes" in locked.text
    assert await sql.fetchval("SELECT count(*) FROM activity WHERE action = 'user.lockout'") == 1
    fake_clock.advance(minutes=16)
    assert (await login(client, owner.username, secret)).status_code == 303


async def test_unknown_users_are_throttled_the_same_way(client: Any, db: str) -> None:
    _, owner = await make_business()
    secret = await totp_secret(owner.id)
    for _ in range(5):
        assert (await login(client, "ghost-user", secret)).status_code == 400
    assert (await login(client, "ghost-user", secret)).status_code == 429


async def test_login_rehashes_when_parameters_change(client: Any, db: str) -> None:
    from argon2 import PasswordHasher

    _, owner = await make_business()
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    await sql.execute("UPDATE app_user SET password_hash = $2 WHERE id = $1", owner.id, weak)
    secret = await totp_secret(owner.id)
    assert (await login(client, owner.username, secret)).status_code == 303
    stored = await sql.fetchval("SELECT password_hash FROM app_user WHERE id = $1", owner.id)
    assert stored != weak
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


async def test_recovery_code_signs_in_once(client: Any, db: str) -> None:
    _, owner = await make_business()
    codes = await auth.new_recovery_codes(owner.id)
    page = await client.get("/login")
    data = {
        "username": owner.username,
        "password": PASSWORD,
        "otp": codes[0],
        "_csrf_token": csrf_from(page.text),
    }
    assert (await client.post("/login", data=data)).status_code == 303
    client.cookies.clear()
    page = await client.get("/login")
    data["_csrf_token"] = csrf_from(page.text)
    assert (await client.post("/login", data=data)).status_code == 400


async def test_login_without_csrf_token_is_refused(client: Any, db: str) -> None:
    _, owner = await make_business()
    await client.get("/login")
    response = await client.post(
        "/login", data={"username": owner.username, "password": PASSWORD, "otp": "123456"}
    )
    assert response.status_code == 403


async def test_bad_input_gets_specific_messages(client: Any, db: str) -> None:
    page = await client.get("/login")
    token = csrf_from(page.text)
    empty = await client.post(
        "/login", data={"username": "", "password": "", "otp": "", "_csrf_token": token}
    )
    assert empty.status_code == 422
    assert "required" in empty.text
    nul = await client.post(
        "/login", data={"username": "a\x00b", "password": "x", "otp": "1", "_csrf_token": token}
    )
    assert nul.status_code == 422
    assert "control characters" in nul.text
    long = await client.post(
        "/login", data={"username": "a" * 65, "password": "x", "otp": "1", "_csrf_token": token}
    )
    assert long.status_code == 422


async def test_open_redirect_after_login_is_refused(client: Any, db: str) -> None:
    _, owner = await make_business()
    secret = await totp_secret(owner.id)
    page = await client.get("/login?next=//evil.example/")
    assert 'value="/"' in page.text
    response = await client.post(
        "/login",
        data={
            "username": owner.username,
            "password": PASSWORD,
            "otp": code_for(secret),
            "next": "https://evil.example/",
            "_csrf_token": csrf_from(page.text),
        },
    )
    assert response.headers["location"] == "/"
