"""Tenant isolation: every route of the app against the checked-in policy (tests/security/route_policy.json).

A route missing from the policy fails. For each route: anonymous callers are turned away (login
redirect for pages, 401 for the API); a user without the route's right gets 403; a user of another
business gets 404 for every object of this one; a user scoped to a sibling subtree gets 404.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from portal.domains.identity import roles, services
from portal.domains.identity.auth import user_actor
from portal.lib import sql
from portal.lib.ids import new_id
from tests.support.billing import billing_objects
from tests.support.database import truncate_all
from tests.support.identity import (
    csrf_from,
    enrol,
    make_business,
    signed_headers,
    signed_in_client,
)
from tests.support.invoices import invoices_objects

POLICY_FILE = Path(__file__).with_name("route_policy.json")
POLICY: dict[str, Any] = {
    k: v for k, v in json.loads(POLICY_FILE.read_text()).items() if not k.startswith("_")
}


def app_routes(app: Any) -> list[str]:
    keys = []
    for route in app.routes:
        for method in sorted(getattr(route, "methods", ()) or ()):
            if method in ("HEAD", "OPTIONS"):
                continue
            keys.append(f"{method} {route.path}")
    return sorted(set(keys))


def test_every_route_has_a_policy_entry(app: Any) -> None:
    missing = [key for key in app_routes(app) if key not in POLICY]
    assert not missing, f"routes without an entry in {POLICY_FILE.name}: {missing}"
    stale = [key for key in POLICY if key not in app_routes(app)]
    assert not stale, f"policy entries for routes that no longer exist: {stale}"


def fill(path: str, objects: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return objects.get(name, "x_" + name)

    return re.sub(r"\{([a-z_]+):[a-z]+\}", replace, path)


async def request(client: Any, method: str, url: str, token: str | None) -> Any:
    if method == "GET":
        return await client.get(url)
    data = {"_csrf_token": token} if token else {}
    return await client.request(method, url, data=data)


def routes_where(predicate: Any) -> list[str]:
    return [key for key, rule in sorted(POLICY.items()) if predicate(rule)]


@pytest.fixture
async def anonymous(app: Any, database: str) -> AsyncIterator[Any]:
    """A client without cookies over an untouched database: the anonymous checks read no rows, so they
    need no emptied tables (`db`)."""
    from httpx import ASGITransport, AsyncClient

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://127.0.0.1:8000") as client:
        yield client


@pytest.mark.parametrize("key", routes_where(lambda r: r["auth"] == "session"))
async def test_session_routes_turn_anonymous_callers_to_login(anonymous: Any, key: str) -> None:
    method, path = key.split(" ", 1)
    response = await request(anonymous, method, fill(path, {}), None)
    assert response.status_code == 303, (key, response.status_code)
    assert response.headers["location"].startswith("/login")


@pytest.mark.parametrize("key", routes_where(lambda r: r["auth"] == "api"))
async def test_api_routes_refuse_unsigned_calls(anonymous: Any, key: str) -> None:
    method, path = key.split(" ", 1)
    response = await anonymous.request(method, fill(path, {}), content=b"{}" if method != "GET" else None)
    assert response.status_code == 401, key
    assert response.json()["code"] == "unauthorized"


# One business for the tests below, with one signed-in user per (menu, level) lacking that right, made on
# first use and reused while the business exists (reseeded after a test that empties the database). A
# route that wrongly let the user through fails its own test.
_LIMITED: dict[str, Any] = {}


async def limited_client(app: Any, rule: dict[str, Any]) -> tuple[Any, str, str]:
    """A portal client signed in as a user with every right except `rule`'s (keeping `menu:view` when the
    route needs `manage`), its CSRF token, and the business owner's id."""
    from httpx import ASGITransport, AsyncClient

    if not (_LIMITED and await sql.fetchval("SELECT 1 FROM business WHERE id = $1", _LIMITED["business"].id)):
        for client, _ in _LIMITED.get("clients", {}).values():
            await client.aclose()
        _LIMITED.clear()
        await truncate_all()
        business, owner = await make_business()
        _LIMITED.update(business=business, owner=owner, clients={})
    which = (rule["menu"], rule["level"] == "manage")
    if which not in _LIMITED["clients"]:
        rights = {r for r in roles.ALL_RIGHTS if not r.startswith(rule["menu"] + ":")}
        if rule["level"] == "manage":
            rights.add(f"{rule['menu']}:view")
        limited = await services.create_user(
            user_actor(_LIMITED["owner"], _LIMITED["business"]),
            username=f"limited-{len(_LIMITED['clients'])}",
            full_name="Limited",
            email="l@example.com",
            role="admin",
            rights=frozenset(rights),
        )
        await enrol(limited.id)
        client = AsyncClient(transport=ASGITransport(app=app), base_url="http://127.0.0.1:8000")
        await signed_in_client(client, limited)
        _LIMITED["clients"][which] = (client, csrf_from((await client.get("/account")).text))
    client, token = _LIMITED["clients"][which]
    return client, token, _LIMITED["owner"].id


