"""Hostile input at the edge: bad text, bad bytes and bad structure are refused before any handler runs
(422 with the field's pointer, 400 for bytes that are not UTF-8), never a 5xx, nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from portal.domains.identity import roles, services
from portal.domains.identity.auth import user_actor
from portal.lib import sql
from tests.support.identity import csrf_from, make_business, signed_headers, signed_in_client


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


API_TEXT_CASES = [
    ("/api/v1/transfers?reference=%00", "/reference"),
    ("/api/v1/transfers?reference=A%E2%80%AEB", "/reference"),
    ("/api/v1/transfers?reference=A%E2%80%8BB", "/reference"),
    ("/api/v1/accounts?q=%00", "/q"),
    ("/api/v1/accounts/acc_%00", "/account_id"),
    ("/api/v1/transfers?reference=" + "x" * 10_000, "/reference"),
]


async def test_api_query_and_path_text_is_refused(client: Any, db: str) -> None:
    creds = await api_key(*await make_business())
    for target, pointer in API_TEXT_CASES:
        response = await signed(client, creds, "GET", target)
        assert response.status_code == 422, (target[:60], response.text[:300])
        problem = response.json()
        assert problem["code"] == "invalid_input"
        assert problem["errors"][0]["pointer"] == pointer
    response = await signed(client, creds, "GET", "/api/v1/transfers?reference=%FF%FE")
    assert response.status_code == 400, response.text[:300]
    assert response.json()["code"] == "invalid_encoding"


JSON_CASES = [
    (b'{"name": "a\\u0000b", "kind": "partner"}', 422, "/name"),
    (b'{"name": "a\\r\\nb", "kind": "partner"}', 422, "/name"),
    (b'{"name": "a\\ud800b", "kind": "partner"}', 422, "/name"),
    (b'{"name": "ok", "kind": "partner", "reference": "R\\u202eF"}', 422, "/reference"),
    (b'{"name": "ok", "kind": "partner", "metadata": {"k": "\\u0000"}}', 422, "/metadata/k"),
    (b'{"name": "ok", "name": "again", "kind": "partner"}', 422, "/name"),
    (b'{"name": "ok", "kind": "partner", "metadata": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}", 422, None),
    (b'{"name": "ok", "kind": "partner", "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}", 422, None),
    (b'{"name": "\xff\xfe", "kind": "partner"}', 400, None),
]


async def test_api_json_bodies_are_checked(client: Any, db: str) -> None:
    business, owner = await make_business()
    creds = await api_key(business, owner)
    before = await sql.fetchval("SELECT count(*) FROM account WHERE business_id = $1", business.id)
    for body, status, pointer in JSON_CASES:
        response = await signed(client, creds, "POST", "/api/v1/accounts", body)
        assert response.status_code == status, (body[:60], response.text[:300])
        if pointer is not None:
            assert response.json()["errors"][0]["pointer"] == pointer
    assert await sql.fetchval("SELECT count(*) FROM account WHERE business_id = $1", business.id) == before


async def test_multi_line_descriptions_still_pass(client: Any, db: str) -> None:
    from portal.domains.accounts import services as accounts

    business, owner = await make_business()
    creds = await api_key(business, owner)
    main = await accounts.ensure_business_accounts(business.id)
    note = {"note": "line 1\nline 2"}
    body = json.dumps({"name": "Toko", "kind": "partner", "parent_id": main, "metadata": note}).encode()
    response = await signed(client, creds, "POST", "/api/v1/accounts", body)
    assert response.status_code in (200, 201), response.text[:300]


async def test_portal_query_and_path_text_is_refused(client: Any, db: str) -> None:
    _, owner = await make_business()
    await signed_in_client(client, owner)
    for target in ("/accounts/acc_%00", "/accounts?q=%00", "/transfers?reference=%00"):
        response = await client.get(target)
        assert response.status_code == 422, (target, response.text[:300])


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


async def test_tampered_cursors_are_invalid_cursor(client: Any, db: str) -> None:
    business, owner = await make_business()
    creds = await api_key(business, owner)
    for target in ("/api/v1/transfers", "/api/v1/accounts", "/api/v1/topups"):
        for cursor in tampered_cursors():
            response = await signed(client, creds, "GET", f"{target}?after={cursor}")
            assert response.status_code == 422, (target, cursor[:40], response.text[:300])
            assert response.json()["code"] in ("invalid_cursor", "invalid_input")
    await signed_in_client(client, owner)
    for target in ("/transfers", "/activity"):
        for cursor in tampered_cursors():
            response = await client.get(f"{target}?after={cursor}")
            assert response.status_code == 422, (target, cursor[:40], response.text[:300])


STATEMENT_QUERIES = [
    "start=0001-01-01&end=0001-01-31",
    "start=0001-01-01&end=2026-01-01&format=csv",
    "start=2026-01-01&end=9999-12-31",
    "start=9999-12-31&end=9999-12-31&format=csv",
]
PORTAL_DATE_TARGETS = [
    "/reports/statement?period=week&date=0001-01-01",
    "/reports/statement?period=month&date=9999-12-31",
    "/reports/statement?period=custom&start=0001-01-01&end=0001-01-02",
    "/reports/statements/file?period=custom&start=0001-01-01&end=0001-01-02&format=csv",
    "/activity?start=0001-01-01",
    "/activity?end=9999-12-31",
]


async def test_dates_out_of_range_are_422_before_any_byte(client: Any, db: str) -> None:
    from portal.domains.accounts import services as accounts

    business, owner = await make_business()
    creds = await api_key(business, owner)
    main = await accounts.ensure_business_accounts(business.id)
    for query in STATEMENT_QUERIES:
        response = await signed(client, creds, "GET", f"/api/v1/accounts/{main}/statement?{query}")
        assert response.status_code == 422, (query, response.text[:300])
        assert response.json()["errors"][0]["pointer"] in ("/start", "/end")
    await signed_in_client(client, owner)
    for target in PORTAL_DATE_TARGETS:
        response = await client.get(f"{target}&account_id={main}")
        assert response.status_code == 422, (target, response.status_code, response.text[:300])


# --- every route of the route table --------------------------------------------------------------------

NUL = "a\x00b"
BIDI = "REF\u202e1-FDP"
LONG = "x" * 10_000
NOT_UTF8 = "%FF%FE"  # percent-escaped bytes that are not UTF-8 (sent raw in query strings)
HOSTILE = {"nul": NUL, "bidi": BIDI, "long": LONG, "not_utf8": NOT_UTF8}
EXTREME_DAYS = ("0001-01-01", "9999-12-31")
DATE_FIELDS = frozenset({"start", "end", "date", "created_from", "created_to", "as_of"})
CURSOR_FIELDS = frozenset({"after"})
# Query parameters some pages read from the request itself (not declared in their signature).
COMMON_QUERY = ("q", "reference", "account_id", "start", "end", "date", "period", "after", "user", "action")
# Form fields the portal's forms post (each page reads the ones it knows).
FORM_FIELDS = (
    "name", "full_name", "username", "email", "mobile", "reference", "description", "reason", "amount",
    "account_id", "from_account_id", "to_account_id", "parent_id", "kind", "currency", "password",
    "current_password", "new_password", "new_password_confirm", "otp", "bank_code", "account_number",
    "holder_name", "frequency", "format", "period", "start", "end", "date", "role", "scope_account_id",
    "language", "section", "action", "step", "next", "fee_topup", "mode", "default_language",
)  # fmt: skip
# Tables whose rows a refused request must leave as they were.
COUNTED = (
    "account", "transfer", "topup", "withdrawal", "hold", "app_user", "api_key", "business",
    "report_export", "report_schedule", "activity", "notification",
)  # fmt: skip
SKIPPED = {"POST /logout"}  # ends the session the rest of the run uses


def route_table(app: Any) -> list[tuple[str, str, list[str]]]:
    """(method, path, declared parameter names) for every route handler of the app."""
    import inspect

    out = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            params = [
                name
                for name in inspect.signature(handler.fn).parameters
                if name not in ("request", "actor", "data", "state", "scope", "socket")
            ]
            for method in sorted(handler.http_methods):
                if (
                    method in ("GET", "POST", "PATCH", "PUT", "DELETE")
                    and f"{method} {route.path}" not in SKIPPED
                ):
                    out.append((method, route.path, params))
    return sorted(set((m, p, tuple(a)) for m, p, a in out))  # type: ignore[misc]


def hostile_value(name: str, kind: str, index: int) -> str:
    if name in DATE_FIELDS:
        return EXTREME_DAYS[index % 2]
    if name in CURSOR_FIELDS:
        return tampered_cursors()[index % len(tampered_cursors())]
    return HOSTILE[kind]


def encode_query(values: dict[str, str], kind: str) -> str:
    from urllib.parse import quote

    # Invalid UTF-8 goes on the wire as it is; everything else percent-encoded.
    return "&".join(
        f"{k}={v if kind == 'not_utf8' and v == NOT_UTF8 else quote(v, safe='')}" for k, v in values.items()
    )


def json_body(schema: dict[str, Any], components: dict[str, Any], kind: str) -> bytes:
    """Every string property of the request body's schema set to the hostile value (others minimal)."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    body: dict[str, Any] = {}
    for index, (name, prop) in enumerate((schema.get("properties") or {}).items()):
        # A type may be a list (`["null", "string"]`): every member counts.
        raw_types = [prop.get("type")] + [
            o.get("type") for o in prop.get("oneOf", []) + prop.get("anyOf", [])
        ]
        types = {t for r in raw_types for t in (r if isinstance(r, list) else [r])}
        if "string" in types:
            body[name] = hostile_value(name, kind if kind != "not_utf8" else "nul", index)
        elif "integer" in types:
            body[name] = 1
        elif "array" in types:
            body[name] = []
        elif "object" in types:
            body[name] = {"note": HOSTILE["nul"]}
    raw = json.dumps(body).encode()
    return raw.replace(b"a\\u0000b", b"a\xff\xfeb", 1) if kind == "not_utf8" else raw


