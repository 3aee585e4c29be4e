"""Custom reports over the JSON API: build, run (paged, grouped, totals), save and export; the financial
performance preset; bad specs refused on the field; scoped users only their subtree; nothing of another
business reachable through a filter."""

from __future__ import annotations

import csv
import io
from typing import Any

from portal.domains.reports.custom import services as custom
from tests.support.ledger import ALL, Api, fund, make_api, owner
from tests.support.monitoring import drain

RIGHTS = ALL | {"reports:manage", "monitoring:manage"}


async def _setup(client: Any, **kw: Any) -> tuple[Api, Any, str, str, str]:
    api, business = await make_api(client, RIGHTS, **kw)
    main = (await api.call("GET", "/api/v1/accounts?kind=main")).json()["data"][0]["id"]
    ids = []
    for name in ("Jakarta", "Bandung"):
        created = await api.call(
            "POST", "/api/v1/accounts", {"name": name, "kind": "division", "parent_id": main}
        )
        ids.append(created.json()["id"])
    await fund(business.id, ids[0], 10_000_000)
    for i, amount in enumerate((100_000, 250_000, 400_000)):
        body = {"from_account_id": ids[0], "to_account_id": ids[1], "amount": amount, "reference": f"R-{i}"}
        assert (await api.call("POST", "/api/v1/transfers", body)).status_code == 201
    await drain()
    return api, business, main, ids[0], ids[1]


async def test_run_group_save_and_export(client: Any) -> None:
    api, _, _, a, _b = await _setup(client)
    spec = {
        "dataset": "transfers",
        "columns": ["created_at", "from_account_id", "amount", "reference"],
        "filters": [
            {"field": "kind", "op": "eq", "value": "transfer"},
            {"field": "amount", "op": "gte", "value": 200_000},
        ],
        "sort": [{"field": "amount", "direction": "desc"}],
    }
    ran = await api.call("POST", "/api/v1/reports/run", {"spec": spec})
    assert ran.status_code == 200, ran.text
    body = ran.json()
    assert [c["name"] for c in body["columns"]] == spec["columns"]
    assert [r[2] for r in body["rows"]] == [400_000, 250_000]
    assert body["totals"] == {"amount": 650_000} and body["row_count"] == 2 and body["has_more"] is False

    grouped = await api.call(
        "POST",
        "/api/v1/reports/run",
        {
            "spec": {
                "dataset": "transfers",
                "columns": ["amount"],
                "group_by": ["account", "day"],
                "filters": [{"field": "kind", "op": "eq", "value": "transfer"}],
            }
        },
    )
    assert grouped.status_code == 200, grouped.text
    rows = grouped.json()["rows"]
    assert len(rows) == 1 and rows[0][0] == a and rows[0][2] == 750_000 and rows[0][3] == 3

    saved = await api.call("POST", "/api/v1/reports", {"name": "Big transfers", "spec": spec})
    assert saved.status_code == 201, saved.text
    report_id = saved.json()["id"]
    listed = (await api.call("GET", "/api/v1/reports")).json()["data"]
    assert [r["name"] for r in listed] == ["Big transfers"]
    page = await api.call("GET", f"/api/v1/reports/{report_id}/run?page=1")
    assert page.json()["rows"] == body["rows"]
    csv_file = await api.call("GET", f"/api/v1/reports/{report_id}/download?format=csv")
    assert csv_file.status_code == 200 and csv_file.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert table[0] == ["Created", "From account", "Amount", "Reference"] and table[1][2] == "400000"
    xlsx = await api.call("GET", f"/api/v1/reports/{report_id}/download?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    pdf = await api.call("GET", f"/api/v1/reports/{report_id}/download?format=pdf")
    assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"
    bad = await api.call("GET", f"/api/v1/reports/{report_id}/download?format=docx")
    assert bad.status_code == 422


async def test_financial_performance_preset(client: Any) -> None:
    api, _, _, a, b = await _setup(client)
    spec = custom.preset("financial_performance")
    ran = await api.call("POST", "/api/v1/reports/run", {"spec": spec})
    assert ran.status_code == 200, ran.text
    by_account = {r[0]: r for r in ran.json()["rows"]}
    # account, month, money in, money out, fees, net, count
    assert by_account[a][2:6] == [10_000_000, 750_000, 0, 9_250_000]
    assert by_account[b][2:6] == [750_000, 0, 0, 750_000]
    subtree = await api.call(
        "POST", "/api/v1/reports/run", {"spec": custom.preset("financial_performance_subtree")}
    )
    assert {r[0] for r in subtree.json()["rows"]} == {a, b}


async def test_bad_specs_are_refused_on_the_field(client: Any) -> None:
    api, _, _, _, _ = await _setup(client)

    async def refused(spec: dict[str, Any], pointer: str) -> None:
        response = await api.call("POST", "/api/v1/reports/run", {"spec": spec})
        assert response.status_code == 422, (spec, response.text)
        assert pointer in [e["pointer"] for e in response.json().get("errors", [])], response.text

    await refused({"dataset": "salaries"}, "/dataset")
    await refused({"dataset": "transfers", "columns": ["amount", "password_hash"]}, "/columns/1")
    await refused(
        {"dataset": "transfers", "filters": [{"field": "business_id", "op": "eq", "value": "biz_x"}]},
        "/filters/0/field",
    )
    await refused(
        {"dataset": "transfers", "filters": [{"field": "amount", "op": "like", "value": 1}]}, "/filters/0/op"
    )
    await refused(
        {"dataset": "transfers", "filters": [{"field": "amount", "op": "gt", "value": "lots"}]},
        "/filters/0/value",
    )
    await refused({"dataset": "transfers", "group_by": ["planet"]}, "/group_by/0")
    await refused({"dataset": "transfers", "columns": ["reference"], "group_by": ["day"]}, "/columns/0")
    await refused({"dataset": "transfers", "sort": [{"field": "secret"}]}, "/sort/0/field")
    await refused({"dataset": "account_balances", "params": {"as_of": "yesterday"}}, "/params/as_of")


async def test_a_filter_never_reaches_another_business_and_scope_is_kept(client: Any) -> None:
    api, business, main, a, b = await _setup(client)
    other_api, _, _, other_a, _ = await _setup(client)
    spec = {
        "dataset": "transfers",
        "columns": ["from_account_id", "amount"],
        "filters": [{"field": "from_account_id", "op": "eq", "value": other_a}],
    }
    ran = await api.call("POST", "/api/v1/reports/run", {"spec": spec})
    assert ran.status_code == 404 and ran.json()["errors"][0]["pointer"] == "/filters/0/value", ran.text
    balances = await api.call("POST", "/api/v1/reports/run", {"spec": {"dataset": "account_balances"}})
    assert {r[0] for r in balances.json()["rows"]} == {main, a, b}
    theirs = {**spec, "filters": []}
    saved = await other_api.call("POST", "/api/v1/reports", {"name": "Theirs", "spec": theirs})
    assert saved.status_code == 201, saved.text
    assert (await api.call("GET", f"/api/v1/reports/{saved.json()['id']}/run")).status_code == 404
    # A user scoped to Bandung sees its own balance only, and none of the business's other accounts.
    scoped = owner(business.id, scope=b)
    result = await custom.run(scoped, {"dataset": "account_balances"})
    assert [r[0] for r in result.rows] == [b]
    movements = await custom.run(
        scoped, {"dataset": "account_movements", "columns": ["account_id", "money_in"]}
    )
    assert {r[0] for r in movements.rows} == {b}
