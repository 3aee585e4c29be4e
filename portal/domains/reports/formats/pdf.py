"""PDF statement: Jinja2 renders `templates/pdf/statement.html`, WeasyPrint lays it out.

WeasyPrint needs the whole document in memory, so a PDF holds at most `PDF_MAX_LINES` entries
(`StatementTooLarge` beyond; CSV, XLSX, MT940 and camt.053 have no such cap). Labels are English or
Bahasa Indonesia (`locale="id"`); amounts are grouped per locale with Babel from `Decimal`, times are WIB.
A roll-up that nets its internal transfers (`header.nets_internal`) lists each once in an Internal
column, marked, with its external and internal totals in the summary.
WeasyPrint fetches nothing: the stylesheet is inlined and every URL is refused.

System libraries WeasyPrint loads (Debian): libpango-1.0-0, libpangoft2-1.0-0, libharfbuzz-subset0 (and
their dependencies), plus a font such as fonts-dejavu-core.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .model import StatementHeader, StatementLine, StatementTooLarge, checked, exponent, to_major, to_wib

# WeasyPrint holds the whole document: measured ~10 ms and ~0.2 MB per entry on the 2-core CI machine,
# so 5,000 entries is about a minute and 1 GB. Longer statements: CSV, XLSX, MT940 or camt.053.
PDF_MAX_LINES = 5_000
TEMPLATE_NAME = "pdf/statement.html"
# portal/domains/reports/formats/pdf.py → the repository root holds templates/.
DEFAULT_TEMPLATE_DIR = Path(__file__).resolve().parents[4] / "templates"

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Account statement",
        "account": "Account",
        "account_id": "Account ID",
        "account_number": "Account number",
        "period": "Period (WIB)",
        "scope": "Covers",
        "with_descendants": "this account and its sub-accounts",
        "account_only": "this account only",
        "opening_balance": "Opening balance",
        "closing_balance": "Closing balance",
        "total_debits": "Total debits",
        "total_credits": "Total credits",
        "entries": "Entries",
        "generated_at": "Generated",
        "date": "Date (WIB)",
        "transaction": "Transaction / reference",
        "description": "Description",
        "counterpart": "Counterpart",
        "debit": "Debit",
        "credit": "Credit",
        "balance": "Balance",
        "kind": "Kind",
        "total": "Total",
        "out_to_outside": "Out to outside",
        "in_from_outside": "In from outside",
        "between": "Between these accounts",
        "internal_count": "Internal transfers",
        "internal": "Internal",
    },
    "id": {
        "title": "Rekening koran",
        "account": "Akun",
        "account_id": "ID akun",
        "account_number": "Nomor akun",
        "period": "Periode (WIB)",
        "scope": "Cakupan",
        "with_descendants": "akun ini dan sub-akunnya",
        "account_only": "akun ini saja",
        "opening_balance": "Saldo awal",
        "closing_balance": "Saldo akhir",
        "total_debits": "Total debit",
        "total_credits": "Total kredit",
        "entries": "Jumlah transaksi",
        "generated_at": "Dibuat",
        "date": "Tanggal (WIB)",
        "transaction": "Transaksi / referensi",
        "description": "Keterangan",
        "counterpart": "Lawan transaksi",
        "debit": "Debit",
        "credit": "Kredit",
        "balance": "Saldo",
        "kind": "Jenis",
        "total": "Total",
        "out_to_outside": "Keluar ke pihak luar",
        "in_from_outside": "Masuk dari pihak luar",
        "between": "Antar akun ini",
        "internal_count": "Transfer internal",
        "internal": "Internal",
    },
}


def _lang(locale: str) -> str:
    return "id" if locale.lower().startswith("id") else "en"


def _babel_locale(locale: str) -> str:
    return "id_ID" if _lang(locale) == "id" else "en"


@lru_cache(maxsize=4)
def _environment(template_dir: str) -> Environment:
    return Environment(
        loader=FileSystemLoader(template_dir),
        autoescape=select_autoescape(("html", "xml"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def money_formatter(currency: str, locale: str) -> Callable[[int], str]:
    """A function formatting minor units for display: grouped, the currency's decimals (`1,500,000`)."""
    babel_locale = _babel_locale(locale)
    digits = exponent(currency)
    pattern = "#,##0" if digits == 0 else "#,##0." + "0" * digits

    def fmt(amount: int) -> str:
        return format_decimal(to_major(amount, currency), format=pattern, locale=babel_locale)

    return fmt


