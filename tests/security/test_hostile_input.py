"""Hostile input at the edge: bad text, bad bytes and bad structure are refused before any handler runs
(422 with the field's pointer, 400 for bytes that are not UTF-8), never a 5xx, nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from portal.domains.identity import roles, services
from portal.domains.identity.auth import user_actor
from portal.lib import sql
from tests.integration.identity.support import make_business, signed_headers, signed_in_client


async def api_key(business: Any, owner: Any) -> tuple[str, str]:
    key, secret = await services.create_api_key(
        user_actor(owner, business), name="k", permissions=frozenset(roles.ALL_RIGHTS)
    )
    return key.client_id, secret


async def signed(client: Any, creds: tuple[str, str], method: str, target: str, body: bytes = b"") -> Any:
    headers = signed_headers(creds[0], creds[1], method, target, body)
    if body:
        headers["Content-Type"] = "application/json"
    return await client.request(method, target, content=body or None, headers=headers)


@pytest.mark.parametrize(
    ("target", "pointer"),
    [
        ("/api/v1/transfers?reference=%00", "/reference"),
        ("/api/v1/transfers?reference=A%E2%80%AEB", "/reference"),
        ("/api/v1/transfers?reference=A%E2%80%8BB", "/reference"),
        ("/api/v1/accounts?q=%00", "/q"),
        ("/api/v1/accounts/acc_%00", "/account_id"),
        ("/api/v1/transfers?reference=" + "x" * 10_000, "/reference"),
    ],
)
async def test_api_query_and_path_text_is_refused(client: Any, db: str, target: str, pointer: str) -> None:
    creds = await api_key(*await make_business())
    response = await signed(client, creds, "GET", target)
    assert response.status_code == 422, response.text[:300]
    problem = response.json()
    assert problem["code"] == "invalid_input"
    assert problem["errors"][0]["pointer"] == pointer


async def test_query_bytes_that_are_not_utf8_are_400(client: Any, db: str) -> None:
    creds = await api_key(*await make_business())
    response = await signed(client, creds, "GET", "/api/v1/transfers?reference=%FF%FE")
    assert response.status_code == 400, response.text[:300]
    assert response.json()["code"] == "invalid_encoding"


@pytest.mark.parametrize(
    ("body", "status", "pointer"),
    [
        (b'{"name": "a\\u0000b", "kind": "partner"}', 422, "/name"),
        (b'{"name": "a\\r\\nb", "kind": "partner"}', 422, "/name"),
        (b'{"name": "a\\ud800b", "kind": "partner"}', 422, "/name"),
        (b'{"name": "ok", "kind": "partner", "reference": "R\\u202eF"}', 422, "/reference"),
        (b'{"name": "ok", "kind": "partner", "metadata": {"k": "\\u0000"}}', 422, "/metadata/k"),
        (b'{"name": "ok", "name": "again", "kind": "partner"}', 422, "/name"),
        (
            b'{"name": "ok", "kind": "partner", "metadata": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}",
            422,
            None,
        ),
        (b'{"name": "ok", "kind": "partner", "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}", 422, None),
        (b'{"name": "\xff\xfe", "kind": "partner"}', 400, None),
    ],
)
async def test_api_json_bodies_are_checked(
    client: Any, db: str, body: bytes, status: int, pointer: str | None
) -> None:
    business, owner = await make_business()
    creds = await api_key(business, owner)
    before = await sql.fetchval("SELECT count(*) FROM account WHERE business_id = $1", business.id)
    response = await signed(client, creds, "POST", "/api/v1/accounts", body)
    assert response.status_code == status, response.text[:300]
    if pointer is not None:
        assert response.json()["errors"][0]["pointer"] == pointer
    assert await sql.fetchval("SELECT count(*) FROM account WHERE business_id = $1", business.id) == before


async def test_multi_line_descriptions_still_pass(client: Any, db: str) -> None:
    business, owner = await make_business()
    from portal.domains.accounts import services as accounts

    creds = await api_key(business, owner)
    main = await accounts.ensure_business_accounts(business.id)
    note = {"note": "line 1\nline 2"}
    body = json.dumps({"name": "Toko", "kind": "partner", "parent_id": main, "metadata": note}).encode()
    response = await signed(client, creds, "POST", "/api/v1/accounts", body)
    assert response.status_code in (200, 201), response.text[:300]


@pytest.mark.parametrize("target", ["/accounts/acc_%00", "/accounts?q=%00", "/transfers?reference=%00"])
async def test_portal_query_and_path_text_is_refused(client: Any, db: str, target: str) -> None:
    _, owner = await make_business()
    await signed_in_client(client, owner)
    response = await client.get(target)
    assert response.status_code == 422, response.text[:300]


def tampered_cursors() -> list[str]:
    import base64

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return [
        b64(b"1e309"),
        b64(b"Infinity"),
        b64(b"NaN"),
        b64(b"12345678901234567890123456789"),
        b64(b"[" * 200 + b"]" * 200),
        b64(b'{"a":' * 50 + b"1" + b"}" * 50),
        b64(b'"acc_x"'),
        "not-base64!",
        "A" * 5000,
    ]


@pytest.mark.parametrize("target", ["/api/v1/transfers", "/api/v1/accounts", "/api/v1/topups"])
@pytest.mark.parametrize("cursor", tampered_cursors())
async def test_tampered_api_cursors_are_invalid_cursor(
    client: Any, db: str, target: str, cursor: str
) -> None:
    creds = await api_key(*await make_business())
    response = await signed(client, creds, "GET", f"{target}?after={cursor}")
    assert response.status_code == 422, response.text[:300]
    assert response.json()["code"] in ("invalid_cursor", "invalid_input")


@pytest.mark.parametrize("cursor", tampered_cursors())
async def test_tampered_portal_cursors_are_refused(client: Any, db: str, cursor: str) -> None:
    _, owner = await make_business()
    await signed_in_client(client, owner)
    for target in ("/transfers", "/activity"):
        response = await client.get(f"{target}?after={cursor}")
        assert response.status_code == 422, (target, response.text[:300])


@pytest.mark.parametrize(
    "query",
    [
        "start=0001-01-01&end=0001-01-31",
        "start=0001-01-01&end=2026-01-01&format=csv",
        "start=2026-01-01&end=9999-12-31",
        "start=9999-12-31&end=9999-12-31&format=csv",
    ],
)
async def test_statement_dates_out_of_range_are_422_before_any_byte(client: Any, db: str, query: str) -> None:
    from portal.domains.accounts import services as accounts

    business, owner = await make_business()
    creds = await api_key(business, owner)
    main = await accounts.ensure_business_accounts(business.id)
    response = await signed(client, creds, "GET", f"/api/v1/accounts/{main}/statement?{query}")
    assert response.status_code == 422, response.text[:300]
    assert response.json()["errors"][0]["pointer"] in ("/start", "/end")


@pytest.mark.parametrize(
    "target",
    [
        "/reports/statement?period=week&date=0001-01-01",
        "/reports/statement?period=month&date=9999-12-31",
        "/reports/statement?period=custom&start=0001-01-01&end=0001-01-02",
        "/reports/statements/file?period=custom&start=0001-01-01&end=0001-01-02&format=csv",
        "/activity?start=0001-01-01",
        "/activity?end=9999-12-31",
    ],
)
async def test_portal_dates_out_of_range_are_refused(client: Any, db: str, target: str) -> None:
    from portal.domains.accounts import services as accounts

    business, owner = await make_business()
    main = await accounts.ensure_business_accounts(business.id)
    await signed_in_client(client, owner)
    response = await client.get(f"{target}&account_id={main}")
    assert response.status_code == 422, (target, response.status_code, response.text[:300])
