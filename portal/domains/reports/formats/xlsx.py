"""XLSX statement with XlsxWriter in `constant_memory` mode: rows go to disk as they are written.

One sheet, "Statement": a header block (account, period, opening/closing balance, totals), the column
header row (frozen, with an autofilter), one row per line and a totals row. Amounts are numbers with a
`#,##0` (IDR) or `#,##0.00` (USD, SGD) format; times are real Excel date-times of the WIB wall time; all
text is written with `write_string`, so text that looks like a formula (`=1+1`) stays text, and such cells
also carry Excel's quote-prefix style so editing them does not turn them into formulas either.

A roll-up that nets its internal transfers (`header.nets_internal`) has an `Internal` column after
`Credit` (a transfer between two of its accounts, listed once), its header block says "Out to outside"
and "In from outside" for the debits and credits and gives the internal total and count beside them,
and its totals row the internal total.

Excel stores numbers as IEEE doubles, so amounts of 2-decimal currencies are handed over as the double
nearest to the exact `Decimal` (what Excel would store for the typed value); IDR amounts stay integers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import UTC
from typing import IO, Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from .escape import is_dangerous
from .model import StatementHeader, StatementLine, StatementTooLarge, checked, to_major, to_wib

XLSX_MAX_ROWS = 1_048_576
SHEET_NAME = "Statement"
XLSX_STRING_LIMIT = 32_767
# (title, width) of each entry column, in order.
XLSX_COLUMNS: tuple[tuple[str, int], ...] = (
    ("Date (WIB)", 20),
    ("Transaction ID", 30),
    ("Reference", 24),
    ("Description", 42),
    ("Account ID", 30),
    ("Account name", 24),
    ("Counterpart ID", 30),
    ("Counterpart name", 24),
    ("Debit", 18),
    ("Credit", 18),
    ("Running balance", 20),
    ("Kind", 12),
)
NETTED_XLSX_COLUMNS: tuple[tuple[str, int], ...] = (*XLSX_COLUMNS[:10], ("Internal", 18), *XLSX_COLUMNS[10:])
HEADER_BLOCK_ROWS = 7
COLUMN_HEADER_ROW = HEADER_BLOCK_ROWS + 1  # one empty row between the block and the table
FIRST_ENTRY_ROW = COLUMN_HEADER_ROW + 1
# Rows the file needs besides the entries: header block, blank, column headers, totals.
XLSX_MAX_LINES = XLSX_MAX_ROWS - FIRST_ENTRY_ROW - 1


class _Writer:
    """Holds the sheet and its formats while one statement is written."""

    def __init__(
        self,
        workbook: xlsxwriter.Workbook,
        header: StatementHeader,
        kind_label: Callable[[str], str] | None = None,
    ) -> None:
        self.ws: Worksheet = workbook.add_worksheet(SHEET_NAME)
        self.header = header
        self.kind_label = kind_label
        self.netted = header.nets_internal
        self.columns = NETTED_XLSX_COLUMNS if self.netted else XLSX_COLUMNS
        # the Running balance and Kind columns move one to the right when there is an Internal column
        self.balance_col = 11 if self.netted else 10
        self.exp = header.exponent
        money = "#,##0" if self.exp == 0 else "#,##0." + "0" * self.exp
        self.f_money = workbook.add_format({"num_format": money})
        self.f_money_bold = workbook.add_format({"num_format": money, "bold": True, "top": 1})
        self.f_datetime = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.f_date = workbook.add_format({"num_format": "yyyy-mm-dd", "align": "left"})
        self.f_text = workbook.add_format({})
        self.f_text_quoted = workbook.add_format({"quote_prefix": True})
        self.f_label = workbook.add_format({"bold": True})
        self.f_title = workbook.add_format({"bold": True, "font_size": 14})
        self.f_column = workbook.add_format({"bold": True, "bottom": 1, "bg_color": "#EEF2F6"})
        self.f_total = workbook.add_format({"bold": True, "top": 1})
        self.f_count = workbook.add_format({"num_format": "#,##0"})

    def text(self, row: int, col: int, value: str | None, fmt: Format | None = None) -> None:
        value = (value or "")[:XLSX_STRING_LIMIT]
        if not value:
            return
        if fmt is None:
            fmt = self.f_text_quoted if is_dangerous(value) else self.f_text
        self.ws.write_string(row, col, value, fmt)

    def money(self, row: int, col: int, amount: int, fmt: Format | None = None) -> None:
        value: int | float = amount if self.exp == 0 else float(to_major(amount, self.header.currency))
        self.ws.write_number(row, col, value, fmt or self.f_money)

    def header_block(self) -> None:
        h, ws = self.header, self.ws
        for col, (_title, width) in enumerate(self.columns):
            ws.set_column(col, col, width)
        self.text(0, 0, "Account statement", self.f_title)
        self.text(0, 1, h.business_name, self.f_label)
        labels = (
            ("Account", "Opening balance"),
            ("Account ID", "Closing balance"),
            ("Account number", "Out to outside" if self.netted else "Total debits"),
            ("Currency", "In from outside" if self.netted else "Total credits"),
            ("Period start (WIB)", "Entries"),
            ("Period end (WIB)", "Generated at (WIB)"),
        )
        for i, (left, right) in enumerate(labels, start=1):
            self.text(i, 0, left, self.f_label)
            if i == 1:
                self.text(i, 1, h.account_name)
                if h.include_descendants:
                    self.text(i, 2, "including sub-accounts")
            elif i == 2:
                self.text(i, 1, h.account_id)
            elif i == 3:
                self.text(i, 1, h.account_number)
            elif i == 4:
                self.text(i, 1, h.currency)
            elif i == 5:
                ws.write_datetime(i, 1, h.period_start, self.f_date)
            else:
                ws.write_datetime(i, 1, h.period_end, self.f_date)
            self.text(i, 8, right, self.f_label)
            if i == 1:
                self.money(i, 9, h.opening_balance)
            elif i == 2:
                self.money(i, 9, h.closing_balance)
            elif i == 3:
                self.money(i, 9, h.total_debits)
            elif i == 4:
                self.money(i, 9, h.total_credits)
            elif i == 5:
                ws.write_number(i, 9, h.entry_count, self.f_count)
            else:
                ws.write_datetime(i, 9, to_wib(h.generated_at).replace(tzinfo=None), self.f_datetime)
            # constant_memory writes a row once it is left: the internal pair goes in with its row
            if self.netted and i == 3:
                self.text(i, 10, "Between these accounts", self.f_label)
                self.money(i, 11, h.internal_total)
            elif self.netted and i == 4:
                self.text(i, 10, "Internal transfers", self.f_label)
                ws.write_number(i, 11, h.internal_count, self.f_count)
        for col, (title, _width) in enumerate(self.columns):
            self.text(COLUMN_HEADER_ROW, col, title, self.f_column)
        ws.freeze_panes(FIRST_ENTRY_ROW, 0)

    def entry(self, row: int, line: StatementLine) -> None:
        self.ws.write_datetime(row, 0, to_wib(line.booked_at).replace(tzinfo=None), self.f_datetime)
        self.text(row, 1, line.transaction_id)
        self.text(row, 2, line.reference)
        self.text(row, 3, line.description)
        self.text(row, 4, line.account_id)
        self.text(row, 5, line.account_name)
        self.text(row, 6, line.counterpart_account_id)
        self.text(row, 7, line.counterpart_name)
        if line.debit:
            self.money(row, 8, line.debit)
        if line.credit:
            self.money(row, 9, line.credit)
        if line.internal:
            self.money(row, 10, line.internal)
        self.money(row, self.balance_col, line.running_balance)
        self.text(row, self.balance_col + 1, self.kind_label(line.kind) if self.kind_label else line.kind)

    def totals(self, row: int) -> None:
        h = self.header
        self.text(row, 0, "Total", self.f_total)
        for col in range(1, 8):
            self.ws.write_blank(row, col, None, self.f_total)
        self.money(row, 8, h.total_debits, self.f_money_bold)
        self.money(row, 9, h.total_credits, self.f_money_bold)
        if self.netted:
            self.money(row, 10, h.internal_total, self.f_money_bold)
        self.money(row, self.balance_col, h.closing_balance, self.f_money_bold)
        self.ws.write_blank(row, self.balance_col + 1, None, self.f_total)


def write_statement_xlsx(
    header: StatementHeader,
    lines: Iterable[StatementLine],
    out: str | os.PathLike[str] | IO[bytes],
    *,
    tmpdir: str | None = None,
    kind_label: Callable[[str], str] | None = None,
) -> None:
    """Write the statement as an XLSX workbook to a path or a binary file object (`kind_label` names
    each line's transaction kind, else the code is written).

    Memory stays flat however many lines there are (`constant_memory`: finished rows go to a temporary
    file in `tmpdir`). More than `XLSX_MAX_LINES` lines raise `StatementTooLarge`; lines that do not add
    up to the header raise `StatementMismatch`. Same input → byte-identical file.
    """
    if header.entry_count > XLSX_MAX_LINES:
        raise StatementTooLarge(XLSX_MAX_LINES, "XLSX")
    options: dict[str, Any] = {
        "constant_memory": True,
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
    }
    if tmpdir:
        options["tmpdir"] = tmpdir
    target: Any = os.fspath(out) if isinstance(out, str | os.PathLike) else out
    workbook = xlsxwriter.Workbook(target, options)
    try:
        created = header.generated_at.astimezone(UTC).replace(tzinfo=None)
        workbook.set_properties(
            {
                "title": f"Account statement {header.account_id} {header.period_start}..{header.period_end}",
                "company": header.business_name,
                "comments": header.statement_id,
                "created": created,
            }
        )
        writer = _Writer(workbook, header, kind_label)
        writer.header_block()
        row = FIRST_ENTRY_ROW
        for line in checked(header, lines):
            if row - FIRST_ENTRY_ROW >= XLSX_MAX_LINES:
                raise StatementTooLarge(XLSX_MAX_LINES, "XLSX")
            writer.entry(row, line)
            row += 1
        writer.ws.autofilter(COLUMN_HEADER_ROW, 0, max(row - 1, COLUMN_HEADER_ROW), len(writer.columns) - 1)
        writer.totals(row)
    finally:
        workbook.close()
