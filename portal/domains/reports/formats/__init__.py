"""Statement export formats: CSV, XLSX, PDF, MT940 and camt.053, all database-free and streaming.

Every writer takes a `StatementHeader` and an iterable of `StatementLine`s (consumed once, never held in
a list) and either yields `bytes` chunks (`iter_statement_csv`, `iter_statement_mt940`,
`iter_statement_camt053`) or writes a file (`write_statement_xlsx`, `write_statement_pdf`). See
`EXPORT_FORMATS` for the media type and file extension of each `format=` value of the statement API.
"""

from __future__ import annotations

from dataclasses import dataclass

from .camt053 import iter_statement_camt053, write_statement_camt053
from .csv_format import iter_statement_csv, write_statement_csv
from .escape import escape_text, is_dangerous
from .model import (
    StatementExportError,
    StatementHeader,
    StatementLine,
    StatementMismatch,
    StatementTooLarge,
)
from .mt940 import iter_statement_mt940, write_statement_mt940
from .pdf import PDF_MAX_LINES, render_statement_html, statement_pdf_bytes, write_statement_pdf
from .xlsx import XLSX_MAX_LINES, write_statement_xlsx


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """How a statement format is served: media type, file extension, whether it streams as chunks."""

    name: str
    media_type: str
    extension: str
    streams: bool


EXPORT_FORMATS: dict[str, ExportFormat] = {
    "csv": ExportFormat("csv", "text/csv; charset=utf-8", "csv", True),
    "xlsx": ExportFormat(
        "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", False
    ),
    "pdf": ExportFormat("pdf", "application/pdf", "pdf", False),
    "mt940": ExportFormat("mt940", "text/plain; charset=us-ascii", "sta", True),
    "camt053": ExportFormat("camt053", "application/xml", "xml", True),
}


def statement_filename(header: StatementHeader, fmt: str) -> str:
    """A download file name such as `statement_acc_123_2026-11-01_2026-11-30.csv` (ASCII, no spaces)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in header.account_id)
    return f"statement_{safe}_{header.period_start}_{header.period_end}.{EXPORT_FORMATS[fmt].extension}"


__all__ = [
    "EXPORT_FORMATS",
    "PDF_MAX_LINES",
    "XLSX_MAX_LINES",
    "ExportFormat",
    "StatementExportError",
    "StatementHeader",
    "StatementLine",
    "StatementMismatch",
    "StatementTooLarge",
    "escape_text",
    "is_dangerous",
    "iter_statement_camt053",
    "iter_statement_csv",
    "iter_statement_mt940",
    "render_statement_html",
    "statement_filename",
    "statement_pdf_bytes",
    "write_statement_camt053",
    "write_statement_csv",
    "write_statement_mt940",
    "write_statement_pdf",
    "write_statement_xlsx",
]
