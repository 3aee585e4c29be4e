"""The 404 page keeps the layout of who is looking: a signed-in user sees it inside the sidebar layout in
their own language with a way back (for an unknown address as for another business's object), a
signed-out visitor the plain layout; the API's 404 stays problem+json. Pages swapped in by htmx keep
the document's title and the page's header."""

from __future__ import annotations

from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.identity import auth
from portal.domains.identity.auth import user_actor
from tests.support.identity import make_business, signed_in_client


async def test_404_keeps_the_signed_in_layout_in_the_users_language(client: Any, db: str) -> None:
    business, owner = await make_business()
    other, other_owner = await make_business()
    main = await accounts.ensure_business_accounts(other.id)
    theirs = await accounts.create_account(
        user_actor(other_owner, other), name="Toko Lain", kind="partner", parent_id=main
    )

    anonymous = await client.get("/no/such/page")
    assert anonymous.status_code == 404
    assert 'class="layout-public"' in anonymous.text and 'id="sidebar"' not in anonymous.text

    await auth.set_language(user_actor(owner, business), "id")
    await signed_in_client(client, owner)
    for address in ("/no/such/page", f"/accounts/{theirs.id}"):
        page = await client.get(address)
        assert page.status_code == 404, address
        assert 'class="layout-app"' in page.text and 'id="sidebar"' in page.text, address
        assert "Halaman tidak ditemukan" in page.text and '<html lang="id">' in page.text, address
        assert 'href="/"' in page.text  # a way back

    fragment = await client.get("/no/such/page", headers={"HX-Request": "true"})
    assert fragment.status_code == 404 and fragment.headers["HX-Retarget"] == "#main"
    assert "<html" not in fragment.text and "Halaman tidak ditemukan" in fragment.text
    assert fragment.text.startswith("<title>Halaman tidak ditemukan · Neraca</title>")

    # A page swapped into the whole of <main> brings its <title> and its header; a part of a page only
    # its title (the same page's).
    whole = await client.get("/accounts", headers={"HX-Request": "true", "HX-Target": "main"})
    assert whole.text.startswith("<title>Akun · Neraca</title>") and 'class="page-header"' in whole.text
    part = await client.get("/accounts", headers={"HX-Request": "true", "HX-Target": "payments"})
    assert part.text.startswith("<title>") and 'class="page-header"' not in part.text

    api = await client.get("/api/v1/no/such/thing")
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.status_code in (401, 404) and "<html" not in api.text