async def counts(business_ids: list[str]) -> dict[str, int]:
    out = {}
    for table in COUNTED:
        column = "id" if table == "business" else "business_id"
        out[table] = int(
            await sql.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = ANY($1::text[])", business_ids)
        )
    return out


async def real_objects(business: Any, owner: Any) -> dict[str, str]:
    """A few real objects of the business for path parameters, so requests reach the handlers."""
    from portal.domains.accounts import services as accounts
    from portal.domains.ledger import services as ledger

    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    account = await accounts.create_account(actor, name="Hostile", kind="partner", parent_id=main)
    topup = await ledger.create_topup(actor, account_id=account.id, amount=50_000, reference="HOST-TOP")
    await ledger.simulate_topup_payment(actor, topup.id)
    transfer = await ledger.create_transfer(
        actor, from_account_id=account.id, to_account_id=main, amount=100, reference="HOST-TR"
    )
    hold = await ledger.create_hold(
        actor, from_account_id=account.id, to_account_id=main, amount=100, reference="HOST-HOLD"
    )
    other = await services.create_user(
        actor, username=f"h{business.id[-6:]}", full_name="Other", email="h@example.com", role="viewer"
    )
    key, _ = await services.create_api_key(actor, name="k", permissions=frozenset({"accounts:view"}))
    return {
        "account_id": account.id,
        "topup_id": topup.id,
        "transfer_id": transfer.id,
        "hold_id": hold.id,
        "user_id": other.id,
        "key_id": key.id,
    }


