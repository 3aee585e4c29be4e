"""Monitoring over the JSON API: rules tuned, tested on 30 days and refused on bad input; a blocking
rule refuses a transfer with 422 monitoring_blocked and writes nothing; alerts acknowledged and
resolved; an account's settlement held and released, both in the activity log."""

from __future__ import annotations

from typing import Any

from portal.domains.ledger.invariants import check_all
from portal.domains.monitoring.services import is_settlement_held
from portal.lib import sql
from tests.support.ledger import ALL, Api, fund, make_api
from tests.support.monitoring import drain

RIGHTS = ALL | {"monitoring:manage"}


async def _setup(client: Any) -> tuple[Api, Any, str, str]:
    api, business = await make_api(client, RIGHTS)
    main = (await api.call("GET", "/api/v1/accounts?kind=main")).json()["data"][0]["id"]
    ids = []
    for name in ("Jakarta", "Bandung"):
        created = await api.call(
            "POST", "/api/v1/accounts", {"name": name, "kind": "division", "parent_id": main}
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    await fund(business.id, ids[0], 500_000_000)
    await drain()
    return api, business, ids[0], ids[1]


async def _rule(api: Api, kind: str) -> dict[str, Any]:
    rules = (await api.call("GET", "/api/v1/monitoring_rules")).json()["data"]
    assert len(rules) == 11  # the defaults
    return next(r for r in rules if r["kind"] == kind)


async def test_a_blocking_rule_refuses_the_transfer_and_writes_nothing(client: Any) -> None:
    api, business, a, b = await _setup(client)
    rule = await _rule(api, "large_amount")
    changed = await api.call(
        "PATCH",
        f"/api/v1/monitoring_rules/{rule['id']}",
        {"action": "block", "params": {"amount": 50_000_000}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["action"] == "block" and changed.json()["params"] == {"amount": 50_000_000}
    before = await sql.fetchval("SELECT count(*) FROM transfer WHERE business_id = $1", business.id)
    body = {"from_account_id": a, "to_account_id": b, "amount": 60_000_000, "reference": "BIG-1"}
    refused = await api.call("POST", "/api/v1/transfers", body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "monitoring_blocked"
    assert await sql.fetchval("SELECT count(*) FROM transfer WHERE business_id = $1", business.id) == before
    assert await sql.fetchval("SELECT count(*) FROM hold WHERE business_id = $1", business.id) == 0
    alerts = (await api.call("GET", "/api/v1/alerts?status=open")).json()["data"]
    assert [(x["action"], x["amount"], x["evidence"][0]["kind"]) for x in alerts] == [
        ("block", 60_000_000, "refused")
    ]
    # Below the threshold it books; the withdrawal path is screened too.
    small = await api.call("POST", "/api/v1/transfers", {**body, "amount": 1_000_000, "reference": "SMALL-1"})
    assert small.status_code == 201, small.text
    await sql.execute(
        "UPDATE account SET settlement_bank_code = '014', settlement_account_number = '1234567890', "
        "settlement_holder_name = 'Jakarta' WHERE id = $1",
        a,
    )
    withdrawal = await api.call(
        "POST", "/api/v1/withdrawals", {"account_id": a, "amount": 70_000_000, "reference": "WD-BIG"}
    )
    assert withdrawal.status_code == 422 and withdrawal.json()["code"] == "monitoring_blocked", (
        withdrawal.text
    )
    assert await sql.fetchval("SELECT count(*) FROM withdrawal WHERE business_id = $1", business.id) == 0
    assert await check_all() == []


async def test_bad_rule_input_is_refused_on_the_field(client: Any) -> None:
    api, _, _, _ = await _setup(client)
    rule = await _rule(api, "velocity_count")

    async def refused(method: str, path: str, body: dict[str, Any], pointer: str) -> None:
        response = await api.call(method, path, body)
        assert response.status_code == 422, (body, response.text)
        assert pointer in [e["pointer"] for e in response.json()["errors"]], response.text

    await refused(
        "PATCH",
        f"/api/v1/monitoring_rules/{rule['id']}",
        {"params": {"window_hours": 0}},
        "/params/window_hours",
    )
    await refused(
        "PATCH", f"/api/v1/monitoring_rules/{rule['id']}", {"params": {"max_count": -5}}, "/params/max_count"
    )
    await refused(
        "PATCH", f"/api/v1/monitoring_rules/{rule['id']}", {"params": {"per": "planet"}}, "/params/per"
    )
    await refused(
        "PATCH", f"/api/v1/monitoring_rules/{rule['id']}", {"params": {"colour": 1}}, "/params/colour"
    )
    await refused(
        "POST",
        "/api/v1/monitoring_rules",
        {"kind": "large_amount", "params": {"amount": -1}},
        "/params/amount",
    )
    await refused("POST", "/api/v1/monitoring_rules", {"kind": "moon_phase", "params": {}}, "/kind")
    await refused("POST", "/api/v1/monitoring_settings", {"recipients": ["not-an-address"]}, "/recipients/0")
    unchanged = (await api.call("GET", f"/api/v1/monitoring_rules/{rule['id']}")).json()
    assert unchanged["params"] == rule["params"]


async def test_a_rule_is_tested_on_the_last_30_days_before_saving(client: Any) -> None:
    api, _, a, b = await _setup(client)
    for i, amount in enumerate((2_000_000, 7_000_000, 9_000_000)):
        body = {"from_account_id": a, "to_account_id": b, "amount": amount, "reference": f"T-{i}"}
        assert (await api.call("POST", "/api/v1/transfers", body)).status_code == 201
    rule = await _rule(api, "large_amount")
    tested = await api.call(
        "POST", f"/api/v1/monitoring_rules/{rule['id']}/test", {"params": {"amount": 5_000_000}}
    )
    assert tested.status_code == 200, tested.text
    assert (tested.json()["operations"], tested.json()["would_fire"]) == (3, 2)
    draft = await api.call(
        "POST",
        "/api/v1/monitoring_rules/test",
        {"kind": "velocity_count", "params": {"per": "account", "window_hours": 1, "max_count": 2}},
    )
    assert draft.json()["would_fire"] == 1, draft.text
    # Testing changes nothing.
    assert (await api.call("GET", f"/api/v1/monitoring_rules/{rule['id']}")).json()["params"] == rule[
        "params"
    ]


async def test_alerts_are_acknowledged_resolved_and_the_settlement_held(client: Any) -> None:
    api, business, a, b = await _setup(client)
    body = {"from_account_id": a, "to_account_id": b, "amount": 150_000_000, "reference": "HUGE-1"}
    assert (await api.call("POST", "/api/v1/transfers", body)).status_code == 201
    await drain()
    listed = (await api.call("GET", "/api/v1/alerts?severity=high")).json()["data"]
    assert len(listed) == 1 and listed[0]["rule_kind"] == "large_amount", listed
    alert = listed[0]
    assert alert["evidence"][0]["kind"] == "transfer" and alert["account_id"] == a
    event = await sql.fetchrow(
        "SELECT data FROM event WHERE business_id = $1 AND type = 'alert.created'", business.id
    )
    assert event is not None
    bad = await api.call("GET", "/api/v1/alerts?status=sleeping")
    assert bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/status"

    acked = await api.call("POST", f"/api/v1/alerts/{alert['id']}/acknowledge", {"note": "Looking"})
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged", acked.text
    held = await api.call(
        "POST", "/api/v1/settlement_holds", {"account_id": a, "alert_id": alert["id"], "reason": "check"}
    )
    assert held.status_code == 201, held.text
    assert await is_settlement_held(business.id, a) and not await is_settlement_held(business.id, b)
    again = await api.call("POST", "/api/v1/settlement_holds", {"account_id": a})
    assert again.status_code == 409 and again.json()["code"] == "settlement_held"
    released = await api.call("POST", f"/api/v1/settlement_holds/{a}/release")
    assert released.status_code == 200 and released.json()["released_at"], released.text
    assert not await is_settlement_held(business.id, a)
    resolved = await api.call("POST", f"/api/v1/alerts/{alert['id']}/resolve", {"note": "Known customer"})
    assert resolved.json()["status"] == "resolved" and resolved.json()["resolution"] == "Known customer"
    assert [n["body"] for n in resolved.json()["notes"]] == ["Looking", "Known customer"]
    twice = await api.call("POST", f"/api/v1/alerts/{alert['id']}/resolve", {})
    assert twice.status_code == 409 and twice.json()["code"] == "alert_resolved"
    actions = await sql.fetch(
        "SELECT action FROM activity WHERE business_id = $1 "
        "AND action LIKE ANY('{settlement.%,alert.%}') ORDER BY id",
        business.id,
    )
    assert [r["action"] for r in actions] == [
        "alert.acknowledged",
        "settlement.held",
        "settlement.released",
        "alert.resolved",
    ]
