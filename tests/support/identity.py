"""Helpers for identity tests: businesses, enrolled users with known TOTP secrets, signed API calls."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from portal.lib import clock, security, sql

PASSWORD = "correct horse battery staple 42"


class FakeClock:
    """An injectable clock: tests move it instead of sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


async def make_business(
    name: str = "Toko Maju", owner: str | None = None, mode: str = "sandbox"
) -> tuple[Any, Any]:
    from portal.domains.identity import services

    owner = owner or f"owner{uuid.uuid4().hex[:8]}"
    business, user, _link = await services.create_business(
        name=name,
        owner_username=owner,
        owner_email=f"{owner}@example.com",
        owner_full_name=f"Owner {name}",
        mode=mode,
    )
    await enrol(user.id)
    return business, await services.user_by_id(user.id)


async def enrol(user_id: str, secret: str | None = None, password: str = PASSWORD) -> str:
    """Finish enrolment directly (password + a known TOTP secret); returns the secret."""
    secret = secret or security.new_totp_secret()
    await sql.execute(
        "UPDATE app_user SET password_hash = $2, totp_secret = $3, totp_confirmed = true WHERE id = $1",
        user_id,
        await security.hash_password(password),
        secret,
    )
    return secret


async def totp_secret(user_id: str) -> str:
    return str(await sql.fetchval("SELECT totp_secret FROM app_user WHERE id = $1", user_id))


def code_for(secret: str, at: datetime | None = None, steps: int = 0) -> str:
    moment = (at or clock.now()) + timedelta(seconds=30 * steps)
    return security.totp_code(secret, security.totp_step(moment))


def csrf_from(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html) or re.search(
        r'"x-csrftoken":\s*"([^"]+)"', html
    )
    assert match, "page carries no CSRF token"
    return match.group(1)


async def login(client: Any, username: str, secret: str, password: str = PASSWORD, steps: int = 0) -> Any:
    page = await client.get("/login")
    if page.status_code == 303:  # already signed in: any page carries the token
        page = await client.get("/")
    response = await client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "otp": code_for(secret, steps=steps),
            "_csrf_token": csrf_from(page.text),
        },
    )
    return response


async def signed_in_client(client: Any, user: Any) -> Any:
    """Log `user` in on `client` (uses the next TOTP step so earlier logins do not collide)."""
    secret = await totp_secret(user.id)
    last = await sql.fetchval("SELECT totp_last_step FROM app_user WHERE id = $1", user.id)
    now_step = security.totp_step(clock.now())
    steps = 0 if last is None or last < now_step - 1 else (last - now_step + 1)
    if steps > 1:
        raise AssertionError("ran out of TOTP steps; move the clock")
    response = await login(client, user.username, secret, steps=steps)
    assert response.status_code == 303, response.text
    return client


def signed_headers(
    client_id: str,
    secret: str,
    method: str,
    target: str,
    body: bytes = b"",
    request_id: str | None = None,
    timestamp: str | None = None,
) -> dict[str, str]:
    request_id = request_id or uuid.uuid4().hex
    timestamp = timestamp or clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    message = security.signing_message(
        client_id=client_id, request_id=request_id, timestamp=timestamp, target=target, body=body
    )
    headers = {
        "Client-Id": client_id,
        "Request-Id": request_id,
        "Request-Timestamp": timestamp,
        "Signature": security.sign(secret, message),
    }
    if body:
        headers["Content-Type"] = "application/json"
    return headers
