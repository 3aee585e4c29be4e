"""The ledger's JSON API end to end (signed requests, in process): the money flows and bad input."""

from __future__ import annotations

import uuid
from typing import Any

from portal.domains.ledger.invariants import check_all
from portal.lib import sql
from tests.support.ledger import Api, make_api


async def funded_pair(api: Api, amount: int = 100_000) -> tuple[str, str]:
    accounts = (await api.call("GET", "/api/v1/accounts?kind=main")).json()["data"]
    main = accounts[0]["id"]
    a = await api.call("POST", "/api/v1/accounts", {"name": "Jakarta", "kind": "division", "parent_id": main})
    assert a.status_code == 201, a.text
    b = await api.call(
        "POST", "/api/v1/accounts", {"name": "Toko Budi", "kind": "partner", "parent_id": main}
    )
    a_id, b_id = a.json()["id"], b.json()["id"]
    topup = await api.call(
        "POST", "/api/v1/topups", {"account_id": a_id, "amount": amount, "reference": "TOP-1"}
    )
    assert topup.status_code == 201, topup.text
    body = topup.json()
    assert (body["fee"], body["total"], body["status"]) == (6000, amount + 6000, "pending")
    # The instructions are the virtual account the sandbox provider opened for amount + fee.
    payin = await sql.fetchrow("SELECT * FROM provider_payin WHERE source_id = $1", body["id"])
    assert payin is not None and payin["amount"] == amount + 6000
    assert body["payment_instructions"]["account_number"] == payin["va_number"]
    paid = await api.call("POST", f"/api/v1/topups/{body['id']}/simulate-payment")
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert await sql.fetchval("SELECT status FROM provider_payin WHERE source_id = $1", body["id"]) == "paid"
    return a_id, b_id


async def test_transfer_flow_and_balances(client: Any) -> None:
    api, _ = await make_api(client)
    a, b = await funded_pair(api)
    r = await api.call(
        "POST",
        "/api/v1/transfers",
        {"from_account_id": a, "to_account_id": b, "amount": 25_000, "reference": "INV-1"},
    )
    assert r.status_code == 201, r.text
    transfer = r.json()
    assert transfer["object"] == "transfer" and transfer["amount"] == 25_000
    assert (await api.call("GET", f"/api/v1/transfers/{transfer['id']}")).json()["id"] == transfer["id"]
    bal = (await api.call("GET", f"/api/v1/balances/{a}")).json()
    assert (bal["available"], bal["posted"], bal["on_hold"]) == (75_000, 75_000, 0)
    listed = (await api.call("GET", f"/api/v1/transfers?account_id={a}&limit=1")).json()
    assert listed["data"][0]["id"] == transfer["id"]
    assert listed["has_more"] is True and listed["next_cursor"]
    rest = await api.call("GET", f"/api/v1/transfers?account_id={a}&limit=1&after={listed['next_cursor']}")
    assert [t["kind"] for t in rest.json()["data"]] == ["topup"]
    main = (await api.call("GET", "/api/v1/accounts?kind=main")).json()["data"][0]["id"]
    rollup = (await api.call("GET", f"/api/v1/balances/{main}/rollup")).json()
    assert (rollup["available"], rollup["accounts"]) == (100_000, 3)
    assert await check_all() == []


async def test_bad_input_is_refused_with_specific_codes(client: Any) -> None:
    api, _ = await make_api(client)
    a, b = await funded_pair(api, 1_000)

    async def refused(status: int, code: str, **changes: Any) -> None:
        body = {
            "from_account_id": a,
            "to_account_id": b,
            "amount": 100,
            "reference": f"B-{uuid.uuid4().hex}",
            **changes,
        }
        r = await api.call("POST", "/api/v1/transfers", body)
        assert r.status_code == status, r.text
        assert r.json()["code"] == code, r.text
        assert r.headers["content-type"].startswith("application/problem+json")

    await refused(422, "validation_failed", amount=0)
    await refused(422, "validation_failed", amount=-1)
    await refused(422, "validation_failed", amount=10**15)
    await refused(422, "validation_failed", amount=10.5)
    await refused(422, "validation_failed", amount="100")
    await refused(422, "insufficient_funds", amount=5_000)
    await refused(422, "same_account", to_account_id=a)
    await refused(404, "not_found", to_account_id="acc_doesnotexist")
    await refused(422, "unknown_field", balance=5)
    await api.call(
        "POST",
        "/api/v1/transfers",
        {"from_account_id": a, "to_account_id": b, "amount": 1, "reference": "ONCE"},
    )
    await refused(409, "duplicate_reference", reference="ONCE", amount=2)
    other, _ = await make_api(client)
    c, _d = await funded_pair(other, 1_000)
    await refused(404, "not_found", to_account_id=c)
    assert await check_all() == []


