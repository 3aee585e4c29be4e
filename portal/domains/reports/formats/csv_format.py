"""CSV statement: RFC 4180 (CRLF, quoting as needed), UTF-8 with a BOM so Excel reads it as UTF-8.

Layout: a `key,value` header block, an empty record, the column header row, one row per line and a totals
row. Times are WIB wall time; amounts are plain decimals (no thousands separators, decimals only for USD
and SGD). Text cells are formula-escaped (`escape.escape_text`); amounts never are.

A roll-up that nets its internal transfers (`header.nets_internal`) has one more column, `Internal`
(after `Credit`): the amount of a transfer between two of its accounts, listed once (from the line's
account to its counterpart) with Debit and Credit empty; its header block gives the debits and credits
to and from outside and the internal total and count, and its totals row the internal total too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from .escape import escape_text
from .model import BytesSink, StatementHeader, StatementLine, checked, format_plain, wib_text

BOM = "\ufeff"
CSV_COLUMNS: tuple[str, ...] = (
    "Date (WIB)",
    "Transaction ID",
    "Reference",
    "Description",
    "Account ID",
    "Account name",
    "Counterpart ID",
    "Counterpart name",
    "Debit",
    "Credit",
    "Running balance",
    "Kind",
)
NETTED_CSV_COLUMNS: tuple[str, ...] = (*CSV_COLUMNS[:10], "Internal", *CSV_COLUMNS[10:])
# Rows gathered before a chunk is encoded and yielded: big enough to be cheap, small enough to stream.
ROWS_PER_CHUNK = 512


def csv_header_rows(header: StatementHeader) -> list[list[str]]:
    """The `key,value` rows at the top of the file (already escaped)."""
    cur = header.currency

    def money(amount: int) -> str:
        return format_plain(amount, cur)

    if header.nets_internal:
        totals = [
            ["Total debits (out to outside)", money(header.total_debits)],
            ["Total credits (in from outside)", money(header.total_credits)],
            ["Internal transfers (between these accounts)", money(header.internal_total)],
            ["Internal transfer count", str(header.internal_count)],
        ]
    else:
        totals = [
            ["Total debits", money(header.total_debits)],
            ["Total credits", money(header.total_credits)],
        ]
    return [
        ["Statement", "Account statement"],
        ["Business", escape_text(header.business_name)],
        ["Account name", escape_text(header.account_name)],
        ["Account ID", escape_text(header.account_id)],
        ["Account number", escape_text(header.account_number)],
        ["Includes sub-accounts", "yes" if header.include_descendants else "no"],
        ["Currency", cur],
        ["Period start", header.period_start.isoformat()],
        ["Period end", header.period_end.isoformat()],
        ["Time zone", f"{header.timezone} (WIB)"],
        ["Opening balance", money(header.opening_balance)],
        ["Closing balance", money(header.closing_balance)],
        *totals,
        ["Entries", str(header.entry_count)],
        ["Generated at (WIB)", wib_text(header.generated_at)],
        ["Statement ID", escape_text(header.statement_id)],
    ]


def csv_line_row(line: StatementLine, currency: str, netted: bool = False) -> list[str]:
    """One statement line as CSV cells (text escaped, amounts plain); `netted`: with the Internal cell."""
    row = [
        wib_text(line.booked_at),
        escape_text(line.transaction_id),
        escape_text(line.reference),
        escape_text(line.description),
        escape_text(line.account_id),
        escape_text(line.account_name),
        escape_text(line.counterpart_account_id),
        escape_text(line.counterpart_name),
        format_plain(line.debit, currency) if line.debit else "",
        format_plain(line.credit, currency) if line.credit else "",
        format_plain(line.running_balance, currency),
        escape_text(line.kind),
    ]
    if netted:
        row.insert(10, format_plain(line.internal, currency) if line.internal else "")
    return row


def csv_totals_row(header: StatementHeader) -> list[str]:
    """The last row: totals and the closing balance under the amount columns."""
    cur = header.currency
    row = [
        "Total",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        format_plain(header.total_debits, cur),
        format_plain(header.total_credits, cur),
        format_plain(header.closing_balance, cur),
        "",
    ]
    if header.nets_internal:
        row.insert(10, format_plain(header.internal_total, cur))
    return row


def _rows_bytes(rows: list[list[str]] | list[tuple[str, ...]], *, bom: bool = False) -> bytes:
    buf = io.StringIO()
    if bom:
        buf.write(BOM)
    csv.writer(buf, dialect="excel", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return buf.getvalue().encode("utf-8")


def csv_prologue(header: StatementHeader) -> bytes:
    """Everything before the first entry: BOM, the header block, an empty record, the column row."""
    columns = NETTED_CSV_COLUMNS if header.nets_internal else CSV_COLUMNS
    return _rows_bytes([*csv_header_rows(header), [], list(columns)], bom=True)


def csv_epilogue(header: StatementHeader) -> bytes:
    """Everything after the last entry: the totals row."""
    return _rows_bytes([csv_totals_row(header)])


def iter_statement_csv(header: StatementHeader, lines: Iterable[StatementLine]) -> Iterator[bytes]:
    """Stream the statement as CSV bytes (UTF-8 with BOM, CRLF), a few hundred rows per chunk.

    The lines are consumed once and never held; `StatementMismatch` is raised if they do not add up to
    the header (after the rows before the mismatch have been yielded).
    """
    buf = io.StringIO()
    writer = csv.writer(buf, dialect="excel", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def take() -> bytes:
        data = buf.getvalue().encode("utf-8")
        buf.seek(0)
        buf.truncate()
        return data

    yield csv_prologue(header)
    pending = 0
    netted = header.nets_internal
    for line in checked(header, lines):
        writer.writerow(csv_line_row(line, header.currency, netted))
        pending += 1
        if pending >= ROWS_PER_CHUNK:
            yield take()
            pending = 0
    data = take()
    yield data + csv_epilogue(header) if data else csv_epilogue(header)


def write_statement_csv(header: StatementHeader, lines: Iterable[StatementLine], out: BytesSink) -> None:
    """Write the CSV statement to a binary file object (see `iter_statement_csv`)."""
    for chunk in iter_statement_csv(header, lines):
        out.write(chunk)