@pytest.mark.parametrize("key", routes_where(lambda r: r["auth"] == "session" and r.get("menu")))
async def test_session_routes_need_their_right(app: Any, database: str, key: str) -> None:
    client, token, owner_id = await limited_client(app, POLICY[key])
    method, path = key.split(" ", 1)
    response = await request(client, method, fill(path, {"user_id": owner_id}), token)
    assert response.status_code == 403, (key, response.status_code, response.text[:500])


async def objects_of(business: Any, owner: Any) -> dict[str, str]:
    actor = user_actor(owner, business)
    other = await services.create_user(
        actor, username=f"o{business.id[-6:]}", full_name="Other", email="o@example.com", role="viewer"
    )
    key, _ = await services.create_api_key(actor, name="k", permissions=frozenset({"accounts:view"}))
    session = await sql.fetchval("SELECT public_id FROM web_session WHERE user_id = $1 LIMIT 1", owner.id)
    objects = {"user_id": other.id, "key_id": key.id, "public_id": session or "none"}
    objects.update(await ledger_objects(business, actor))
    objects.update(await reports_objects(actor, objects["account_id"]))
    objects.update(await payouts_objects(business.id, objects["account_id"], actor))
    objects.update(await payments_objects(business.id, objects["account_id"]))
    objects.update(await webhooks_objects(actor))
    from portal.domains.accounts.services import ensure_business_accounts

    main = await ensure_business_accounts(business.id)
    objects.update(await invoices_objects(actor, main, objects["account_id"]))
    objects.update(await monitoring_objects(business.id, objects["account_id"]))
    objects.update(await billing_objects(actor, objects["account_id"]))
    return objects


async def monitoring_objects(business_id: str, account_id: str) -> dict[str, str]:
    """An alert on the account and one of the business's default monitoring rules."""
    from tests.support.monitoring import insert_alert

    rule_id = await sql.fetchval(
        "SELECT id FROM monitoring_rule WHERE business_id = $1 ORDER BY id LIMIT 1", business_id
    )
    report_id = new_id("rpt")
    await sql.execute(
        "INSERT INTO report_definition (business_id, id, name, spec) VALUES ($1, $2, 'Object', $3::jsonb)",
        business_id,
        report_id,
        '{"dataset": "transfers"}',
    )
    return {
        "alert_id": await insert_alert(business_id, account_id),
        "rule_id": rule_id,
        "report_id": report_id,
    }


