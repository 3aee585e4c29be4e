"""A custom report is stopped by PostgreSQL's statement_timeout on the report connection: with a 1 ms
limit (NERACA_REPORT_TIMEOUT_MS) a report over 40,000 payments answers 422 `report_timeout`; the same
report under the default limit runs. The payments are in final states, so no job of another test acts on
them."""

from __future__ import annotations

from typing import Any

import pytest

from portal.lib import sql
from portal.settings import get_settings
from tests.support.ledger import make_api

RIGHTS = frozenset({"reports:view", "accounts:manage"})
SPEC = {"dataset": "payments", "columns": ["amount", "fee"], "group_by": ["account", "day", "status"]}


async def test_a_report_past_its_time_limit_is_stopped(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    api, business = await make_api(client, RIGHTS)
    main = (await api.call("GET", "/api/v1/accounts?kind=main")).json()["data"][0]["id"]
    await sql.execute(
        "INSERT INTO payment (business_id, id, account_id, amount, currency, channel, invoice_number, "
        "customer_name, source, request_hash, status, created_at) "
        "SELECT $1, 'pay_t' || n, $2, 1000 + n, 'IDR', 'va', 'T-' || n, 'Budi', 'api', 'h', "
        "(ARRAY['expired', 'failed', 'voided'])[1 + n % 3], now() - n * interval '1 minute' "
        "FROM generate_series(1, 40000) n",
        business.id,
        main,
    )
    monkeypatch.setenv("NERACA_REPORT_TIMEOUT_MS", "1")
    get_settings.cache_clear()
    try:
        stopped = await api.call("POST", "/api/v1/reports/run", {"spec": SPEC})
    finally:
        monkeypatch.delenv("NERACA_REPORT_TIMEOUT_MS")
        get_settings.cache_clear()
    assert stopped.status_code == 422, stopped.text
    assert stopped.json()["code"] == "report_timeout" and "stopped" in stopped.json()["detail"]
    ran = await api.call("POST", "/api/v1/reports/run", {"spec": SPEC})
    assert ran.status_code == 200 and ran.json()["row_count"] > 50, ran.text
