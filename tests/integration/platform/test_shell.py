"""Security headers, CSP nonce, CSRF and the language switch on the portal shell."""

from __future__ import annotations

import re
from typing import Any


def csrf_from(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html) or re.search(
        r'"x-csrftoken":\s*"([^"]+)"', html
    )
    assert match, "page carries no CSRF token"
    return match.group(1)


async def test_pages_carry_security_headers_and_a_fresh_nonce(client: Any) -> None:
    first = await client.get("/_test/page")
    second = await client.get("/_test/page")
    assert first.status_code == 200
    csp = first.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert nonce != re.search(r"'nonce-([^']+)'", second.headers["content-security-policy"]).group(1)
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["cache-control"] == "no-store"
    assert "HX-Request" in first.headers["vary"]
    assert "strict-transport-security" in first.headers
    for tag in re.findall(r"<script[^>]*>", first.text):
        assert f'nonce="{nonce}"' in tag, tag
    assert re.search(r"htmx-2\.0\.\d+(\.min)?\.js", first.text)


async def test_post_without_csrf_token_is_refused(client: Any) -> None:
    await client.get("/_test/page")
    response = await client.post("/language", data={"language": "id", "next": "/"})
    assert response.status_code == 403
    assert "security token" in response.text


async def test_language_switch_translates_the_portal(client: Any) -> None:
    home = await client.get("/_test/page")
    assert "Dashboard" in home.text
    response = await client.post(
        "/language", data={"language": "id", "next": "/_test/page", "_csrf_token": csrf_from(home.text)}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/_test/page"
    translated = await client.get("/_test/page")
    assert 'lang="id"' in translated.text
    assert "Dasbor" in translated.text


async def test_language_switch_refuses_unknown_language_and_foreign_redirects(client: Any) -> None:
    home = await client.get("/_test/page")
    token = csrf_from(home.text)
    bad = await client.post("/language", data={"language": "xx", "next": "/_test/page", "_csrf_token": token})
    assert bad.status_code == 422
    foreign = await client.post(
        "/language", data={"language": "en", "next": "//evil.example/", "_csrf_token": token}
    )
    assert foreign.headers["location"] == "/"


async def test_accept_language_is_honoured_without_a_cookie(client: Any) -> None:
    response = await client.get("/", headers={"Accept-Language": "id-ID,id;q=0.9,en;q=0.5"})
    assert 'lang="id"' in response.text
