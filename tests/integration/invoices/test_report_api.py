"""The invoice reports over the JSON API (receivables by age, by plan and period, billed against collected
per month): the same filters and the same figures as the portal page, a bad filter refused with its
field pointer on both surfaces, and a division's key seeing its own subtree only."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.invoices import services as invoices
from tests.support.accounts import owner_client
from tests.support.invoices import on_day
from tests.support.ledger import Api, fund

RIGHTS = frozenset({"invoices:view"})


def _page_rows(html: str, table: str, key: str) -> dict[tuple[str, ...], list[int]]:
    """Rows of a report table on the page: their keys (data attributes) and amounts in minor units."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    rows: dict[tuple[str, ...], list[int]] = {}
    for attrs in re.findall(r"<tr (data-[^>]*)>", body):
        values = dict(re.findall(r'data-([a-z]+)="([^"]*)"', attrs))
        ident = tuple(values[k] for k in key.split())
        rows[ident] = [int(v) for v in values["amounts"].split()]
    return rows


async def test_api_and_page_show_the_same_figures_with_the_same_filters(client: Any) -> None:
    business, owner, main = await owner_client(client)
    actor = user_actor(owner, business)
    late = await accounts.create_account(actor, name="Mitra Telat", kind="partner", parent_id=main)
    payer = await accounts.create_account(actor, name="Divisi Bayar", kind="division", parent_id=main)
    await fund(business.id, payer.id, 1_000_000)
    plan = await invoices.create_plan(actor, name="Royalti", receiving_account_id=main, fixed_amount=10_000)
    rent = await invoices.create_plan(actor, name="Sewa", receiving_account_id=main, fixed_amount=50_000)
    with on_day(date(2026, 1, 1)):
        await invoices.subscribe(actor, plan_id=plan.id, account_id=late.id, starts_on="2026-01-01")
        await invoices.subscribe(actor, plan_id=rent.id, account_id=payer.id, starts_on="2026-01-01")
    key, secret = await identity.create_api_key(actor, name="reports", permissions=RIGHTS)
    api = Api(client, key.client_id, secret)
    with on_day(date(2026, 4, 15)):
        await invoices.run_cycle(business_id=business.id)  # January to March: Mitra Telat pays nothing
        receivable = await api.call("GET", "/api/v1/invoices/reports/receivables?as_of=2026-04-15")
        plans = await api.call("GET", "/api/v1/invoices/reports/plans?start=2026-02-01&end=2026-03-31")
        monthly = await api.call("GET", "/api/v1/invoices/reports/monthly?months=6")
        page = await client.get("/invoices/reports?as_of=2026-04-15&start=2026-02-01&end=2026-03-31&months=6")
        later = await api.call("GET", "/api/v1/invoices/reports/receivables?as_of=2026-06-15")
        later_page = await client.get("/invoices/reports?as_of=2026-06-15")
        refused = [
            await api.call("GET", "/api/v1/invoices/reports/monthly?months=0"),
            await api.call("GET", "/api/v1/invoices/reports/plans?start=2026-03-01&end=2026-02-01"),
            await api.call("GET", "/api/v1/invoices/reports/receivables?as_of=2026-02-30"),
        ]
        refused_page = await client.get("/invoices/reports?months=99")
        scoped_key, scoped_secret = await identity.create_api_key(
            actor, name="div", permissions=RIGHTS, scope_account_id=payer.id
        )
        scoped = await Api(client, scoped_key.client_id, scoped_secret).call(
            "GET", "/api/v1/invoices/reports/plans"
        )
    assert receivable.status_code == 200 and page.status_code == 200, (receivable.text, page.text[:300])

    # Receivables: the late partner's three invoices of Rp11.100 (with PPN) are 73, 45 and 14 days late.
    body = receivable.json()
    assert body["as_of"] == "2026-04-15"
    (row,) = body["data"]
    figures = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90", "total")
    assert row["account_id"] == late.id and [row[k] for k in figures] == [
        0,
        11_100,
        11_100,
        11_100,
        0,
        33_300,
    ]
    assert _page_rows(page.text, "receivables", "account") == {
        (r["account_id"],): [r[k] for k in figures] for r in body["data"]
    }
    # Two months later every bucket has moved on, the same on both surfaces.
    (moved,) = later.json()["data"]
    assert [moved[k] for k in figures] == [0, 0, 0, 11_100, 22_200, 33_300]
    assert _page_rows(later_page.text, "receivables", "account") == {(late.id,): [moved[k] for k in figures]}

    # By plan: only periods starting in February and March; rent was collected, the royalty is still due.
    body = plans.json()
    assert (body["start"], body["end"]) == ("2026-02-01", "2026-03-31")
    columns = ("invoices", "billed", "collected", "open", "written_off", "credited")
    api_plans = {(p["plan_id"], p["month"]): [p[k] for k in columns] for p in body["data"]}
    assert api_plans == {
        (plan.id, "2026-03-01"): [1, 11_100, 0, 11_100, 0, 0],
        (plan.id, "2026-02-01"): [1, 11_100, 0, 11_100, 0, 0],
        (rent.id, "2026-03-01"): [1, 55_500, 55_500, 0, 0, 0],
        (rent.id, "2026-02-01"): [1, 55_500, 55_500, 0, 0, 0],
    }
    assert _page_rows(page.text, "by-plan", "plan month") == api_plans

    # Monthly: six WIB months from November; everything was issued and collected in April.
    body = monthly.json()
    assert (body["start"], body["months"]) == ("2025-11-01", 6)
    assert [(m["month"], m["currency"], m["billed"], m["collected"]) for m in body["data"]] == [
        ("2026-04-01", "IDR", 3 * 11_100 + 3 * 55_500, 3 * 55_500)
    ]
    shown = re.findall(
        r'data-month="([^"]+)" data-currency="([^"]+)" data-billed="(\d+)" data-collected="(\d+)"', page.text
    )
    assert [(m, c, int(b), int(k)) for m, c, b, k in shown] == [
        (m["month"], m["currency"], m["billed"], m["collected"]) for m in body["data"]
    ]
    assert "months=6" in page.text.split('data-report="monthly"', 1)[1].split("</p>", 1)[0]

    # A bad filter is a 422 on its field, on both surfaces.
    assert [(r.status_code, r.json()["errors"][0]["pointer"]) for r in refused] == [
        (422, "/months"),
        (422, "/end"),
        (422, "/as_of"),
    ]
    assert refused_page.status_code == 422

    # A division's key sees its own subtree's invoices only.
    assert scoped.status_code == 200
    assert {p["plan_id"] for p in scoped.json()["data"]} == {rent.id}
