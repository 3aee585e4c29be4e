"""Account settings posts: a refusal re-renders /account with the field error (422, nothing saved);
a valid change goes back to /account."""

from __future__ import annotations

from typing import Any

from portal.lib import sql
from tests.support.identity import csrf_from, make_business, signed_in_client


async def test_profile_change_refused_then_accepted(client: Any) -> None:
    _, owner = await make_business()
    await signed_in_client(client, owner)
    token = csrf_from((await client.get("/account")).text)
    refused = await client.post(
        "/account/profile",
        data={"_csrf_token": token, "full_name": "Dewi Baru", "mobile": "not a phone", "language": "en"},
    )
    assert refused.status_code == 422
    assert "0812 3456 7890" in refused.text  # the mobile number's specific message
    assert await sql.fetchval("SELECT full_name FROM app_user WHERE id = $1", owner.id) != "Dewi Baru"
    accepted = await client.post(
        "/account/profile",
        data={"_csrf_token": token, "full_name": "Dewi Baru", "mobile": "0812 3456 7890", "language": "en"},
    )
    assert accepted.status_code == 303 and accepted.headers["location"] == "/account"
    assert await sql.fetchval("SELECT full_name FROM app_user WHERE id = $1", owner.id) == "Dewi Baru"


async def test_email_change_needs_password_and_code(client: Any) -> None:
    _, owner = await make_business()
    await signed_in_client(client, owner)
    token = csrf_from((await client.get("/account")).text)
    refused = await client.post(
        "/account/email",
        data={"_csrf_token": token, "current_password": "wrong", "otp": "000000", "email": "new@example.com"},
    )
    assert refused.status_code == 422
    assert await sql.fetchval("SELECT email FROM app_user WHERE id = $1", owner.id) != "new@example.com"
