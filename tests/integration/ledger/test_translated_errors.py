"""Refusals come back in the reader's language (portal session in Indonesian, API by Accept-Language),
while the machine codes and pointers stay the same."""

from __future__ import annotations

import json
from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.identity.auth import user_actor
from portal.lib import sql
from tests.support.accounts import post_form
from tests.support.identity import make_business, signed_headers, signed_in_client
from tests.support.ledger import make_api


async def indonesian_owner(client: Any) -> tuple[str, str]:
    business, owner = await make_business()
    await sql.execute("UPDATE app_user SET language = 'id' WHERE id = $1", owner.id)
    await signed_in_client(client, owner)
    main = await accounts.ensure_business_accounts(business.id)
    actor = user_actor(owner, business)
    division = await accounts.create_account(actor, name="Jakarta", kind="division", parent_id=main)
    return main, division.id


async def test_transfer_form_refuses_a_zero_amount_in_indonesian(client: Any) -> None:
    main, division = await indonesian_owner(client)
    form = await client.get("/transfers/new")
    assert "Dari akun" in form.text and "Ke akun" in form.text  # pgettext: the transfer's "From" / "To"

    response = await post_form(
        client,
        "/transfers",
        {"from_account_id": main, "to_account_id": division, "amount": "0", "reference": "ID-ZERO"},
        page_url="/transfers/new",
    )
    assert response.status_code == 422
    assert '<a href="#f-amount">harus lebih dari nol</a>' in response.text  # the error summary, in Indonesian
    assert "must be greater than zero" not in response.text


async def test_engine_refusal_is_translated_in_the_portal(client: Any) -> None:
    main, division = await indonesian_owner(client)
    response = await post_form(
        client,
        "/transfers",
        {"from_account_id": division, "to_account_id": main, "amount": "5000", "reference": "ID-NSF"},
        page_url="/transfers/new",
    )
    assert response.status_code == 422
    # The engine raises in English; the service hands it back in the session's language.
    assert '<a href="#f-amount">Saldo tersedia Anda Rp' in response.text  # the helpful sentence
    assert "available." not in response.text


async def test_api_detail_follows_accept_language_and_the_code_does_not(client: Any) -> None:
    api, _business = await make_api(client)
    main = (await api.call("GET", "/api/v1/accounts?kind=main")).json()["data"][0]["id"]
    made = await api.call(
        "POST", "/api/v1/accounts", {"name": "Bandung", "kind": "division", "parent_id": main}
    )
    body = {"from_account_id": main, "to_account_id": made.json()["id"], "amount": 0, "reference": "API-ZERO"}

    bodies = {}
    for language in ("en", "id"):
        raw = json.dumps(body).encode()

        headers = signed_headers(api.client_id, api.secret, "POST", "/api/v1/transfers", raw)
        headers["Accept-Language"] = language
        response = await client.post("/api/v1/transfers", content=raw, headers=headers)
        assert response.status_code == 422, response.text
        bodies[language] = response.json()

    en, id_ = bodies["en"], bodies["id"]
    assert en["code"] == id_["code"] == "validation_failed"
    assert [(e["pointer"], e["code"]) for e in en["errors"]] == [
        (e["pointer"], e["code"]) for e in id_["errors"]
    ]
    assert en["detail"] == "The amount must be greater than zero."
    assert id_["detail"] == "Jumlah harus lebih dari nol."
    assert id_["errors"][0]["detail"] == "harus lebih dari nol"
