"""Demo credentials work; `neraca business create` and `neraca api-keys create`."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

from portal.domains.identity import demo
from portal.lib import sql
from tests.support.identity import code_for, csrf_from, signed_headers

NERACA = str(Path(sys.executable).parent / "neraca")


async def neraca(*args: str) -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": os.environ["NERACA_RESOLVED_DATABASE_URL"]}
    process = await asyncio.create_subprocess_exec(
        NERACA, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, out.decode(), err.decode()


async def test_demo_users_and_key_work(client: Any, db: str) -> None:
    state: dict[str, Any] = {"lines": []}
    await demo.load(state)
    assert {"business_id", "owner_user_id", "api_client_id", "api_secret"} <= set(state)
    assert any("demo-owner" in line for line in state["lines"])
    for username, _name, _role, password, secret in demo.DEMO_USERS:
        page = await client.get("/login")
        response = await client.post(
            "/login",
            data={
                "username": username,
                "password": password,
                "otp": code_for(secret),
                "_csrf_token": csrf_from(page.text),
            },
        )
        assert response.status_code == 303, (username, response.text[:500])
        client.cookies.clear()
    me = await client.get(
        "/api/v1/me", headers=signed_headers(state["api_client_id"], state["api_secret"], "GET", "/api/v1/me")
    )
    assert me.status_code == 200
    assert me.json()["business"]["id"] == state["business_id"]


async def test_business_create_and_api_key_commands(db: str) -> None:
    code, out, err = await neraca(
        "business",
        "create",
        "--name",
        "Toko CLI",
        "--owner-username",
        "cli-owner",
        "--owner-email",
        "c@example.com",
    )
    assert code == 0, err
    assert re.search(r"/enroll/\S+", out)
    business_id = await sql.fetchval("SELECT id FROM business WHERE name = 'Toko CLI'")
    code, out, err = await neraca(
        "api-keys", "create", "--business", business_id, "--name", "ops", "--permission", "accounts:view"
    )
    assert code == 0, err
    assert "Client-Id: ck_" in out and "Secret:    sk_" in out
    code, _out, err = await neraca(
        "business", "create", "--name", "", "--owner-username", "x", "--owner-email", "bad"
    )
    assert code != 0 and "Traceback" not in err
    code, _out, err = await neraca(
        "api-keys", "create", "--business", business_id, "--name", "x", "--permission", "root:all"
    )
    assert code != 0 and "unknown permission" in err
