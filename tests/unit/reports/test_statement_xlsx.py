"""XLSX statement read back by openpyxl: numbers are numbers, dates are datetimes, formulas stay text."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from portal.domains.reports.formats import StatementTooLarge, write_statement_xlsx
from portal.domains.reports.formats.model import StatementHeader, StatementLine, to_major
from portal.domains.reports.formats.xlsx import COLUMN_HEADER_ROW, FIRST_ENTRY_ROW, XLSX_COLUMNS
from tests.support.statements import chain, generate_statement, header_for

INJECTIONS = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tfoo", "\rfoo", '=HYPERLINK("http://x","y")']
COL = {title: i + 1 for i, (title, _) in enumerate(XLSX_COLUMNS)}
HEADER_ROW = COLUMN_HEADER_ROW + 1  # openpyxl rows are 1-based
FIRST_ROW = FIRST_ENTRY_ROW + 1


def _book(header: StatementHeader, lines: Iterable[StatementLine]) -> openpyxl.Workbook:
    buf = io.BytesIO()
    write_statement_xlsx(header, lines, buf)
    buf.seek(0)
    return openpyxl.load_workbook(buf)


def test_cells_have_real_types_and_values() -> None:
    st = generate_statement(60)
    h = st.header
    ws = _book(h, st.make_lines())["Statement"]
    assert ws.freeze_panes == f"A{FIRST_ROW}"
    assert [c.value for c in ws[HEADER_ROW]] == [t for t, _ in XLSX_COLUMNS]
    assert ws.cell(2, 10).value == h.opening_balance and ws.cell(3, 10).value == h.closing_balance
    assert ws.cell(6, 2).value == datetime(2026, 11, 1)
    assert ws.cell(7, 10).value == datetime(2026, 12, 1, 8, 2, 3)  # generated_at in WIB
    for row, ln in zip(ws.iter_rows(min_row=FIRST_ROW, max_row=FIRST_ROW + 59), st.make_lines(), strict=True):
        date_cell = row[COL["Date (WIB)"] - 1]
        assert isinstance(date_cell.value, datetime) and date_cell.is_date
        assert date_cell.value == ln.booked_at.astimezone(h.period_start_wib.tzinfo).replace(tzinfo=None)
        balance = row[COL["Running balance"] - 1]
        assert isinstance(balance.value, int) and balance.data_type == "n"
        assert balance.value == ln.running_balance
        assert balance.number_format == "#,##0"
        amount_cell = row[COL["Debit"] - 1] if ln.debit else row[COL["Credit"] - 1]
        assert amount_cell.value == (ln.debit or ln.credit)
        assert row[COL["Transaction ID"] - 1].data_type == "s"
    totals = ws[FIRST_ROW + 60]
    assert totals[0].value == "Total"
    assert [totals[COL[t] - 1].value for t in ("Debit", "Credit", "Running balance")] == [
        h.total_debits,
        h.total_credits,
        h.closing_balance,
    ]
    assert ws.auto_filter.ref == f"A{HEADER_ROW}:L{FIRST_ROW + 59}"
    assert ws.column_dimensions["D"].width > 30


def test_two_decimal_currency_and_negative_numbers() -> None:
    lines = chain(
        -5_000,
        [
            (datetime(2026, 10, 31, 17, 30, tzinfo=UTC), 1_234_567, "in"),
            (datetime(2026, 11, 2, tzinfo=UTC), -1_300_000, "out"),
        ],
    )
    header = header_for(lines, opening=-5_000, currency="SGD")
    ws = _book(header, lines)["Statement"]
    opening = ws.cell(2, 10)
    assert opening.data_type == "n" and opening.value == -50 and opening.number_format == "#,##0.00"
    first, second = ws[FIRST_ROW], ws[FIRST_ROW + 1]
    assert first[0].value == datetime(2026, 11, 1, 0, 30)
    assert Decimal(str(first[COL["Credit"] - 1].value)) == to_major(1_234_567, "SGD")
    assert Decimal(str(second[COL["Running balance"] - 1].value)) == Decimal("-704.33")
    assert second[COL["Running balance"] - 1].data_type == "n"


@pytest.mark.parametrize("payload", INJECTIONS)
def test_formula_text_is_written_as_text(payload: str) -> None:
    lines = chain(0, [(datetime(2026, 11, 3, tzinfo=UTC), 1000, payload)])
    header = header_for(lines, business_name=payload)
    ws = _book(header, lines)["Statement"]
    cell = ws.cell(FIRST_ROW, COL["Description"])
    assert cell.data_type == "s"
    # XlsxWriter writes CR as the OOXML escape _x000D_ (Excel decodes it; openpyxl leaves it as is).
    assert cell.value.replace("_x000D_", "\r") == payload
    assert cell.quotePrefix
    assert ws.cell(1, 2).data_type == "s"
    assert ws.cell(1, 2).value.replace("_x000D_", "\r") == payload


def test_no_formula_anywhere_in_the_package() -> None:
    lines = chain(0, [(datetime(2026, 11, 3, tzinfo=UTC), 1000, p) for p in INJECTIONS])
    buf = io.BytesIO()
    write_statement_xlsx(header_for(lines), lines, buf)
    with zipfile.ZipFile(buf) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet and b"<f " not in sheet


def test_write_to_path_and_too_large(tmp_path: Path) -> None:
    st = generate_statement(5)
    target = tmp_path / "s.xlsx"
    write_statement_xlsx(st.header, st.make_lines(), target)
    assert openpyxl.load_workbook(target)["Statement"].cell(FIRST_ROW, 2).value == "trf_0007" + "0" * 22
    big = header_for([])
    object.__setattr__(big, "entry_count", 2_000_000)
    with pytest.raises(StatementTooLarge):
        write_statement_xlsx(big, [], tmp_path / "big.xlsx")
