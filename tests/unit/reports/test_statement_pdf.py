"""PDF statement: text extracted with pypdf shows the balances, totals, entries and "page / pages"."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from portal.domains.reports.formats import (
    StatementMismatch,
    StatementTooLarge,
    render_statement_html,
    statement_pdf_bytes,
)
from tests.support.statements import GeneratedStatement, chain, generate_statement, header_for


@pytest.fixture(scope="module")
def multi_page() -> tuple[GeneratedStatement, list[str]]:
    st = generate_statement(90)
    pdf = statement_pdf_bytes(st.header, st.make_lines())
    reader = PdfReader(io.BytesIO(pdf))
    return st, [page.extract_text() for page in reader.pages]


def test_balances_totals_and_page_numbers(multi_page: tuple[GeneratedStatement, list[str]]) -> None:
    st, pages = multi_page
    h = st.header
    assert len(pages) >= 3
    first = pages[0]
    assert "PT Maju Bersama" in first and "Account statement" in first
    assert "Opening balance" in first and f"IDR {h.opening_balance:,}" in first
    assert "Closing balance" in first and f"IDR {h.closing_balance:,}" in first
    assert f"IDR {h.total_debits:,}" in first and f"IDR {h.total_credits:,}" in first
    assert "1 Nov 2026 – 30 Nov 2026" in first
    for number, text in enumerate(pages, start=1):
        assert f"{number} / {len(pages)}" in text
        assert "Date (WIB)" in text  # the table header repeats on every page
    last = pages[-1]
    assert f"{h.closing_balance:,}" in last and "Closing balance" in last
    everything = "\n".join(pages)
    for ln in st.make_lines():
        assert ln.transaction_id in everything.replace("\n", "")


def test_bahasa_indonesia_and_two_decimals() -> None:
    lines = chain(150_000, [(datetime(2026, 11, 3, tzinfo=UTC), -12_345, "Biaya <b>admin</b>")])
    header = header_for(lines, opening=150_000, currency="USD")
    text = PdfReader(io.BytesIO(statement_pdf_bytes(header, lines, locale="id"))).pages[0].extract_text()
    assert "Rekening koran" in text
    assert "Saldo awal" in text and "USD 1.500,00" in text
    assert "Saldo akhir" in text and "USD 1.376,55" in text
    assert "Biaya <b>admin</b>" in text  # escaped, shown as text
    assert "1 / 1" in text


def test_html_is_escaped() -> None:
    lines = chain(0, [(datetime(2026, 11, 3, tzinfo=UTC), 1, '<img src="file:///etc/passwd">')])
    html = render_statement_html(header_for(lines, business_name="<script>x</script>"), lines)
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html.split("<body>", 1)[1]


def test_cap_and_mismatch() -> None:
    st = generate_statement(6)
    with pytest.raises(StatementTooLarge):
        statement_pdf_bytes(st.header, st.make_lines(), max_lines=5)
    # A header that claims fewer lines than the stream has is caught while rendering.
    lines = list(st.make_lines())
    with pytest.raises(StatementMismatch):
        statement_pdf_bytes(header_for(lines[:5], opening=st.header.opening_balance), lines)


def test_same_input_same_bytes() -> None:
    st = generate_statement(12)
    assert statement_pdf_bytes(st.header, st.make_lines()) == statement_pdf_bytes(st.header, st.make_lines())
