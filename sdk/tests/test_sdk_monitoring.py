"""client.monitoring_rules and client.alerts: the route, query and body sent, and the typed result."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from sdk_support import Recorder, make_async_client, make_client, page_json

from neraca import Alert, MonitoringRule, Neraca, ReportRows, RuleTest

NOW = "2026-11-30T08:00:00Z"


def rule_json(**over: Any) -> dict[str, Any]:
    return {
        "id": "rul_1",
        "object": "monitoring_rule",
        "kind": "large_amount",
        "name": "Large single amount",
        "params": {"amount": 100000000},
        "severity": "high",
        "action": "alert",
        "enabled": True,
        "created_at": NOW,
        "updated_at": NOW,
    } | over


def backtest_json(**over: Any) -> dict[str, Any]:
    return {
        "rule_id": "rul_1",
        "kind": "large_amount",
        "params": {"amount": 5000000},
        "days": 30,
        "operations": 40,
        "would_fire": 12,
        "examples": ["trf_1"],
        "object": "rule_test",
    } | over


def alert_json(**over: Any) -> dict[str, Any]:
    return {
        "id": "alr_1",
        "object": "alert",
        "rule_id": "rul_1",
        "rule_kind": "large_amount",
        "rule_name": "Large single amount",
        "severity": "high",
        "action": "alert",
        "status": "open",
        "account_id": "acc_1",
        "object_kind": "transfer",
        "object_id": "trf_1",
        "amount": 150000000,
        "currency": "IDR",
        "evidence": [{"kind": "transfer", "id": "trf_1", "amount": 150000000, "at": NOW}],
        "assignee_id": None,
        "resolution": None,
        "created_at": NOW,
        "acknowledged_at": None,
        "resolved_at": None,
        "notes": [],
    } | over


ROWS: list[tuple[str, Callable[[Neraca], Any], Any, str, str, dict[str, list[str]], Any, Any]] = [
    (
        "monitoring_rules.list",
        lambda c: c.monitoring_rules.list()[0],
        {"data": [rule_json()]},
        "GET",
        "/api/v1/monitoring_rules",
        {},
        None,
        MonitoringRule,
    ),
    (
        "monitoring_rules.retrieve",
        lambda c: c.monitoring_rules.retrieve("rul_1"),
        rule_json(),
        "GET",
        "/api/v1/monitoring_rules/rul_1",
        {},
        None,
        MonitoringRule,
    ),
    (
        "monitoring_rules.create",
        lambda c: c.monitoring_rules.create(kind="large_amount", params={"amount": 5000000}, action="block"),
        rule_json(action="block"),
        "POST",
        "/api/v1/monitoring_rules",
        {},
        {"kind": "large_amount", "params": {"amount": 5000000}, "action": "block"},
        MonitoringRule,
    ),
    (
        "monitoring_rules.update",
        lambda c: c.monitoring_rules.update("rul_1", params={"amount": 1}, enabled=False),
        rule_json(enabled=False),
        "PATCH",
        "/api/v1/monitoring_rules/rul_1",
        {},
        {"params": {"amount": 1}, "enabled": False},
        MonitoringRule,
    ),
    (
        "monitoring_rules.test",
        lambda c: c.monitoring_rules.test("rul_1", params={"amount": 5000000}),
        backtest_json(),
        "POST",
        "/api/v1/monitoring_rules/rul_1/test",
        {},
        {"params": {"amount": 5000000}},
        RuleTest,
    ),
    (
        "alerts.list",
        lambda c: c.alerts.list(status="open", limit=5).first(),
        page_json([alert_json()], None),
        "GET",
        "/api/v1/alerts",
        {"status": ["open"], "limit": ["5"]},
        None,
        Alert,
    ),
    (
        "alerts.retrieve",
        lambda c: c.alerts.retrieve("alr_1"),
        alert_json(),
        "GET",
        "/api/v1/alerts/alr_1",
        {},
        None,
        Alert,
    ),
    (
        "alerts.acknowledge",
        lambda c: c.alerts.acknowledge("alr_1", note="On it"),
        alert_json(status="acknowledged"),
        "POST",
        "/api/v1/alerts/alr_1/acknowledge",
        {},
        {"note": "On it"},
        Alert,
    ),
    (
        "alerts.resolve",
        lambda c: c.alerts.resolve("alr_1"),
        alert_json(status="resolved"),
        "POST",
        "/api/v1/alerts/alr_1/resolve",
        {},
        {},
        Alert,
    ),
]


@pytest.mark.parametrize(
    ("call", "answer", "method", "path", "params", "body", "result_type"),
    [pytest.param(*row[1:], id=row[0]) for row in ROWS],
)
def test_endpoint(
    call: Callable[[Neraca], Any],
    answer: Any,
    method: str,
    path: str,
    params: dict[str, list[str]],
    body: Any,
    result_type: type,
) -> None:
    recorder = Recorder([httpx.Response(200, json=answer)])
    result = call(make_client(recorder))
    (request,) = recorder.requests
    assert (request.method, request.url.path) == (method, path)
    assert parse_qs(request.url.query.decode()) == params
    if body is None:
        assert request.content == b""
    else:
        assert json.loads(request.content) == body
    assert isinstance(result, result_type)


def test_every_method_has_a_row() -> None:
    client = make_client(Recorder([httpx.Response(200, json={})]))
    names = {row[0] for row in ROWS}
    for resource in ("monitoring_rules", "alerts"):
        obj = getattr(client, resource)
        for attr in dir(obj):
            if not attr.startswith("_") and callable(getattr(obj, attr)):
                assert f"{resource}.{attr}" in names, f"{resource}.{attr} has no test row"


def test_a_draft_is_tested_by_kind_and_the_async_client_acknowledges() -> None:
    recorder = Recorder([httpx.Response(200, json=backtest_json(rule_id=None))])
    result = make_client(recorder).monitoring_rules.test(kind="large_amount", params={"amount": 5000000})
    assert result.would_fire == 12 and recorder.requests[0].url.path == "/api/v1/monitoring_rules/test"
    assert json.loads(recorder.requests[0].content) == {"kind": "large_amount", "params": {"amount": 5000000}}

    async def run() -> Alert:
        client = make_async_client(Recorder([httpx.Response(200, json=alert_json(status="acknowledged"))]))
        return await client.alerts.acknowledge("alr_1")

    alert = asyncio.run(run())
    assert alert.status == "acknowledged" and alert.evidence[0]["id"] == "trf_1" and alert.amount == 150000000


def rows_json() -> dict[str, Any]:
    return {
        "columns": [
            {"name": "account", "label": "Account", "type": "text"},
            {"name": "net", "label": "Net", "type": "money"},
        ],
        "rows": [["acc_1", 9250000]],
        "page": 2,
        "has_more": False,
        "totals": {"net": 9250000},
        "row_count": 51,
        "object": "report_rows",
    }


def test_reports_run_and_download(tmp_path: Any) -> None:
    recorder = Recorder([httpx.Response(200, json=rows_json())])
    rows = make_client(recorder).reports.run(report_id="rpt_1", page=2)
    assert (
        isinstance(rows, ReportRows) and rows.rows == [["acc_1", 9250000]] and rows.totals == {"net": 9250000}
    )
    (request,) = recorder.requests
    assert (request.method, request.url.path, parse_qs(request.url.query.decode())) == (
        "GET",
        "/api/v1/reports/rpt_1/run",
        {"page": ["2"]},
    )
    files = Recorder([httpx.Response(200, content=b"a,b\r\n1,2\r\n", headers={"content-type": "text/csv"})])
    target = make_client(files).reports.download("rpt_1", format="csv", path=tmp_path / "r.csv")
    assert target.read_bytes() == b"a,b\r\n1,2\r\n"
    assert files.requests[0].url.path == "/api/v1/reports/rpt_1/download"
    assert parse_qs(files.requests[0].url.query.decode()) == {"format": ["csv"]}
    with pytest.raises(ValueError):
        make_client(files).reports.download("rpt_1", format="docx", path=tmp_path / "r.docx")  # type: ignore[arg-type]