def fill_path(path: str, objects: dict[str, str], hostile: str | None) -> str:
    import re
    from urllib.parse import quote

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if hostile is not None:
            return hostile if hostile == NOT_UTF8 else quote(hostile, safe="")
        return objects.get(name, "x_" + name)

    return re.sub(r"\{([a-z_]+):[a-z]+\}", replace, path)


@pytest.mark.parametrize("kind", sorted(HOSTILE))
async def test_every_route_refuses_hostile_input_without_a_5xx_or_a_write(
    client: Any, app: Any, db: str, kind: str
) -> None:
    """For every route of the route table: every declared (and commonly read) query parameter, every
    string field of the JSON body or the form, and (separately) every path id gets the hostile value;
    dates get the extremes and cursors a tampered value. No 5xx; no row of the business changes."""
    business, owner = await make_business()
    creds = await api_key(business, owner)
    objects = await real_objects(business, owner)
    await signed_in_client(client, owner)
    token = csrf_from((await client.get("/account")).text)
    spec = (await client.get("/api/openapi.json")).json()
    components = spec.get("components", {}).get("schemas", {})
    before = await counts([business.id])
    failures = []
    for method, path, params in route_table(app):
        names = [p for p in params if f"{{{p}:" not in path]
        query = {
            name: hostile_value(name, kind, i)
            for i, name in enumerate(dict.fromkeys([*names, *COMMON_QUERY]))
        }
        # At most four 10k values per URL (httpx refuses URLs over 64k).
        items = list(query.items())
        chunks = [dict(items[i : i + 4]) for i in range(0, len(items), 4)] if kind == "long" else [query]
        targets = [fill_path(path, objects, None) + "?" + encode_query(chunk, kind) for chunk in chunks]
        if "{" in path and not path.startswith("/static"):
            targets.append(fill_path(path, objects, HOSTILE[kind]))
        for target in targets:
            if path.startswith("/api/v1"):
                body = b""
                if method != "GET":
                    operation = spec["paths"].get(path.replace(":str", ""), {}).get(method.lower(), {})
                    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
                    body = json_body(content["schema"], components, kind) if content else b""
                response = await signed(client, creds, method, target, body)
            elif method == "GET":
                response = await client.get(target)
            else:
                form = {name: hostile_value(name, kind, i) for i, name in enumerate(FORM_FIELDS)}
                if kind == "not_utf8":
                    form = {name: NUL for name in FORM_FIELDS}
                response = await client.request(method, target, data={**form, "_csrf_token": token})
            if response.status_code >= 500:
                failures.append((method, target[:120], response.status_code, response.text[:200]))
    assert not failures, failures
    assert await counts([business.id]) == before
