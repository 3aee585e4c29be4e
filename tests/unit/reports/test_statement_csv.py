"""CSV statement: RFC 4180 read back by the csv module, BOM, CRLF, WIB times, formula escaping."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from portal.domains.reports.formats import iter_statement_csv
from portal.domains.reports.formats.csv_format import CSV_COLUMNS
from portal.domains.reports.formats.escape import escape_text
from tests.support.statements import chain, generate_statement, header_for

INJECTIONS = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tfoo", "\rfoo"]


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _split(rows: list[list[str]]) -> tuple[dict[str, str], list[str], list[list[str]], list[str]]:
    blank = rows.index([])
    block = {k: v for k, v in rows[:blank]}
    return block, rows[blank + 1], rows[blank + 2 : -1], rows[-1]


def test_layout_bom_crlf_and_values_read_back() -> None:
    st = generate_statement(40)
    data = b"".join(iter_statement_csv(st.header, st.make_lines()))
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\n") == data.count(b"\r\n") > 40
    assert data.endswith(b"\r\n")
    block, columns, body, totals = _split(_rows(data))
    h = st.header
    assert block["Business"] == "PT Maju Bersama"
    assert block["Currency"] == "IDR"
    assert block["Opening balance"] == str(h.opening_balance)
    assert block["Closing balance"] == str(h.closing_balance)
    assert block["Period start"] == "2026-11-01" and block["Period end"] == "2026-11-30"
    assert block["Generated at (WIB)"] == "2026-12-01 08:02:03"
    assert columns == list(CSV_COLUMNS)
    assert len(body) == 40
    for row, ln in zip(body, st.make_lines(), strict=True):
        rec = dict(zip(columns, row, strict=True))
        assert rec["Transaction ID"] == ln.transaction_id
        assert rec["Debit"] == (str(ln.debit) if ln.debit else "")
        assert rec["Credit"] == (str(ln.credit) if ln.credit else "")
        assert rec["Running balance"] == str(ln.running_balance)
        assert rec["Kind"] == ln.kind
    assert totals[0] == "Total"
    assert totals[8:11] == [str(h.total_debits), str(h.total_credits), str(h.closing_balance)]


def test_times_are_wib_and_usd_has_two_decimals_without_separators() -> None:
    # 17:30 UTC on 31 October is 00:30 WIB on 1 November: inside a November statement.
    lines = chain(
        -5_000,
        [
            (datetime(2026, 10, 31, 17, 30, tzinfo=UTC), 123_456_789, "big"),
            (datetime(2026, 11, 2, 3, 0, tzinfo=UTC), -5, "five cents"),
        ],
    )
    header = header_for(lines, opening=-5_000, currency="USD")
    block, columns, body, totals = _split(_rows(b"".join(iter_statement_csv(header, lines))))
    assert block["Opening balance"] == "-50.00"
    assert body[0][0] == "2026-11-01 00:30:00"
    assert body[0][columns.index("Credit")] == "1234567.89"
    assert body[1][columns.index("Debit")] == "0.05"
    assert body[1][columns.index("Running balance")] == "1234517.84"
    assert totals[columns.index("Running balance")] == "1234517.84"


@pytest.mark.parametrize("payload", INJECTIONS)
def test_formula_prefixes_are_escaped_in_every_text_cell(payload: str) -> None:
    lines = chain(0, [(datetime(2026, 11, 3, tzinfo=UTC), 1000, payload)])
    header = header_for(lines, business_name=payload, account_name=payload)
    data = b"".join(iter_statement_csv(header, lines))
    block, columns, body, _ = _split(_rows(data))
    assert block["Business"] == "'" + payload
    assert block["Account name"] == "'" + payload
    assert body[0][columns.index("Description")] == "'" + payload
    # No cell of the file starts with a formula prefix any more.
    for row in _rows(data):
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            assert not cell.startswith("-") or cell.lstrip("-").replace(".", "").isdigit(), cell


def test_negative_numbers_are_numbers_not_escaped() -> None:
    lines = chain(-1_000_000, [(datetime(2026, 11, 5, tzinfo=UTC), -250_000, "fee to system account")])
    header = header_for(lines, opening=-1_000_000)
    block, columns, body, totals = _split(_rows(b"".join(iter_statement_csv(header, lines))))
    assert block["Opening balance"] == "-1000000"
    assert block["Closing balance"] == "-1250000"
    assert body[0][columns.index("Running balance")] == "-1250000"
    assert totals[columns.index("Running balance")] == "-1250000"


def test_quoting_keeps_commas_quotes_and_newlines_in_one_cell() -> None:
    text = 'Invoice "7", line one\r\nline two'
    lines = chain(0, [(datetime(2026, 11, 3, tzinfo=UTC), 1000, text)])
    _, columns, body, _ = _split(_rows(b"".join(iter_statement_csv(header_for(lines), lines))))
    assert body[0][columns.index("Description")] == text


def test_escape_text_rules() -> None:
    assert escape_text("=1+1") == "'=1+1"
    assert escape_text("Toko =1") == "Toko =1"
    assert escape_text("") == ""
    assert escape_text(None) == ""
