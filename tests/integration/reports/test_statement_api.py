"""`GET /api/v1/accounts/{id}/statement` over HTTP: JSON pages, every file format read back, formula
escaping through the real route, bad input, tenant and subtree isolation, the activity log."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from portal.domains.ledger import services as ledger
from portal.lib import sql
from tests.support.ledger import fund
from tests.support.reports import (
    DAY1,
    DAY2,
    TODAY,
    ApiBusiness,
    add_key,
    api_business,
    book,
    history,
    signed_headers,
    world_of,
)


async def get(
    client: httpx.AsyncClient, biz: ApiBusiness | tuple[str, str], path: str, **params: Any
) -> httpx.Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    target = f"{path}?{query}" if query else path
    client_id, secret = (biz.client_id, biz.secret) if isinstance(biz, ApiBusiness) else biz
    return await client.get(target, headers=signed_headers(client_id, secret, target))


def statement_path(account_id: str) -> str:
    return f"/api/v1/accounts/{account_id}/statement"


async def test_json_pages_have_totals_and_running_balances(client: httpx.AsyncClient) -> None:
    biz = await api_business()
    a, b, _ = await history(biz)
    first = await get(client, biz, statement_path(a), start=DAY1, end=DAY2, limit=2)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["opening_balance"] == 100_000 and body["closing_balance"] == 119_000
    assert (body["total_credits"], body["total_debits"]) == (40_000, 21_000)
    assert body["period"] == {"start": DAY1.isoformat(), "end": DAY2.isoformat()}
    assert body["has_more"] is True and len(body["data"]) == 2
    entry = body["data"][1]
    assert (
        entry["object"] == "statement_entry"
        and entry["debit"] == 15_000
        and entry["counterpart_account_id"] == b
    )
    second = await get(
        client, biz, statement_path(a), start=DAY1, end=DAY2, limit=2, after=body["next_cursor"]
    )
    rest = second.json()
    assert rest["has_more"] is False and rest["next_cursor"] is None
    assert [e["running_balance"] for e in body["data"] + rest["data"]] == [140_000, 125_000, 119_000]
    assert rest["data"][0]["kind"] == "fee"


async def test_every_file_format_downloads_with_headers_and_matching_totals(
    client: httpx.AsyncClient,
) -> None:
    import mt940
    import openpyxl
    import pypdf
    from lxml import etree

    biz = await api_business()
    a, _, _ = await history(biz)
    expected = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pdf": "application/pdf",
        "mt940": "text/plain; charset=us-ascii",
        "camt053": "application/xml",
    }
    ext = {"csv": "csv", "xlsx": "xlsx", "pdf": "pdf", "mt940": "sta", "camt053": "xml"}
    for fmt, media in expected.items():
        response = await get(client, biz, statement_path(a), start=DAY1, end=DAY2, format=fmt)
        assert response.status_code == 200, (fmt, response.text[:300])
        assert response.headers["content-type"] == media
        assert response.headers["content-disposition"] == (
            f'attachment; filename="Partner-0_{DAY1}_{DAY2}.{ext[fmt]}"'  # the account's name and the period
        )
        data = response.content
        if fmt == "csv":
            assert data.startswith("\ufeff".encode())
            rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
            meta = {r[0]: r[1] for r in rows[:17] if len(r) == 2}
            assert meta["Opening balance"] == "100000" and meta["Closing balance"] == "119000"
            assert rows[-1][8:11] == ["21000", "40000", "119000"]
        elif fmt == "xlsx":
            ws = openpyxl.load_workbook(io.BytesIO(data), read_only=True).active
            values = [list(row) for row in ws.iter_rows(values_only=True)]
            numbers = [v for row in values for v in row if isinstance(v, int | float)]
            assert 119_000 in numbers and 100_000 in numbers
        elif fmt == "pdf":
            text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)
            assert "100,000" in text and "119,000" in text
        elif fmt == "mt940":
            parsed = mt940.parse(data.decode("ascii"))
            assert parsed.data["final_opening_balance"].amount.amount == Decimal(100_000)
            assert parsed.data["final_closing_balance"].amount.amount == Decimal(119_000)
            assert len(parsed) == 3
        else:
            doc = etree.fromstring(data)
            amounts = {
                bal.findtext(".//{*}Cd"): Decimal(bal.findtext("{*}Amt")) for bal in doc.iter("{*}Bal")
            }
            assert amounts == {"OPBD": Decimal(100_000), "CLBD": Decimal(119_000)}
    actions = await sql.fetch(
        "SELECT summary FROM activity WHERE business_id = $1 AND action = 'statement.exported'",
        biz.business_id,
    )
    assert len(actions) == 5


async def test_formula_prefixes_are_escaped_in_csv_and_xlsx_through_the_route(
    client: httpx.AsyncClient,
) -> None:
    import openpyxl

    biz = await api_business()
    t = biz.tree
    a, b = t.accounts
    await fund(t.business_id, a, 100_000)
    payloads = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)"]
    for i, text in enumerate(payloads):
        await ledger.create_transfer(
            t.actor, from_account_id=a, to_account_id=b, amount=100 + i, reference=f"=F{i}", description=text
        )
    world = await world_of(t.business_id)
    await book(t.business_id, world, a, 7, datetime.now(UTC), description="\tcmd")
    await book(t.business_id, world, a, 8, datetime.now(UTC), description="\rcmd")
    response = await get(client, biz, statement_path(a), start=TODAY, end=TODAY, format="csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    descriptions = [r[3] for r in rows[19:-1]]
    assert descriptions[1:] == ["'" + p for p in [*payloads, "\tcmd", "\rcmd"]]
    references = [r[2] for r in rows[20:-1] if r[2]]
    assert references and all(ref.startswith("'=") for ref in references)
    debits = [r[8] for r in rows[20:24]]
    assert debits == ["100", "101", "102", "103"]  # numbers are not escaped
    response = await get(client, biz, statement_path(a), start=TODAY, end=TODAY, format="xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    ws = wb.active
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    risky = [c for c in cells if c.value.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert risky, "the payloads should be present as text"
    assert all(c.data_type == "s" for c in risky)  # text, never a formula
    amounts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, int | float)]
    assert {100, 101, 102, 103} <= set(amounts)


@pytest.mark.parametrize(
    ("params", "status", "code", "pointer"),
    [
        (
            {"start": TODAY + timedelta(days=1), "end": TODAY + timedelta(days=1)},
            422,
            "period_in_future",
            "/start",
        ),
        ({"start": DAY2, "end": DAY1}, 422, "invalid_period", "/start"),
        ({"start": "yesterday", "end": DAY1}, 422, "invalid_period", "/start"),
        (
            {"start": TODAY - timedelta(days=400), "end": TODAY, "format": "pdf"},
            422,
            "period_too_long",
            "/end",
        ),
        ({"start": DAY1, "end": DAY2, "format": "docx"}, 422, "unknown_format", "/format"),
        ({"start": DAY1, "end": DAY2, "limit": "0"}, 422, "invalid_limit", "/limit"),
        ({"start": DAY1, "end": DAY2, "after": "bm90LWEtY3Vyc29y"}, 422, "invalid_cursor", "/after"),
        (
            {"start": DAY1, "end": DAY2, "include_descendants": "maybe"},
            422,
            "validation_failed",
            "/include_descendants",
        ),
    ],
)
async def test_bad_input_gets_a_specific_problem_and_nothing_is_logged(
    client: httpx.AsyncClient, params: dict[str, Any], status: int, code: str, pointer: str
) -> None:
    biz = await api_business()
    response = await get(client, biz, statement_path(biz.tree.accounts[0]), **params)
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == code
    assert problem["errors"][0]["pointer"] == pointer
    logged = await sql.fetchval(
        "SELECT count(*) FROM activity WHERE business_id = $1 AND action = 'statement.exported'",
        biz.business_id,
    )
    assert logged == 0


async def test_long_csv_range_is_allowed(client: httpx.AsyncClient) -> None:
    biz = await api_business()
    response = await get(
        client,
        biz,
        statement_path(biz.tree.accounts[0]),
        start=TODAY - timedelta(days=700),
        end=TODAY,
        format="csv",
    )
    assert response.status_code == 200


async def test_other_business_and_sibling_subtree_get_404(client: httpx.AsyncClient) -> None:
    biz = await api_business()
    other = await api_business()
    a, b = biz.tree.accounts
    for fmt in ("json", "csv"):
        response = await get(client, other, statement_path(a), start=DAY1, end=DAY2, format=fmt)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    scoped = await add_key(biz.business_id, scope=a, permissions=frozenset({"reports:view"}))
    assert (await get(client, scoped, statement_path(b), start=DAY1, end=DAY2)).status_code == 404
    rollup = await get(
        client, scoped, statement_path(biz.tree.main), start=DAY1, end=DAY2, include_descendants="true"
    )
    assert rollup.status_code == 404
    assert (await get(client, scoped, statement_path(a), start=DAY1, end=DAY2)).status_code == 200
    no_right = await add_key(biz.business_id, scope=None, permissions=frozenset({"accounts:view"}))
    assert (await get(client, no_right, statement_path(a), start=DAY1, end=DAY2)).status_code == 403


async def test_subtree_rollup_files_list_an_internal_transfer_once(client: httpx.AsyncClient) -> None:
    """A roll-up's CSV, XLSX and PDF show the 15,000 from a to b once, marked internal, with the
    external totals (40,000 in, 6,000 out) and the internal total apart; MT940 keeps both sides."""
    import mt940
    import openpyxl
    import pypdf

    biz = await api_business()
    a, b, _ = await history(biz)

    async def rollup_file(fmt: str) -> bytes:
        response = await get(
            client,
            biz,
            statement_path(biz.tree.main),
            start=DAY1,
            end=DAY2,
            format=fmt,
            include_descendants="true",
        )
        assert response.status_code == 200, response.text[:300]
        assert "_subtree_" in response.headers["content-disposition"]
        return response.content

    rows = list(csv.reader(io.StringIO((await rollup_file("csv")).decode("utf-8-sig"))))
    meta = {r[0]: r[1] for r in rows if len(r) == 2}
    assert meta["Total debits (out to outside)"] == "6000"
    assert meta["Total credits (in from outside)"] == "40000"
    assert meta["Internal transfers (between these accounts)"] == "15000"
    assert meta["Internal transfer count"] == "1" and meta["Entries"] == "3"
    columns = next(i for i, c in enumerate(rows) if c and c[0] == "Date (WIB)")
    assert rows[columns][8:13] == ["Debit", "Credit", "Internal", "Running balance", "Kind"]
    entries = rows[columns + 1 : -1]
    # (account, counterpart, debit, credit, internal, running balance): the internal transfer once,
    # from a to b, moving the roll-up's balance by nothing
    assert [(r[4], r[6], *r[8:12]) for r in entries] == [
        (a, entries[0][6], "", "40000", "", "140000"),
        (a, b, "", "", "15000", "140000"),
        (a, entries[2][6], "6000", "", "", "134000"),
    ]
    assert rows[-1][8:12] == ["6000", "40000", "15000", "134000"]

    ws = openpyxl.load_workbook(io.BytesIO(await rollup_file("xlsx")), read_only=True).active
    sheet = [list(row) for row in ws.iter_rows(values_only=True)]
    head = next(i for i, row in enumerate(sheet) if row[0] == "Date (WIB)")
    assert sheet[head][10] == "Internal"
    assert [row[8:12] for row in sheet[head + 1 : -1]] == [
        [None, 40_000, None, 140_000],
        [None, None, 15_000, 140_000],
        [6_000, None, None, 134_000],
    ]
    assert sheet[-1][8:12] == [6_000, 40_000, 15_000, 134_000]
    assert sheet[3][10:12] == ["Between these accounts", 15_000] and sheet[3][8] == "Out to outside"

    pdf = pypdf.PdfReader(io.BytesIO(await rollup_file("pdf")))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "In from outside" in text and "Out to outside" in text and "Between these accounts" in text
    assert text.count("15,000") == 3  # the line, the summary and the totals row: once each
    assert text.count("Komisi") == 1

    # MT940 books each side on its account: the bank format still lists both
    assert len(mt940.parse((await rollup_file("mt940")).decode("ascii"))) == 4