async def test_idempotent_replay_returns_the_stored_transfer(client: Any) -> None:
    api, _ = await make_api(client)
    a, b = await funded_pair(api)
    body = {"from_account_id": a, "to_account_id": b, "amount": 10, "reference": "IDEM-1"}
    first = await api.call("POST", "/api/v1/transfers", body, request_id="req-idem-1")
    again = await api.call("POST", "/api/v1/transfers", body, request_id="req-idem-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    changed = await api.call("POST", "/api/v1/transfers", {**body, "amount": 11}, request_id="req-idem-1")
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency_key_reused"
    bal = (await api.call("GET", f"/api/v1/balances/{a}")).json()
    assert bal["available"] == 100_000 - 10


async def test_withdrawal_holds_then_fails_back_or_pays(client: Any) -> None:
    api, _ = await make_api(client)
    a, _b = await funded_pair(api, 50_000)
    no_bank = await api.call(
        "POST", "/api/v1/withdrawals", {"account_id": a, "amount": 1_000, "reference": "W-0"}
    )
    assert no_bank.status_code == 422 and no_bank.json()["code"] == "no_settlement_bank"
    patched = await api.call(
        "PATCH",
        f"/api/v1/accounts/{a}",
        {
            "settlement_bank": {
                "bank_code": "014",
                "account_number": "1234567890",
                "holder_name": "PT Jakarta",
            }
        },
    )
    assert patched.status_code == 200, patched.text
    w = await api.call("POST", "/api/v1/withdrawals", {"account_id": a, "amount": 20_000, "reference": "W-1"})
    assert w.status_code == 201, w.text
    assert (w.json()["fee"], w.json()["total"], w.json()["status"]) == (8_000, 28_000, "pending")
    bal = (await api.call("GET", f"/api/v1/balances/{a}")).json()
    assert (bal["available"], bal["on_hold"]) == (22_000, 28_000)
    failed = await api.call(
        "POST", f"/api/v1/withdrawals/{w.json()['id']}/mark-failed", {"reason": "Bank down"}
    )
    assert failed.status_code == 200 and failed.json()["status"] == "failed"
    bal = (await api.call("GET", f"/api/v1/balances/{a}")).json()
    assert (bal["available"], bal["on_hold"]) == (50_000, 0)
    w2 = await api.call(
        "POST", "/api/v1/withdrawals", {"account_id": a, "amount": 20_000, "reference": "W-2"}
    )
    paid = await api.call("POST", f"/api/v1/withdrawals/{w2.json()['id']}/mark-paid")
    assert paid.json()["status"] == "paid"
    bal = (await api.call("GET", f"/api/v1/balances/{a}")).json()
    assert (bal["available"], bal["posted"]) == (22_000, 22_000)
    again = await api.call("POST", f"/api/v1/withdrawals/{w2.json()['id']}/mark-failed", {"reason": "late"})
    assert again.status_code == 409
    assert await check_all() == []


async def test_holds_over_the_api(client: Any) -> None:
    api, _ = await make_api(client)
    a, b = await funded_pair(api, 10_000)
    h = await api.call(
        "POST",
        "/api/v1/holds",
        {"from_account_id": a, "to_account_id": b, "amount": 4_000, "reference": "H-1"},
    )
    assert h.status_code == 201, h.text
    posted = await api.call("POST", f"/api/v1/holds/{h.json()['id']}/post", {"amount": 1_500})
    assert posted.status_code == 200, posted.text
    assert (posted.json()["status"], posted.json()["posted_amount"]) == ("posted", 1_500)
    h2 = await api.call(
        "POST", "/api/v1/holds", {"from_account_id": a, "to_account_id": b, "amount": 100, "reference": "H-2"}
    )
    voided = await api.call("POST", f"/api/v1/holds/{h2.json()['id']}/void")
    assert voided.json()["status"] == "voided"
    assert (await api.call("GET", f"/api/v1/balances/{a}")).json()["available"] == 8_500