def render_statement_html(
    header: StatementHeader,
    lines: Iterable[StatementLine],
    *,
    locale: str = "en",
    template_dir: str | os.PathLike[str] | None = None,
    max_lines: int = PDF_MAX_LINES,
    kind_label: Callable[[str], str] | None = None,
) -> str:
    """The statement as HTML for WeasyPrint (also handy for a print preview); `kind_label` names each
    line's transaction kind in the statement's language (else the code is shown).

    Raises `StatementTooLarge` past `max_lines` entries and `StatementMismatch` if the lines do not add up.
    """
    if header.entry_count > max_lines:
        raise StatementTooLarge(max_lines, "PDF")
    money = money_formatter(header.currency, locale)
    babel_locale = _babel_locale(locale)

    def rows() -> Iterator[dict[str, str]]:
        for n, line in enumerate(checked(header, lines), start=1):
            if n > max_lines:
                raise StatementTooLarge(max_lines, "PDF")
            yield {
                "date": to_wib(line.booked_at).strftime("%Y-%m-%d %H:%M:%S"),
                "transaction_id": line.transaction_id,
                "reference": line.reference,
                "description": line.description,
                "account": f"{line.account_name} · {line.account_id}",
                "counterpart": line.counterpart_name,
                "counterpart_id": line.counterpart_account_id,
                "debit": money(line.debit) if line.debit else "",
                "credit": money(line.credit) if line.credit else "",
                "internal": money(line.internal) if line.internal else "",
                "balance": money(line.running_balance),
                "kind": kind_label(line.kind) if kind_label else line.kind,
            }

    def day(d: Any) -> str:
        return format_date(d, "d MMM yyyy", locale=babel_locale)

    env = _environment(os.fspath(template_dir or DEFAULT_TEMPLATE_DIR))
    generated = to_wib(header.generated_at)
    return env.get_template(TEMPLATE_NAME).render(
        h=header,
        t=LABELS[_lang(locale)],
        lang=_lang(locale),
        money=money,
        rows=rows(),
        entry_count=format_decimal(header.entry_count, locale=babel_locale),
        internal_count=format_decimal(header.internal_count, locale=babel_locale),
        period=f"{day(header.period_start)} – {day(header.period_end)}",
        period_start=day(header.period_start),
        period_end=day(header.period_end),
        generated=generated.strftime("%Y-%m-%d %H:%M:%S") + " WIB",
        created_iso=generated.replace(microsecond=0).isoformat(),
    )


def write_statement_pdf(
    header: StatementHeader,
    lines: Iterable[StatementLine],
    out: str | os.PathLike[str] | IO[bytes],
    *,
    locale: str = "en",
    template_dir: str | os.PathLike[str] | None = None,
    max_lines: int = PDF_MAX_LINES,
    kind_label: Callable[[str], str] | None = None,
) -> None:
    """Render the statement to a PDF file path or binary file object.

    At most `max_lines` entries (default `PDF_MAX_LINES`, 5,000), else `StatementTooLarge` before any
    layout work. Page numbers ("3 / 12") at the bottom right, the table header repeated on every page.
    Same input → byte-identical PDF (fixed metadata dates and document identifier).
    """
    from weasyprint import HTML  # heavy import (pango via cffi); only when a PDF is asked for
    from weasyprint.urls import URLFetcher

    html = render_statement_html(
        header, lines, locale=locale, template_dir=template_dir, max_lines=max_lines, kind_label=kind_label
    )
    target: Any = os.fspath(out) if isinstance(out, str | os.PathLike) else out
    HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf(
        target, pdf_identifier=header.statement_id.encode("utf-8")
    )


def statement_pdf_bytes(
    header: StatementHeader,
    lines: Iterable[StatementLine],
    *,
    locale: str = "en",
    template_dir: str | os.PathLike[str] | None = None,
    max_lines: int = PDF_MAX_LINES,
) -> bytes:
    """The PDF statement as bytes (see `write_statement_pdf`)."""
    buf = io.BytesIO()
    write_statement_pdf(header, lines, buf, locale=locale, template_dir=template_dir, max_lines=max_lines)
    return buf.getvalue()