async def payouts_objects(business_id: str, account_id: str, actor: Any = None) -> dict[str, str]:
    """A beneficiary of the business (inserted as the name inquiry would have verified it) and, given an
    actor, a payout to it (scheduled, never sent: no job worker runs here)."""
    beneficiary_id = new_id("ben")
    await sql.execute(
        "INSERT INTO beneficiary (id, business_id, account_id, kind, bank_code, account_number, typed_name, "
        "holder_name, name_matches, verified_at, usable_from, is_default) "
        "VALUES ($1, $2, $3, 'bank', '014', '1234567890', 'Object', 'OBJECT', true, now(), now(), true)",
        beneficiary_id,
        business_id,
        account_id,
    )
    if actor is None:
        return {"beneficiary_id": beneficiary_id}
    from portal.domains.payouts import batches, lifecycle

    payout = await lifecycle.create_payout(
        actor, beneficiary_id=beneficiary_id, amount=1_000, reference=f"ISO-PO-{beneficiary_id[-6:]}"
    )
    text = (
        "reference,amount,code,account_number,holder_name,description,email\n"
        "ISO-B-1,1000,014,8800112233,Iso,,\n"
    )
    batch_id = await batches.upload_batch(actor, "iso.csv", text.encode(), account_id=account_id)
    return {"beneficiary_id": beneficiary_id, "payout_id": payout.id, "batch_id": batch_id, "row_no": "2"}


async def payments_objects(business_id: str, account_id: str) -> dict[str, str]:
    """A paid payment, a settlement batch and a split rule of the business (payments routes)."""
    payment_id, settlement_id, rule_id = new_id("pay"), new_id("stl"), new_id("spl")
    await sql.execute(
        "INSERT INTO payment (business_id, id, account_id, amount, currency, channel, bank_code, "
        "invoice_number, "
        "customer_name, source, request_hash, status, paid_at) "
        "VALUES ($1, $2, $3, 100000, 'IDR', 'va', '014', 'ISO-PAY', 'Object', 'api', 'x', 'paid', now())",
        business_id,
        payment_id,
        account_id,
    )
    await sql.execute(
        "INSERT INTO settlement (business_id, id, channel, business_day, settlement_date) "
        "VALUES ($1, $2, 'va', current_date, current_date + 1)",
        business_id,
        settlement_id,
    )
    await sql.execute(
        "INSERT INTO split_rule (business_id, id, name, destinations) VALUES ($1, $2, 'Object', '[]'::jsonb)",
        business_id,
        rule_id,
    )
    return {"payment_id": payment_id, "settlement_id": settlement_id, "split_rule_id": rule_id}


async def webhooks_objects(actor: Any) -> dict[str, str]:
    """A webhook endpoint and an event of the actor's business (webhooks routes)."""
    from portal.domains.webhooks import services as webhooks
    from portal.lib.sql import transaction

    endpoint, _ = await webhooks.create_endpoint(actor, url="http://127.0.0.1:9/hook")
    async with transaction():
        event_id = await webhooks.emit(actor.business_id, "transfer.created", {"id": "trf_x"})
    return {"endpoint_id": endpoint.id, "event_id": event_id}


async def reports_objects(actor: Any, account_id: str) -> dict[str, str]:
    """A statement export and a statement schedule of the actor's business (reports routes)."""
    from portal.domains.reports import schedules
    from portal.domains.reports import services as reports
    from portal.domains.reports.services import today_wib

    day = today_wib()
    statement = await reports.resolve(actor, account_id, start=day, end=day, fmt="csv")
    export = await reports.start_export(actor, statement, "csv")
    schedule = await schedules.create_schedule(
        actor,
        account_id=account_id,
        include_descendants=False,
        frequency="daily",
        fmt="csv",
        email="finance@example.com",
    )
    return {"export_id": export.id, "schedule_id": schedule.id}


async def ledger_objects(business: Any, actor: Any, parent_id: str | None = None) -> dict[str, str]:
    """An account (under `parent_id`, else the main account), its top-up, withdrawal, hold, transfer and
    notification of `business` (accounts and ledger routes)."""
    from portal.domains.accounts import services as accounts
    from portal.domains.ledger import services as ledger
    from portal.domains.notifications.services import notify

    main = await accounts.ensure_business_accounts(business.id)
    account = await accounts.create_account(actor, name="Object", kind="partner", parent_id=parent_id or main)
    await accounts.update_account(
        actor,
        account.id,
        {"settlement_bank": {"bank_code": "014", "account_number": "1234567890", "holder_name": "Object"}},
    )
    topup = await ledger.create_topup(actor, account_id=account.id, amount=50_000, reference="ISO-TOP")
    await ledger.simulate_topup_payment(actor, topup.id)
    withdrawal = await ledger.create_withdrawal(
        actor, account_id=account.id, amount=1_000, reference="ISO-WD"
    )
    notification = await notify(business.id, account.id, "transfer.received", {"amount": 1}, "")
    hold = await ledger.create_hold(
        actor, from_account_id=account.id, to_account_id=main, amount=500, reference="ISO-HOLD"
    )
    transfer = await ledger.create_transfer(
        actor, from_account_id=account.id, to_account_id=main, amount=100, reference="ISO-TR"
    )
    return {
        "account_id": account.id,
        "topup_id": topup.id,
        "withdrawal_id": withdrawal.id,
        "notification_id": notification,
        "hold_id": hold.id,
        "transfer_id": transfer.id,
    }


