"""Reading a batch payouts file (CSV or XLSX) safely: UTF-8 only, the exact columns, at most 10,000 rows,
no formulas, and an XLSX read with bounded decompression (no zip bombs, no XML entities).

The rows come back as a polars frame of text columns, so every later rule runs column by column. A CSV
whose layout polars reads exactly like Python's csv module (no quote, no lone CR, the first data row
seven cells, no row longer) is parsed by polars; any other file by the csv module, as before."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator

import polars as pl
from lxml import etree

from portal.lib import frames
from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import N_

COLUMNS = ("reference", "amount", "code", "account_number", "holder_name", "description", "email")
MAX_ROWS = 10_000
_BLANK_ROW = [""] * len(COLUMNS)
MAX_FILE_BYTES = 10 * 1024 * 1024
# An XLSX's parts may not unpack to more than this in total, nor any part by more than MAX_RATIO.
MAX_UNPACKED_BYTES = 60 * 1024 * 1024
MAX_RATIO = 150
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _refuse(msgid: str, code: str, pointer: str = "/file", **params: object) -> ValidationFailed:
    return ValidationFailed(msgid, params=params, code=code, errors=[FieldError(pointer, msgid)])


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (how a spreadsheet names the column)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_table(filename: str, data: bytes) -> pl.DataFrame:
    """The file's data rows as they stand (header checked and dropped; blank rows kept, so a row's
    position is its number), as a frame of `line` (the header is row 1) and the seven columns as text.
    Trimming, leaving blank rows out and refusing formulas happen column by column afterwards
    (`formula_refusal`, `batches.checked_rows`)."""
    if not data:
        raise _refuse(N_("The file is empty."), "empty_file")
    if len(data) > MAX_FILE_BYTES:
        raise _refuse(N_("The file is larger than 10 MB."), "file_too_large")
    frame = None
    if _is_xlsx(filename, data):
        rows = list(_xlsx_rows(data))
    else:
        text = _csv_text(data)
        first = text.split("\n", 1)[0]
        delimiter = _delimiter(first)
        frame = _csv_frame(data, delimiter)
        rows = [first.rstrip("\r").split(delimiter)] if frame is not None else _csv_rows(text, delimiter)
    if not rows:
        raise _refuse(N_("The file is empty."), "empty_file")
    names = [h.strip().lower() for h in rows[0]]
    while names and not names[-1]:
        names.pop()
    if tuple(names) != COLUMNS:
        raise _refuse(
            N_("The columns must be exactly: %(columns)s."),
            "wrong_columns",
            "/file/row/1",
            columns=", ".join(COLUMNS),
        )
    if frame is None:
        del rows[0]
        frame = _rows_frame(_seven_cells(rows))
    if frame.height > MAX_ROWS and frame.select(_non_blank().sum()).item() > MAX_ROWS:
        raise _refuse(N_("A batch has at most 10,000 rows."), "too_many_rows")
    return frame.with_row_index("line", offset=2)


def _is_xlsx(filename: str, data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx")


def _delimiter(first_line: str) -> str:
    return ";" if first_line.count(";") > first_line.count(",") else ","


def cell_edges(filename: str, data: bytes) -> tuple[bool, bool]:
    """For a file `read_table` read: whether a cell may need trimming, and whether one may start as a
    formula once trimmed — one scan of a comma-separated CSV (`frames.cell_edges`), (True, True) for
    an XLSX or a semicolon-separated file."""
    if _is_xlsx(filename, data) or _delimiter(data.split(b"\n", 1)[0].decode("utf-8", "replace")) != ",":
        return True, True
    return frames.cell_edges(data)


def free_separator(filename: str, data: bytes) -> str | None:
    """For a CSV, a separator for `frames.packed_texts` that no cell of it holds (one byte search)."""
    return None if _is_xlsx(filename, data) else frames.free_separator(data)


def _seven_cells(rows: list[list[str]]) -> list[list[str]]:
    """Every row exactly seven cells: a shorter one padded, a longer one cut if what is cut is blank and
    refused otherwise (Python touches only the rows whose width is not seven)."""
    width = len(COLUMNS)
    for index in [i for i, row in enumerate(rows) if len(row) != width]:
        cells = rows[index]
        if any(c.strip() for c in cells[width:]):
            raise _refuse(
                N_("Row %(row)s has more cells than the seven columns."),
                "wrong_columns",
                f"/file/row/{index + 2}",
                row=index + 2,
            )
        # A blank row stays (it keeps the numbering) as one shared empty row: a file of blank lines is cheap.
        blank = not any(c.strip() for c in cells)
        rows[index] = _BLANK_ROW if blank else cells[:width] + [""] * (width - len(cells))
    return rows


def _rows_frame(rows: list[list[str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {column: [row[i] for row in rows] for i, column in enumerate(COLUMNS)},
        schema=dict.fromkeys(COLUMNS, pl.String),
    )


def _csv_frame(data: bytes, delimiter: str) -> pl.DataFrame | None:
    """The data rows (below the header line) read by polars, or None when polars could read the file
    otherwise than Python's csv module: quotes, a CR that does not end a line, a first data row of other
    than seven cells or a longer row later (polars refuses those), or no data line at all."""
    end = data.find(b"\n")
    if end < 0 or b'"' in data or data.count(b"\r") != data.count(b"\r\n") or end + 1 == len(data):
        return None
    try:
        frame = pl.read_csv(
            io.BytesIO(data[end + 1 :]),
            has_header=False,
            new_columns=list(COLUMNS),
            schema=dict.fromkeys(COLUMNS, pl.String),
            separator=delimiter,
            quote_char=None,
            infer_schema=False,
        )
    except pl.exceptions.PolarsError:
        return None
    # A short row's missing cells and empty cells are both null: both are "" in the csv module.
    return frame.with_columns(pl.all().fill_null(""))


def _non_blank() -> pl.Expr:
    return pl.any_horizontal([frames.trimmed(pl.col(c)) != "" for c in COLUMNS])


# A cell that, trimmed, starts with what can still lead a trimmed cell of spreadsheet.FORMULA_PREFIXES.
_FORMULA = "^" + frames.char_class(frames.WHITESPACE) + "*[=+\\-@]"


def formula_refusal(frame: pl.DataFrame) -> ValidationFailed | None:
    """The refusal of the file at its first cell (by row, then column) that, trimmed, starts like a
    formula; None when no cell does."""
    first = frame.select(pl.col(c).str.contains(_FORMULA).arg_true().first().alias(c) for c in COLUMNS).row(0)
    found = [(index, position) for position, index in enumerate(first) if index is not None]
    if not found:
        return None
    index, position = min(found)
    return refuse_formula(index + 2, position)


def refuse_formula(row: int, index: int) -> ValidationFailed:
    """The refusal of a file whose row `row` has a formula-like text in column `index`."""
    return _refuse(
        N_("Row %(row)s, column %(column)s starts like a formula; formulas are not accepted."),
        "formula_in_cell",
        f"/file/row/{row}/{COLUMNS[index]}",
        row=row,
        column=column_letter(index),
    )


def refuse_no_rows() -> ValidationFailed:
    return _refuse(N_("The file has no rows below the header."), "empty_file")


def refuse_unkeepable() -> ValidationFailed:
    """A file whose cells hold every character that could separate them in its record."""
    return _refuse(frames.NoSeparator.MESSAGE, "unreadable_file")


def _csv_text(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse(
            N_("The file is not UTF-8 text (byte %(offset)s); save it as CSV UTF-8."),
            "not_utf8",
            offset=exc.start + 1,
        ) from None
    if "\x00" in text:  # never text typed in a spreadsheet, and the database refuses it in text
        raise _refuse(N_("The file is neither CSV nor a readable XLSX workbook."), "unreadable_file")
    return text


def _csv_rows(text: str, delimiter: str) -> list[list[str]]:
    """Rows as the csv module reads them, a lone carriage return ending a row (newline="")."""
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise _refuse(
            N_("The file is neither CSV nor a readable XLSX workbook."), "unreadable_file"
        ) from None
    total = sum(i.file_size for i in infos)
    ratio = max((i.file_size / max(i.compress_size, 1) for i in infos), default=0)
    if total > MAX_UNPACKED_BYTES or (ratio > MAX_RATIO and total > 1024 * 1024):
        raise _refuse(N_("The workbook unpacks to far more than it weighs; it is refused."), "xlsx_bomb")
    names = {i.filename for i in infos}
    sheets = sorted(n for n in names if n.startswith("xl/worksheets/sheet") and n.endswith(".xml"))
    if not sheets:
        raise _refuse(N_("The file is neither CSV nor a readable XLSX workbook."), "unreadable_file")
    shared = _shared_strings(archive) if "xl/sharedStrings.xml" in names else []
    return _sheet_rows(archive, sheets[0], shared)


def _parser_events(archive: zipfile.ZipFile, name: str, tag: str) -> Iterator[etree._Element]:
    with archive.open(name) as raw:
        context = etree.iterparse(
            raw,
            events=("end",),
            tag=tag,
            resolve_entities=False,
            no_network=True,
            huge_tree=False,
            load_dtd=False,
        )
        try:
            for _event, element in context:
                yield element
        except etree.XMLSyntaxError:
            raise _refuse(
                N_("The file is neither CSV nor a readable XLSX workbook."), "unreadable_file"
            ) from None


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    strings = []
    for item in _parser_events(archive, "xl/sharedStrings.xml", f"{_NS}si"):
        strings.append("".join(t.text or "" for t in item.iter(f"{_NS}t")))
        item.clear()
    return strings


def _index(ref: str) -> int:
    letters = "".join(ch for ch in ref if ch.isalpha())
    value = 0
    for ch in letters.upper():
        value = value * 26 + (ord(ch) - 64)
    return value - 1


def _sheet_rows(archive: zipfile.ZipFile, name: str, shared: list[str]) -> Iterator[list[str]]:
    for row in _parser_events(archive, name, f"{_NS}row"):
        number = int(row.get("r") or 0)
        cells: dict[int, str] = {}
        for cell in row.iter(f"{_NS}c"):
            ref = cell.get("r") or ""
            col = _index(ref) if ref else len(cells)
            if col > 40:
                continue
            if cell.find(f"{_NS}f") is not None:
                raise _refuse(
                    N_("Row %(row)s, column %(column)s holds a formula; formulas are not accepted."),
                    "formula_in_cell",
                    f"/file/row/{number}",
                    row=number,
                    column=column_letter(col),
                )
            kind = cell.get("t")
            if kind == "inlineStr":
                text = "".join(t.text or "" for t in cell.iter(f"{_NS}t"))
            else:
                value = cell.find(f"{_NS}v")
                text = value.text or "" if value is not None else ""
                if kind == "s":
                    text = shared[int(text)] if text.isdigit() and int(text) < len(shared) else ""
                elif kind is None and text.endswith(".0"):
                    text = text[:-2]  # a whole number stored as a float
            cells[col] = text
        row.clear()
        width = max(cells) + 1 if cells else 0
        yield [cells.get(i, "") for i in range(width)]
