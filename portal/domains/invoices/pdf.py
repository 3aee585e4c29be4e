"""An invoice as PDF: Jinja2 renders `templates/invoices/pdf.html`, WeasyPrint lays it out (like the
statements' PDFs: the stylesheet is inline and WeasyPrint fetches nothing). Labels follow the current
language; amounts are formatted like the portal's ("Rp5.000" / "IDR 5,000")."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from portal.domains.invoices.schemas import InvoiceOut
from portal.lib.i18n import babel_locale, gettext
from portal.lib.money import format_money

# portal/domains/invoices/pdf.py → the repository root holds templates/.
TEMPLATES = Path(__file__).resolve().parents[3] / "templates"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))
    env.globals["_"] = lambda message, **params: gettext(message) % params if params else gettext(message)
    return env


def render_html(invoice: InvoiceOut, *, account_name: str, receiver_name: str) -> str:
    """The invoice's printable HTML."""
    locale = babel_locale()
    return (
        _environment()
        .get_template("invoices/pdf.html")
        .render(
            invoice=invoice,
            money=lambda amount: format_money(amount, invoice.currency, locale),
            account_name=account_name,
            receiver_name=receiver_name,
        )
    )


def pdf_bytes(invoice: InvoiceOut, *, account_name: str, receiver_name: str) -> bytes:
    """The invoice as a PDF document (same input → same bytes: a fixed document identifier)."""
    from weasyprint import HTML  # heavy import (pango via cffi); only when a PDF is asked for
    from weasyprint.urls import URLFetcher

    out = io.BytesIO()
    html = render_html(invoice, account_name=account_name, receiver_name=receiver_name)
    HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf(
        out, pdf_identifier=invoice.id.encode("utf-8")
    )
    return out.getvalue()


def report_pdf(report: str, columns: list[str], rows: list[list[object]]) -> bytes:
    """A report's table as a PDF document."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = (
        _environment()
        .get_template("invoices/report_pdf.html")
        .render(report=report, columns=columns, rows=rows)
    )
    out = io.BytesIO()
    HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf(
        out, pdf_identifier=report.encode()
    )
    return out.getvalue()