# Businesses A and B with every kind of object of B, seeded once for the tests below and reused while B
# still exists (a test using the `db` fixture empties every table; the next test here then seeds again).
# Each test only sends A's request for B's object and checks it changed nothing, so sharing is safe; a
# request that did change something fails its own test.
_FOREIGN: dict[str, Any] = {}


async def foreign_world(app: Any) -> dict[str, Any]:
    """A's signed-in portal client and CSRF token, a client without cookies and A's API key (every right)
    for the API, B and B's objects."""
    from httpx import ASGITransport, AsyncClient

    if _FOREIGN and await sql.fetchval("SELECT 1 FROM business WHERE id = $1", _FOREIGN["business_b"].id):
        return _FOREIGN
    if _FOREIGN:
        await _FOREIGN["client"].aclose()
        await _FOREIGN["api_client"].aclose()
        _FOREIGN.clear()
    await truncate_all()
    business_a, owner_a = await make_business(name="A")
    business_b, owner_b = await make_business(name="B")
    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as other:
        await signed_in_client(other, owner_b)  # B has a live session whose id A must not reach
    objects_b = await objects_of(business_b, owner_b)
    client = AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")
    await signed_in_client(client, owner_a)
    api_key, secret = await services.create_api_key(
        user_actor(owner_a, business_a), name="a", permissions=frozenset(roles.ALL_RIGHTS)
    )
    _FOREIGN.update(
        business_b=business_b,
        objects_b=objects_b,
        client=client,
        api_client=AsyncClient(transport=transport, base_url="http://127.0.0.1:8000"),  # no cookies
        token=csrf_from((await client.get("/account")).text),
        api_key=api_key,
        secret=secret,
    )
    return _FOREIGN


@pytest.mark.parametrize("key", routes_where(lambda r: r["auth"] == "session" and r.get("object")))
async def test_objects_of_another_business_are_404(app: Any, database: str, key: str) -> None:
    world = await foreign_world(app)
    business_b, objects_b, client = world["business_b"], world["objects_b"], world["client"]
    method, path = key.split(" ", 1)
    before = await sql.fetchval("SELECT count(*) FROM activity WHERE business_id = $1", business_b.id)
    response = await request(client, method, fill(path, objects_b), world["token"])
    assert response.status_code == 404, (key, response.status_code, response.text[:300])
    assert await sql.fetchval("SELECT count(*) FROM activity WHERE business_id = $1", business_b.id) == before
    assert await sql.fetchval("SELECT status FROM app_user WHERE id = $1", objects_b["user_id"]) == "active"


# A body the route would refuse (unknown field, missing `reason`): ownership must be decided first.
BAD_BODY = b'{"unexpected": true}'


