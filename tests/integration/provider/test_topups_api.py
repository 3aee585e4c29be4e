"""Top-ups over the JSON API when the provider cannot open a virtual account: a specific 503 and nothing
written, then the same reference works once the provider is back."""

from __future__ import annotations

from typing import Any

from portal.lib import sql
from tests.support.ledger import make_api
from tests.support.provider import Harness


async def test_provider_offline_refuses_the_topup_and_writes_nothing(harness: Harness, client: Any) -> None:
    api, business = await make_api(client)
    main = (await api.call("GET", "/api/v1/accounts?kind=main")).json()["data"][0]["id"]
    await harness.control("POST", "/control/api/rails/virtual_account", {"mode": "offline"})
    body = {"account_id": main, "amount": 50_000, "reference": "TOP-OFF"}
    refused = await api.call("POST", "/api/v1/topups", body)
    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "provider_unavailable"
    assert refused.headers["retry-after"] == "5"
    assert await sql.fetchval("SELECT count(*) FROM topup WHERE business_id = $1", business.id) == 0
    assert await sql.fetchval("SELECT count(*) FROM provider_payin WHERE business_id = $1", business.id) == 0
    assert (
        await sql.fetchval("SELECT count(*) FROM ledger_reference WHERE business_id = $1", business.id) == 0
    )
    await harness.control("POST", "/control/api/rails/virtual_account", {"mode": "normal"})
    created = await api.call("POST", "/api/v1/topups", body)
    assert created.status_code == 201, created.text
    assert created.json()["payment_instructions"]["account_number"]


async def test_a_duplicate_reference_is_refused_before_the_provider_is_asked(
    harness: Harness, client: Any
) -> None:
    api, business = await make_api(client)
    main = (await api.call("GET", "/api/v1/accounts?kind=main")).json()["data"][0]["id"]
    body = {"account_id": main, "amount": 50_000, "reference": "TOP-TWICE"}
    first = await api.call("POST", "/api/v1/topups", body)
    assert first.status_code == 201
    # The same order again (a retry whose answer was lost) is answered with the order; another amount
    # under the reference is refused; neither asks the provider again.
    again = await api.call("POST", "/api/v1/topups", body)
    assert again.status_code == 201 and again.json() == first.json()
    other = await api.call("POST", "/api/v1/topups", {**body, "amount": 50_001})
    assert other.status_code == 409 and other.json()["code"] == "duplicate_reference"
    assert (
        await sql.fetchval("SELECT count(*) FROM provider_request WHERE business_id = $1", business.id) == 1
    )
