"""Statements through the SDK: typed entries page by page, one page with totals, and every file format."""

from __future__ import annotations

import csv
import io
import os
import stat
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mt940
import openpyxl
import pypdf
import pytest
from neraca.models import StatementEntry, StatementPage

from portal.lib.timefmt import WIB
from tests.support.contract import collect, funded, pages, ref, res

TODAY = datetime.now(UTC).astimezone(WIB).date()


async def history(sdk: Any) -> tuple[Any, Any, Any]:
    main, division, partner = await funded(sdk, 1_000_000)
    for amount in (100_000, 20_000, 3_000):
        await res(
            sdk.transfers.create(
                from_account_id=main.id, to_account_id=partner.id, amount=amount, reference=ref("S")
            )
        )
    await res(
        sdk.transfers.create(
            from_account_id=partner.id, to_account_id=division.id, amount=7_000, reference=ref("S")
        )
    )
    return main, division, partner


async def test_entries_and_page(sdk: Any) -> None:
    main, division, partner = await history(sdk)
    start, end = TODAY - timedelta(days=1), TODAY
    entries = await collect(sdk.statements.entries(account_id=partner.id, start=start, end=end, limit=2))
    assert all(isinstance(e, StatementEntry) for e in entries)
    assert [(e.credit, e.debit) for e in entries] == [(100_000, 0), (20_000, 0), (3_000, 0), (0, 7_000)]
    assert [e.running_balance for e in entries] == [100_000, 120_000, 123_000, 116_000]
    assert entries[-1].counterpart_account_id == division.id and entries[0].booked_at.tzinfo is not None
    assert len(await pages(sdk.statements.entries(account_id=partner.id, start=start, end=end, limit=3))) == 2

    page = await res(sdk.statements.retrieve(account_id=partner.id, start=start, end=end, limit=3))
    assert isinstance(page, StatementPage)
    assert (page.opening_balance, page.closing_balance, page.total_credits, page.total_debits) == (
        0,
        116_000,
        123_000,
        7_000,
    )
    assert (page.currency, page.period.start, page.period.end) == ("IDR", start, end)
    assert len(page.data) == 3 and page.has_more and page.next_cursor
    rest = await res(
        sdk.statements.retrieve(account_id=partner.id, start=start, end=end, after=page.next_cursor)
    )
    assert [e.debit for e in rest.data] == [7_000] and not rest.has_more

    tree = await collect(
        sdk.statements.entries(account_id=main.id, start=start, end=end, include_descendants=True)
    )
    own = await collect(sdk.statements.entries(account_id=main.id, start=start, end=end))
    assert len(tree) > len(own) >= 4
    assert (
        await collect(
            sdk.statements.entries(
                account_id=partner.id, start=TODAY - timedelta(days=30), end=TODAY - timedelta(days=2)
            )
        )
        == []
    )


def read_back(fmt: str, path: Path) -> list[Any]:
    """Amounts as an independent reader of each format sees them."""
    data = path.read_bytes()
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        return [cell for row in rows for cell in row]
    if fmt == "xlsx":
        book = openpyxl.load_workbook(path, read_only=True)
        return [cell for row in book.active.iter_rows(values_only=True) for cell in row]
    if fmt == "pdf":
        text = "".join(p.extract_text() for p in pypdf.PdfReader(path).pages)
        return [text]
    if fmt == "mt940":
        statement = mt940.models.Transactions()
        statement.parse(data.decode("latin-1"))
        return [t.data["amount"].amount for t in statement]
    root = ET.fromstring(data)
    return [el.text for el in root.iter() if el.tag.endswith("Amt")]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf", "mt940", "camt053"])
async def test_download_every_format(sdk: Any, tmp_path: Path, fmt: str) -> None:
    _main, _division, partner = await history(sdk)
    target = tmp_path / f"statement.{fmt}"
    written = await res(
        sdk.statements.download(
            account_id=partner.id, start=TODAY - timedelta(days=1), end=TODAY, format=fmt, path=target
        )
    )
    assert Path(written) == target and target.stat().st_size > 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(tmp_path) == [target.name]  # no .part file left behind
    values = read_back(fmt, target)
    text = " ".join(str(v) for v in values)
    if fmt in ("csv", "xlsx"):
        assert any(str(v).replace(".", "") in ("100000", "7000") for v in values), values
    elif fmt == "pdf":
        assert "100,000" in text and "Closing balance IDR 116,000" in text, text
    else:
        assert any(float(str(v)) == 100_000 for v in values), values