@pytest.mark.parametrize("key", [k for k in routes_where(lambda r: r["auth"] == "api") if "{" in k])
@pytest.mark.parametrize("body", [BAD_BODY, b"{}", b"not json"])
async def test_api_objects_of_another_business_are_404(
    app: Any, database: str, key: str, body: bytes
) -> None:
    """Regression: mark-failed answered 422 for another business's withdrawal because the body was
    validated before the lookup. Every API route naming an object answers 404 before reading the body."""
    world = await foreign_world(app)
    business_b, objects_b, client = world["business_b"], world["objects_b"], world["api_client"]
    method, path = key.split(" ", 1)
    target = fill(path, objects_b)
    if target.endswith("/statement"):
        target += "?start=2025-01-01&end=2025-01-31"
    content = body if method != "GET" else b""
    headers = signed_headers(world["api_key"].client_id, world["secret"], method, target, content)
    before = await sql.fetchval("SELECT count(*) FROM activity WHERE business_id = $1", business_b.id)
    response = await client.request(method, target, content=content or None, headers=headers)
    assert response.status_code == 404, (key, response.status_code, response.text[:300])
    assert response.json()["code"] == "not_found"
    assert await sql.fetchval("SELECT count(*) FROM activity WHERE business_id = $1", business_b.id) == before


async def test_sibling_subtree_users_are_404(client: Any, db: str) -> None:
    from portal.domains.accounts import services as accounts

    business, owner = await make_business()
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    div_a = await accounts.create_account(actor, name="Div A", kind="division", parent_id=main)
    div_b = await accounts.create_account(actor, name="Div B", kind="division", parent_id=main)
    manager = await services.create_user(
        actor,
        username="div-a-mgr",
        full_name="Div A",
        email="a@example.com",
        role="admin",
        scope_account_id=div_a.id,
    )
    sibling = await services.create_user(
        actor,
        username="div-b-user",
        full_name="Div B",
        email="b@example.com",
        role="viewer",
        scope_account_id=div_b.id,
    )
    await enrol(manager.id)
    await signed_in_client(client, manager)
    assert (await client.get(f"/users/{sibling.id}")).status_code == 404
    listing = await client.get("/users")
    assert "div-b-user" not in listing.text
    # The scope picker of a scoped manager offers their own subtree only: no whole business, no sibling.
    form = await client.get("/users/new")
    select = form.text.split('id="f-scope_account_id"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="([^"]*)"', select) == [div_a.id]
    assert div_b.id not in form.text and main not in form.text
    token = csrf_from(form.text)
    base = {"_csrf_token": token, "username": "div-x", "full_name": "X", "email": "x@example.com"}
    for scope in (div_b.id, main, ""):
        response = await client.post("/users", data={**base, "role": "viewer", "scope_account_id": scope})
        assert response.status_code in (403, 422), (scope, response.status_code)
    assert await sql.fetchval("SELECT count(*) FROM app_user WHERE username = 'div-x'") == 0
    created = await client.post("/users", data={**base, "role": "viewer", "scope_account_id": div_a.id})
    assert created.status_code == 303, created.text[:500]


