"""Beneficiaries over the JSON API against the real sandbox provider: the name inquiry, a mismatch
confirmed (never silently accepted), not found and closed refused, the default, scope and isolation."""

from __future__ import annotations

import dataclasses
from typing import Any

from portal.domains.identity.auth import user_actor
from portal.lib import sql
from tests.support.identity import make_business
from tests.support.ledger import Api, make_api
from tests.support.payouts import DIRECTORY, bank, register


async def test_adding_a_bank_account_stores_the_inquired_holder_and_logs_it(client: Any) -> None:
    await register(DIRECTORY)
    api, business = await make_api(client)
    created = await api.call("POST", "/api/v1/beneficiaries", bank("8800112233", "budi santoso"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["holder_name"] == "BUDI SANTOSO" and body["name_matches"] is True
    assert body["is_default"] is True and body["id"].startswith("ben_")
    assert body["usable_from"] > body["verified_at"]  # the default one-hour cool-down
    fetched = await api.call("GET", f"/api/v1/beneficiaries/{body['id']}")
    assert fetched.status_code == 200 and fetched.json()["account_number"] == "8800112233"
    logged = await sql.fetchval(
        "SELECT count(*) FROM activity WHERE business_id = $1 AND action = 'beneficiary.created'", business.id
    )
    assert logged == 1


async def test_a_different_holder_name_is_refused_until_confirmed(client: Any) -> None:
    await register({**DIRECTORY, "account_number": "8800112244", "holder_name": "Siti Rahma"})
    api, business = await make_api(client)
    refused = await api.call("POST", "/api/v1/beneficiaries", bank("8800112244", "Budi Santoso"))
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "name_mismatch"
    assert problem["errors"][0]["pointer"] == "/holder_name"
    assert "SITI RAHMA" in problem["detail"]
    assert await sql.fetchval("SELECT count(*) FROM beneficiary WHERE business_id = $1", business.id) == 0
    wrong = await api.call(
        "POST", "/api/v1/beneficiaries", bank("8800112244", "Budi Santoso", confirm_holder_name="SITI")
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "name_mismatch"
    confirmed = await api.call(
        "POST", "/api/v1/beneficiaries", bank("8800112244", "Budi Santoso", confirm_holder_name="SITI RAHMA")
    )
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["name_matches"] is False
    assert confirmed.json()["typed_name"] == "Budi Santoso"


async def test_not_found_and_closed_accounts_are_field_errors_and_write_nothing(client: Any) -> None:
    await register({**DIRECTORY, "account_number": "8800115555"}, status="closed")
    api, business = await make_api(client)
    missing = await api.call("POST", "/api/v1/beneficiaries", bank("8800110000", "Budi"))
    assert missing.status_code == 422 and missing.json()["code"] == "beneficiary_not_found"
    assert missing.json()["errors"][0]["pointer"] == "/account_number"
    closed = await api.call("POST", "/api/v1/beneficiaries", bank("8800115555", "Budi Santoso"))
    assert closed.status_code == 422 and closed.json()["code"] == "beneficiary_closed"
    unknown_bank = await api.call(
        "POST", "/api/v1/beneficiaries", {**bank("8800112233", "Budi"), "bank_code": "999"}
    )
    assert unknown_bank.status_code == 422 and unknown_bank.json()["errors"][0]["pointer"] == "/bank_code"
    not_a_phone = await api.call(
        "POST",
        "/api/v1/beneficiaries",
        {"kind": "ewallet", "wallet": "OVO", "phone": "0211234567", "holder_name": "B"},
    )
    assert not_a_phone.status_code == 422 and not_a_phone.json()["errors"][0]["pointer"] == "/phone"
    assert await sql.fetchval("SELECT count(*) FROM beneficiary WHERE business_id = $1", business.id) == 0


async def test_ewallets_by_phone_several_per_account_and_one_default(client: Any) -> None:
    await register(DIRECTORY)
    api, _business = await make_api(client)
    first = (await api.call("POST", "/api/v1/beneficiaries", bank("8800112233", "Budi Santoso"))).json()
    wallet = await api.call(
        "POST",
        "/api/v1/beneficiaries",
        {"kind": "ewallet", "wallet": "gopay", "phone": "+62 812-3456-7890", "holder_name": "x"},
    )
    # An unregistered number is found with a generated name: the typed "x" differs, so confirm it.
    assert wallet.status_code == 422 and wallet.json()["code"] == "name_mismatch"
    holder = wallet.json()["holder_name"]
    wallet = await api.call(
        "POST",
        "/api/v1/beneficiaries",
        {"kind": "ewallet", "wallet": "GOPAY", "phone": "081234567890", "holder_name": holder},
    )
    assert wallet.status_code == 201, wallet.text
    second = wallet.json()
    assert (second["wallet"], second["account_number"], second["is_default"]) == (
        "GOPAY",
        "081234567890",
        False,
    )
    again = await api.call(
        "POST",
        "/api/v1/beneficiaries",
        {"kind": "ewallet", "wallet": "GOPAY", "phone": "081234567890", "holder_name": holder},
    )
    assert again.status_code == 422 and again.json()["code"] == "beneficiary_exists"
    made = await api.call("POST", f"/api/v1/beneficiaries/{second['id']}/default")
    assert made.status_code == 200 and made.json()["is_default"] is True
    listed = (await api.call("GET", "/api/v1/beneficiaries")).json()["data"]
    assert {b["id"]: b["is_default"] for b in listed} == {first["id"]: False, second["id"]: True}
    assert (await api.call("DELETE", f"/api/v1/beneficiaries/{second['id']}")).status_code == 204
    assert (await api.call("GET", f"/api/v1/beneficiaries/{second['id']}")).status_code == 404
    assert [b["id"] for b in (await api.call("GET", "/api/v1/beneficiaries")).json()["data"]] == [first["id"]]


async def test_another_business_and_another_subtree_see_404(client: Any) -> None:
    from portal.domains.accounts import services as accounts
    from portal.domains.identity import services as identity

    await register(DIRECTORY)
    business, owner = await make_business()
    actor = user_actor(owner, business)
    key, secret = await identity.create_api_key(actor, name="all", permissions=frozenset({"payouts:manage"}))
    api = Api(client, key.client_id, secret)
    created = (await api.call("POST", "/api/v1/beneficiaries", bank("8800112233", "Budi Santoso"))).json()
    other, _ = await make_api(client)
    assert (await other.call("GET", f"/api/v1/beneficiaries/{created['id']}")).status_code == 404
    assert (await other.call("DELETE", f"/api/v1/beneficiaries/{created['id']}")).status_code == 404
    assert (await other.call("GET", "/api/v1/beneficiaries")).json()["data"] == []
    # A key scoped to a partner account sees neither the main account's beneficiaries nor may add to it.
    main = await accounts.main_account(actor)
    partner = await accounts.create_account(actor, name="Cabang", kind="partner", parent_id=main.id)
    key, secret = await identity.create_api_key(
        actor, name="scoped", permissions=frozenset({"payouts:manage"}), scope_account_id=partner.id
    )
    scoped = Api(client, key.client_id, secret)
    assert (await scoped.call("GET", f"/api/v1/beneficiaries/{created['id']}")).status_code == 404
    assert (await scoped.call("GET", "/api/v1/beneficiaries")).json()["data"] == []
    outside = await scoped.call(
        "POST", "/api/v1/beneficiaries", bank("8800112233", "Budi Santoso", account_id=main.id)
    )
    assert outside.status_code == 404
    inside = await scoped.call("POST", "/api/v1/beneficiaries", bank("8800112233", "Budi Santoso"))
    assert inside.status_code == 201 and inside.json()["account_id"] == partner.id


async def test_rails_and_quotes(client: Any) -> None:
    api, _business = await make_api(client)
    rails = await api.call("GET", "/api/v1/rails")
    assert rails.status_code == 200
    codes = [r["code"] for r in rails.json()["data"]]
    assert codes[:4] == ["bifast", "online", "skn", "rtgs"] and "ewallet_linkaja" in codes
    assert len(rails.json()["next_business_days"]) == 5
    quote = await api.call("GET", "/api/v1/rails/quote?amount=1000000&destination=bank")
    assert quote.status_code == 200 and (quote.json()["rail"], quote.json()["fee"]) == ("bifast", 2_500)
    asked = await api.call("GET", "/api/v1/rails/quote?amount=1000000&destination=bank&rail=online")
    assert asked.json()["rail"] == "online"
    over = await api.call("GET", "/api/v1/rails/quote?amount=30000000&destination=LINKAJA")
    assert over.status_code == 422 and over.json()["errors"][0]["pointer"] == "/amount"
    bad = await api.call("GET", "/api/v1/rails/quote?amount=abc&destination=bank")
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/amount"
    nowhere = await api.call("GET", "/api/v1/rails/quote?amount=1000&destination=paypal")
    assert nowhere.status_code == 422 and nowhere.json()["errors"][0]["pointer"] == "/destination"


async def test_control_characters_and_malformed_ids_are_refused_not_500(client: Any) -> None:
    api, _business = await make_api(client)
    nul_name = await api.call("POST", "/api/v1/beneficiaries", bank("8800112233", "Budi\u0000"))
    assert nul_name.status_code == 422 and nul_name.json()["errors"][0]["pointer"] == "/holder_name"
    nul_bank = await api.call(
        "POST", "/api/v1/beneficiaries", {**bank("8800112233", "Budi"), "bank_code": "01\u0000"}
    )
    assert nul_bank.status_code == 422 and nul_bank.json()["errors"][0]["pointer"] == "/bank_code"
    nul_owner = await api.call(
        "POST", "/api/v1/beneficiaries", bank("8800112233", "Budi", account_id="acc_\u0000")
    )
    assert nul_owner.status_code == 422  # the edge's input check refuses control characters first
    assert (await api.call("GET", "/api/v1/beneficiaries/ben_x%27y")).status_code == 404
    listed = await api.call("GET", "/api/v1/beneficiaries?account_id=acc_%00")
    assert listed.status_code == 422 and listed.json()["errors"][0]["pointer"] == "/account_id"


async def test_a_scoped_actor_cannot_change_business_wide_payout_settings(db: str) -> None:
    import pytest

    from portal.domains.accounts import services as accounts
    from portal.domains.payouts import services
    from portal.lib.errors import Forbidden

    business, owner = await make_business()
    actor = user_actor(owner, business)
    main = await accounts.main_account(actor)
    division = await accounts.create_account(actor, name="Div", kind="division", parent_id=main.id)
    scoped = dataclasses.replace(actor, scope_account_id=division.id)
    with pytest.raises(Forbidden):
        await services.set_rail_terms(scoped, "online", fee=1, min_amount=1, max_amount=1_000, active=True)
    with pytest.raises(Forbidden):
        await services.set_cooldown(scoped, 0)
    assert (
        await sql.fetchval("SELECT count(*) FROM payout_rail_terms WHERE business_id = $1", business.id) == 0
    )
    assert await services.cooldown_seconds(business.id) == 3600
