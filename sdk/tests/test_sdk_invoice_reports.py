"""client.invoices' reports (receivables by age, by plan and period, billed against collected per month):
the route and query sent and the typed result, sync and async."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import httpx
from sdk_support import Recorder, make_async_client, make_client

from neraca import InvoiceMonthlyReport, InvoicePlansReport, InvoiceReceivablesReport

RECEIVABLES = {
    "as_of": "2026-04-15",
    "data": [
        {
            "account_id": "acc_late",
            "account_name": "Mitra Telat",
            "currency": "IDR",
            "current": 0,
            "days_1_30": 11100,
            "days_31_60": 11100,
            "days_61_90": 11100,
            "over_90": 0,
            "total": 33300,
        }
    ],
}
PLANS = {
    "start": "2026-02-01",
    "end": None,
    "data": [
        {
            "plan_id": "pln_1",
            "plan_name": "Royalti",
            "currency": "IDR",
            "month": "2026-03-01",
            "invoices": 2,
            "billed": 22200,
            "collected": 11100,
            "open": 11100,
            "written_off": 0,
            "credited": 0,
        }
    ],
}
MONTHLY = {
    "start": "2025-11-01",
    "months": 6,
    "data": [{"month": "2026-04-01", "currency": "IDR", "billed": 199800, "collected": 166500}],
}


def _query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.url.query.decode())


def test_reports_send_their_filters_and_return_typed_figures() -> None:
    recorder = Recorder(
        [
            httpx.Response(200, json=RECEIVABLES),
            httpx.Response(200, json=PLANS),
            httpx.Response(200, json=MONTHLY),
        ]
    )
    client = make_client(recorder)
    receivables = client.invoices.receivables_report(as_of=date(2026, 4, 15))
    plans = client.invoices.plans_report(start="2026-02-01")
    monthly = client.invoices.monthly_report(months=6)
    paths = [(r.method, r.url.path, _query(r)) for r in recorder.requests]
    assert paths == [
        ("GET", "/api/v1/invoices/reports/receivables", {"as_of": ["2026-04-15"]}),
        ("GET", "/api/v1/invoices/reports/plans", {"start": ["2026-02-01"]}),
        ("GET", "/api/v1/invoices/reports/monthly", {"months": ["6"]}),
    ]
    assert isinstance(receivables, InvoiceReceivablesReport) and receivables.as_of == date(2026, 4, 15)
    (row,) = receivables.data
    assert (row.days_1_30, row.days_31_60, row.days_61_90, row.total) == (11100, 11100, 11100, 33300)
    assert isinstance(plans, InvoicePlansReport) and plans.end is None
    assert plans.data[0].month == date(2026, 3, 1) and plans.data[0].open == 11100
    assert isinstance(monthly, InvoiceMonthlyReport) and monthly.start == date(2025, 11, 1)
    assert monthly.data[0].collected == 166500


def test_async_reports_without_filters_send_no_query() -> None:
    recorder = Recorder(
        [
            httpx.Response(200, json=RECEIVABLES),
            httpx.Response(200, json=PLANS),
            httpx.Response(200, json=MONTHLY),
        ]
    )

    async def run() -> list[Any]:
        client = make_async_client(recorder)
        return [
            await client.invoices.receivables_report(),
            await client.invoices.plans_report(),
            await client.invoices.monthly_report(),
        ]

    receivables, plans, monthly = asyncio.run(run())
    assert [(r.url.path, r.url.query) for r in recorder.requests] == [
        ("/api/v1/invoices/reports/receivables", b""),
        ("/api/v1/invoices/reports/plans", b""),
        ("/api/v1/invoices/reports/monthly", b""),
    ]
    assert receivables.data[0].account_name == "Mitra Telat"
    assert plans.data[0].plan_id == "pln_1" and monthly.months == 6