@pytest.mark.parametrize("field", ["business_id", "balance", "role"])
async def test_unknown_api_body_fields_are_refused(client: Any, db: str, field: str) -> None:
    """Unknown body fields → 422 (checked on the first POST route that takes a body)."""
    business, owner = await make_business()
    key, secret = await services.create_api_key(
        user_actor(owner, business), name="k", permissions=frozenset(roles.ALL_RIGHTS)
    )
    body = json.dumps({"name": "x", "kind": "partner", field: "y"}).encode()
    target = "/api/v1/accounts"
    if f"POST {target}" not in POLICY:
        pytest.fail("POST /api/v1/accounts is gone: point this test at another POST route")
    response = await client.post(
        target, content=body, headers=signed_headers(key.client_id, secret, "POST", target, body)
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "unknown_field"


# ---- scoped actors and every POST ---------------------------------------------------------------
#
# A user (or API key) of each role, scoped to division A, calls every POST route of the app against
# objects outside division A: a business-wide user and key, a division-B user and key, the owner's
# session, division B's account with its money objects, and the business's own settings. Whatever the
# answer (403, 404, 422…), nothing outside division A may change.

POST_ROUTES = [
    key for key in routes_where(lambda r: r["auth"] in ("session", "api")) if key.startswith("POST ")
]
# Routes that name no object in the path get a body pointing at objects outside the scope: the form
# fields every portal form uses, or the route's `probe` (its JSON body) from the policy.
OUT_OF_SCOPE_FORM = {
    "from_account_id": "{account_id}",
    "to_account_id": "{main_account_id}",
    "account_id": "{account_id}",
    "parent_id": "{account_id}",
    "scope_account_id": "{account_id}",
    "user_id": "{user_id}",
    "amount": "1000",
    "reference": "SCOPE-PROBE",
    "description": "probe",
    "name": "Probe",
    "kind": "partner",
    "currency": "IDR",
    "username": "scope-probe",
    "full_name": "Probe",
    "email": "probe@example.com",
    "role": "viewer",
    "permissions": "accounts:view",
    "mode": "live",
    "default_language": "id",
    "fee_topup": "1",
    "fee_withdrawal": "1",
    "fee_transfer": "1",
    "frequency": "daily",
    "fmt": "csv",
    "format": "csv",
    "start": "2026-01-01",
    "end": "2026-01-31",
    "reason": "probe",
    "status": "frozen",
    "state": "frozen",
}


def _fill_text(text: str, objects: dict[str, str]) -> str:
    return re.sub(r"\{([a-z_]+)\}", lambda m: objects[m.group(1)], text)


def _fill_body(value: Any, objects: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _fill_text(value, objects)
    if isinstance(value, dict):
        return {k: _fill_body(v, objects) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_body(v, objects) for v in value]
    return value


# Rows the acting user or key may change on their own: their sessions and sign-in bookkeeping (any row
# whose `user_id` is theirs, their `app_user` row, their own failed re-authentication in `activity`), the
# acting key's last use, and the key's Request-Id claims (`api_request`).
_OWN_ROWS = {
    "app_user": "r->>'id' IS DISTINCT FROM $2::text",
    "api_key": "r->>'id' IS DISTINCT FROM $3::text",
    "activity": "r->'refs' IS DISTINCT FROM jsonb_build_object('user_id', $2::text)",
}
_SKIPPED_TABLES = {"api_request"}


async def fingerprint_query() -> str:
    """One query giving, per table that carries `business_id`, the row count and an md5 of the business's
    rows (each as JSON, sorted) without the acting user's and key's own rows ($1 business, $2 user, $3 key).
    An UPDATE that keeps the count still changes the digest."""
    tables = await sql.fetch(
        "SELECT c.table_name, array_agg(c.column_name::text) AS columns FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema "
        "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
        "GROUP BY c.table_name HAVING 'business_id' = ANY(array_agg(c.column_name::text)) ORDER BY 1"
    )
    parts = []
    for table in tables:
        name, columns = table["table_name"], set(table["columns"])
        if name in _SKIPPED_TABLES:
            continue
        kept = ["true"]
        if "user_id" in columns:
            kept.append("r->>'user_id' IS DISTINCT FROM $2::text")
        if name in _OWN_ROWS:
            kept.append(_OWN_ROWS[name])
        parts.append(
            f"SELECT '{name}'::text AS name, count(*) AS rows, "
            f"coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '') AS digest "
            f'FROM (SELECT to_jsonb(t) AS r FROM "{name}" t WHERE t.business_id = $1::text) s '
            f"WHERE {' AND '.join(kept)}"
        )
    return " UNION ALL ".join(parts)


async def business_state(
    query: str, business_id: str, actor_user_id: str, actor_key_id: str
) -> dict[str, Any]:
    """Per table: (row count, digest) of what an out-of-scope POST must leave alone."""
    rows = await sql.fetch(query, business_id, actor_user_id, actor_key_id)
    return {row["name"]: (row["rows"], row["digest"]) for row in rows}


def state_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The tables whose rows changed, with their row counts before and after."""
    return {
        table: {"rows before": before.get(table, (0, ""))[0], "rows after": after.get(table, (0, ""))[0]}
        for table in sorted(set(before) | set(after))
        if before.get(table) != after.get(table)
    }


async def scoped_world(client: Any) -> tuple[Any, Any, dict[str, list[str]], Any]:
    """A business with divisions A and B; out-of-scope objects of every kind (lists: each is tried)."""
    from httpx import ASGITransport, AsyncClient

    from portal.domains.accounts import services as accounts

    business, owner = await make_business()
    owner_actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    div_a = await accounts.create_account(owner_actor, name="Div A", kind="division", parent_id=main)
    div_b = await accounts.create_account(owner_actor, name="Div B", kind="division", parent_id=main)
    async with AsyncClient(
        transport=ASGITransport(app=client._transport.app), base_url="http://127.0.0.1:8000"
    ) as other:
        await signed_in_client(other, owner)  # the owner's live session: out of reach of division A
    wide_user = await services.create_user(
        owner_actor, username="wide-user", full_name="Wide", email="w@example.com", role="admin"
    )
    b_user = await services.create_user(
        owner_actor,
        username="div-b-user",
        full_name="Div B",
        email="b@example.com",
        role="viewer",
        scope_account_id=div_b.id,
    )
    await enrol(wide_user.id)
    await enrol(b_user.id)
    wide_key, _ = await services.create_api_key(
        owner_actor, name="wide", permissions=frozenset({"accounts:view"})
    )
    b_key, _ = await services.create_api_key(
        owner_actor, name="div-b", permissions=frozenset({"accounts:view"}), scope_account_id=div_b.id
    )
    session = await sql.fetchval("SELECT public_id FROM web_session WHERE user_id = $1 LIMIT 1", owner.id)
    money = await ledger_objects(business, owner_actor, parent_id=div_b.id)
    objects: dict[str, list[str]] = {k: [v] for k, v in money.items()}
    objects.update({k: [v] for k, v in (await reports_objects(owner_actor, money["account_id"])).items()})
    objects["account_id"].append(div_b.id)
    objects.update({k: [v] for k, v in (await payouts_objects(business.id, money["account_id"])).items()})
    billed = await invoices_objects(owner_actor, main, money["account_id"])
    objects.update({k: [v] for k, v in billed.items()})
    objects.update({k: [v] for k, v in (await billing_objects(owner_actor, money["account_id"])).items()})
    objects.update(
        {
            "user_id": [wide_user.id, b_user.id],
            "key_id": [wide_key.id, b_key.id],
            "public_id": [session],
            "main_account_id": [main],
            "scope_account_id": [div_a.id],
        }
    )
    return business, owner_actor, objects, div_a


def variants(key: str, objects: dict[str, list[str]]) -> list[dict[str, str]]:
    """One filling of the route's placeholders per out-of-scope object it can name."""
    names = set(re.findall(r"\{([a-z_]+):[a-z]+\}", key)) | set(
        re.findall(r"\{([a-z_]+)\}", json.dumps(POLICY[key].get("probe", OUT_OF_SCOPE_FORM)))
    )
    first = {name: values[0] for name, values in objects.items()}
    out = [first]
    for name in sorted(names):
        out += [{**first, name: value} for value in objects.get(name, [])[1:]]
    return out


def test_every_api_post_without_an_object_has_a_probe() -> None:
    """An API POST that names no object in its path must say, in the policy, which body reaches out of
    scope (its JSON is strict: a generic body would be refused before any scope check)."""
    missing = [
        k for k in POST_ROUTES if POLICY[k]["auth"] == "api" and "{" not in k and "probe" not in POLICY[k]
    ]
    assert not missing, f"add a `probe` body to {POLICY_FILE.name} for: {missing}"


async def out_of_scope_changes(
    business_id: str, actor_user_id: str, actor_key_id: str, calls: list[tuple[Any, Any]]
) -> list[tuple[Any, int, Any]]:
    """Make each call in turn (a label and a coroutine function returning the response); a call that
    answers 5xx or changes anything outside the actor's own rows is a failure. The state after one call
    is the state before the next, so it is read once per call."""
    query = await fingerprint_query()
    state = await business_state(query, business_id, actor_user_id, actor_key_id)
    failures = []
    for label, call in calls:
        response = await call()
        after = await business_state(query, business_id, actor_user_id, actor_key_id)
        changes = state_changes(state, after)
        if response.status_code >= 500 or changes:
            failures.append((label, response.status_code, changes or response.text[:200]))
        state = after
    return failures


async def test_a_post_that_writes_outside_the_scope_is_caught(client: Any, db: str) -> None:
    """The check above can fail: a call that renames an account (same row count) or adds a row is named,
    the calls around it that change nothing, or only the actor's own rows, are not."""
    from portal.domains.accounts import services as accounts

    business, owner = await make_business()
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    key, _ = await services.create_api_key(actor, name="k", permissions=frozenset({"accounts:view"}))

    async def read() -> Any:
        return await client.get("/login")

    async def rename() -> Any:
        await sql.execute(
            "UPDATE account SET name = 'Leaked' WHERE business_id = $1 AND id = $2", business.id, main
        )
        return await read()

    async def own_key_used() -> Any:
        await sql.execute("UPDATE api_key SET last_used_at = now() WHERE id = $1", key.id)
        return await read()

    async def add_user() -> Any:
        await services.create_user(
            actor, username="leak", full_name="Leak", email="x@example.com", role="viewer"
        )
        return await read()

    calls = [
        ("read", read),
        ("rename", rename),
        ("own key", own_key_used),
        ("add user", add_user),
        ("read again", read),
    ]
    failures = await out_of_scope_changes(business.id, owner.id, key.id, calls)
    assert [label for label, _, _ in failures] == ["rename", "add user"], failures
    assert set(failures[0][2]) == {"account"}
    assert "app_user" in failures[1][2]


# Every route times every role.
# The world of the test below, seeded once for all roles and reused while its business exists (reseeded
# after a test that empties the database). Each role acts through its own user and key, scoped to division
# A; nothing it may reach is an object another role's check depends on.
_SCOPED: dict[str, Any] = {}


async def shared_scoped_world(app: Any) -> tuple[Any, Any, dict[str, list[str]], Any]:
    if not (_SCOPED and await sql.fetchval("SELECT 1 FROM business WHERE id = $1", _SCOPED["world"][0].id)):
        from httpx import ASGITransport, AsyncClient

        await truncate_all()
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://127.0.0.1:8000") as seeder:
            _SCOPED["world"] = await scoped_world(seeder)
    return _SCOPED["world"]


@pytest.mark.parametrize("role", roles.ROLES)
async def test_scoped_actors_change_nothing_outside_their_scope(app: Any, database: str, role: str) -> None:
    from httpx import ASGITransport, AsyncClient

    business, owner_actor, objects, div_a = await shared_scoped_world(app)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://127.0.0.1:8000") as client:
        await scoped_actor_changes_nothing_outside(client, business, owner_actor, objects, div_a, role)


async def scoped_actor_changes_nothing_outside(
    client: Any, business: Any, owner_actor: Any, objects: dict[str, list[str]], div_a: Any, role: str
) -> None:
    scoped = await services.create_user(
        owner_actor,
        username=f"scoped-{role.replace('_', '-')}",
        full_name=f"Scoped {role}",
        email="s@example.com",
        role=role,
        scope_account_id=div_a.id,
    )
    await enrol(scoped.id)
    await signed_in_client(client, scoped)
    token = csrf_from((await client.get("/account")).text)
    api_key, secret = await services.create_api_key(
        owner_actor, name=f"scoped {role}", permissions=roles.ROLE_PRESETS[role], scope_account_id=div_a.id
    )

    def post(key: str, target: str, filling: dict[str, str]) -> Any:
        rule = POLICY[key]
        if rule["auth"] == "api":
            body = json.dumps(_fill_body(rule.get("probe", {}), filling)).encode()
            headers = signed_headers(api_key.client_id, secret, "POST", target, body)
            return lambda: client.post(target, content=body, headers=headers)
        form = _fill_body(rule.get("probe", OUT_OF_SCOPE_FORM), filling)
        return lambda: client.post(target, data={**form, "_csrf_token": token})

    calls = [
        ((key, target), post(key, target, filling))
        for key in POST_ROUTES
        for filling in variants(key, objects)
        for target in [fill(key.split(" ", 1)[1], filling)]
    ]
    failures = await out_of_scope_changes(business.id, scoped.id, api_key.id, calls)
    assert not failures, "\n".join(repr(f) for f in failures)
