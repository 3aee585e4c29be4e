"""Browser security for the identity and audit pages: headers, CSRF for form and htmx posts, XSS payloads in
names never reach the page unescaped."""

from __future__ import annotations

import re
from typing import Any

from portal.domains.audit import services as audit
from portal.domains.identity import services
from portal.domains.identity.auth import user_actor
from portal.lib import sql
from tests.support.identity import csrf_from, make_business, signed_in_client

PAGES = [
    "/",
    "/users",
    "/users/new",
    "/account",
    "/developers",
    "/settings",
    "/activity",
    "/login",
    "/dev/mail",
]

_VECTORS = [
    "<script>alert({n})</script>",
    "<img src=x onerror=alert({n})>",
    "<svg onload=alert({n})>",
    '"><script>alert({n})</script>',
    "'><img src=x onerror=alert({n})>",
    "<iframe src=javascript:alert({n})>",
    "<body onload=alert({n})>",
    '<a href="javascript:alert({n})">x</a>',
    '" onmouseover="alert({n})',
    "' onfocus='alert({n})' autofocus='",
    "</textarea><script>alert({n})</script>",
    "</title><script>alert({n})</script>",
    "<details open ontoggle=alert({n})>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert({n})>",
    "{{{{7*7}}}}<script>alert({n})</script>",
    '<div hx-get="/logout" hx-trigger="load">{n}</div>',
    "<input autofocus onfocus=alert({n})>",
    '<object data="javascript:alert({n})">',
    "<style>@import 'http://evil/{n}.css';</style>",
    '<base href="http://evil/{n}/">',
]
PAYLOADS = [vector.format(n=n) for n in range(10) for vector in _VECTORS]  # 200


def test_there_are_at_least_200_payloads() -> None:
    assert len(set(PAYLOADS)) >= 200


async def test_security_headers_on_every_identity_page(client: Any, db: str) -> None:
    _, owner = await make_business()
    await signed_in_client(client, owner)
    for path in PAGES:
        response = await client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "max-age=" in response.headers["strict-transport-security"]
        assert response.headers["cache-control"] == "no-store"
        nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
        for tag in re.findall(r"<script[^>]*>", response.text):
            assert f'nonce="{nonce}"' in tag, (path, tag)
        assert not re.search(r"\son[a-z]+=", response.text), path


async def test_csrf_refused_for_form_and_htmx_posts(client: Any, db: str) -> None:
    _, owner = await make_business()
    await signed_in_client(client, owner)
    before = await sql.fetchval("SELECT count(*) FROM app_user")
    form = {
        "username": "nocsrf",
        "full_name": "No",
        "email": "n@example.com",
        "role": "viewer",
        "language": "en",
    }
    plain = await client.post("/users", data=form)
    assert plain.status_code == 403
    wrong = await client.post("/users", data={**form, "_csrf_token": "forged"})
    assert wrong.status_code == 403
    htmx = await client.post("/users", data=form, headers={"HX-Request": "true", "x-csrftoken": "forged"})
    assert htmx.status_code == 403
    assert await sql.fetchval("SELECT count(*) FROM app_user") == before
    ok = await client.post(
        "/users",
        data=form,
        headers={"HX-Request": "true", "x-csrftoken": csrf_from((await client.get("/users")).text)},
    )
    assert ok.status_code == 303


async def test_xss_payloads_in_names_are_escaped(client: Any, db: str) -> None:
    business, owner = await make_business()
    actor = user_actor(owner, business)
    for index, payload in enumerate(PAYLOADS):
        await sql.execute(
            "INSERT INTO app_user (id, business_id, username, full_name, email, role, rights) "
            "VALUES ($1, $2, $3, $4, $5, 'viewer', '{}')",
            f"usr_xss{index:04d}",
            business.id,
            f"xss{index:04d}",
            payload,
            f"x{index}@example.com",
        )
        await audit.record(actor, "test.xss", payload, refs={"customer": payload})
    await services.update_business(
        actor,
        name=PAYLOADS[0],
        default_language="en",
        mode="sandbox",
        fees={"topup": "1", "withdrawal": "1", "transfer": "0"},
    )
    _key, _ = await services.create_api_key(
        actor, name=PAYLOADS[1][:100], permissions=frozenset({"accounts:view"})
    )
    await signed_in_client(client, owner)
    pages = [
        "/users",
        "/activity?action=test.",
        "/developers",
        "/settings",
        "/",
        "/users/usr_xss0003",
        "/users/usr_xss0008",
    ]
    for path in pages:
        response = await client.get(path)
        assert response.status_code == 200, path
        for payload in PAYLOADS:
            assert payload not in response.text, (path, payload)
        assert "<script>alert(" not in response.text
