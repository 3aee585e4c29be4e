"""Uploaded files as polars frames of text, for checks written as column expressions (no Python loop per
row). Domain-free: reading CSV bytes (polars, with Python's csv module as the fallback wherever polars
could read a file otherwise), rows read in Python (an XLSX sheet, the fallback) into the same frame, a
header normalised, a cell trimmed exactly as Python's `str.strip()` and a cell's formula flag.

A frame here holds a file's rows in file order, header included as row 0, one text column per position
(`c0`, `c1`…), a missing cell "" (never null)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

import polars as pl

from portal.lib.i18n import N_
from portal.lib.spreadsheet import FORMULA_PREFIXES

# Python's str.strip() set. polars' strip_chars() without an argument strips Unicode White_Space, which
# lacks the four information separators U+001C–U+001F that Python strips: the set is passed exactly.
WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
_BOM = b"\xef\xbb\xbf"
# A well-formed quoted CSV field (at a field's start, closed before a comma or a line's end): where every
# quote of a file is in one, Python's csv module and polars read the file alike.
_QUOTED_FIELD = re.compile(r'(?:^|(?<=[,\r\n]))"(?:[^"]|"")*"(?=[,\r\n]|\Z)')


class NotUtf8(ValueError):
    """The CSV bytes are not UTF-8 text."""


def trimmed(cell: pl.Expr) -> pl.Expr:
    """A text cell trimmed as Python's `str.strip()` trims it."""
    return cell.str.strip_chars(WHITESPACE)


def formula(cell: pl.Expr) -> pl.Expr:
    """Whether a text cell starts as a spreadsheet formula (`= + - @`, a tab, a carriage return)."""
    return cell.str.slice(0, 1).is_in(list(FORMULA_PREFIXES))


def header_names(cells: Sequence[str]) -> list[str]:
    """A header row's names as the templates spell them: trimmed, lower case, spaces as underscores."""
    return [cell.strip().lower().replace(" ", "_") for cell in cells]


def csv_text(content: bytes) -> str:
    """CSV bytes as text (a leading byte-order mark dropped); NotUtf8 when they are not UTF-8."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotUtf8 from None


def csv_rows(text: str) -> list[list[str]]:
    """Every row of CSV text as Python's csv module reads it (an empty line is an empty row)."""
    return list(csv.reader(io.StringIO(text)))


def char_class(chars: str) -> str:
    """A regular-expression character class (polars' syntax) of exactly these characters."""
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"


def rows_frame(rows: Sequence[Sequence[str]]) -> pl.DataFrame:
    """Rows read in Python as a frame: as many columns as the longest row, a missing cell ""."""
    width = max((len(row) for row in rows), default=0)
    columns: list[list[str]] = [[] for _ in range(width)]
    for row in rows:
        for n in range(width):
            columns[n].append(row[n] if n < len(row) else "")
    return pl.DataFrame({f"c{n}": values for n, values in enumerate(columns)}, schema=_schema(width))


def _schema(width: int) -> dict[str, pl.DataType]:
    return {f"c{n}": pl.String() for n in range(width)}


def csv_frame(content: bytes, *, max_rows: int) -> pl.DataFrame | None:
    """A UTF-8 CSV file's rows read by polars, or None where polars could read it otherwise than
    Python's csv module (`csv_rows`), so the caller reads it in Python: a quote outside a well-formed
    quoted field, a carriage return not ending a line, a NUL, a second byte-order mark, a row longer
    than the first, or more lines than `max_rows` + 1 (Python's count of rows decides a limit there).
    NotUtf8 when the bytes are not UTF-8. Empty lines are rows of "" (Python's are empty rows)."""
    # ASCII bytes are UTF-8 text: decoded (a copy of the file) only to be checked or searched.
    text = None if content.isascii() else csv_text(content)
    body = content[3:] if content.startswith(_BOM) else content
    lines = body.count(b"\n")
    if (
        not body
        or lines > max_rows + 1
        or (lines == max_rows + 1 and not body.endswith(b"\n"))
        or b"\0" in body
        or body.startswith(_BOM)
        or (b"\r" in body and body.count(b"\r") != body.count(b"\r\n"))
        or (b'"' in body and '"' in _QUOTED_FIELD.sub("", text if text is not None else csv_text(content)))
    ):
        return None
    del text
    try:
        frame = pl.read_csv(
            io.BytesIO(body),
            has_header=False,
            infer_schema=False,
            quote_char='"',
            empty_string_is_null=False,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:  # a row longer than the first: Python keeps its extra cells
        return None
    frame = frame.rename({name: f"c{n}" for n, name in enumerate(frame.columns)})
    # Empty and missing cells are read as "" (a null only where polars would change that).
    return frame.with_columns(pl.all().fill_null("")) if any(frame.null_count().row(0)) else frame


# Characters that join a text column into one string for PostgreSQL, the first one no cell holds (a
# column of two rows or more: a string without a separator would split into one element, not two).
_SEPARATORS = "\x1f\x1e\x1d\x1c\x1b\x1a\x19\x18\x17\x16\x15\x14\ufdd0\ufdd1"


def free_separator(content: bytes) -> str | None:
    """A separator for `text_arrays` that appears nowhere in a UTF-8 file's bytes, so in none of its
    cells (one byte search, no cell tested); None when every one does."""
    return next((sep for sep in _SEPARATORS if sep.encode() not in content), None)


def text_arrays(
    frame: pl.DataFrame, *, first: int, separator: str | None = None
) -> tuple[list[str], list[Any]]:
    """Each text column of a frame (one row at least) as a PostgreSQL `text[]` expression over query
    parameters numbered from `first`, and those parameters. asyncpg encodes a list element by element
    in Python; here a column of one value repeated is `array_fill`, any other is joined into one
    string with a separator no cell holds — `separator` when the caller knows none does
    (`free_separator`), else the first one no cell of the column holds — and split by
    `string_to_array` (a list only when every separator is taken)."""
    params: list[Any] = []

    def param(value: Any) -> str:
        params.append(value)
        return f"${first + len(params) - 1}"

    same = _same(frame)
    varied = [c for c, one in zip(frame.columns, same, strict=True) if not one]
    sep = separator or (_candidate_free(frame, varied) if varied else None)
    texts = _joined(frame, varied, sep) if sep and varied else {}
    size = param(frame.height) if any(same) else ""
    split = param(sep) if texts else ""
    arrays = []
    for c, one in zip(frame.columns, same, strict=True):
        if one:
            arrays.append(f"array_fill({param(frame.item(0, c))}::text, ARRAY[{size}::integer])")
        elif c in texts:
            arrays.append(f"string_to_array({param(texts[c])}::text, {split}::text)")
        else:
            arrays.append(f"{param(frame.get_column(c).to_list())}::text[]")
    return arrays, params


class NoSeparator(ValueError):
    """Every character that could separate a frame's cells is in one of them."""

    # What an upload refusing such a file says (code `unreadable_file`).
    MESSAGE = N_("The file holds every character that could separate its cells; it cannot be kept.")


def packed_texts(frame: pl.DataFrame, *, separator: str | None = None) -> tuple[str | None, list[str]]:
    """Each text column of a frame (one row at least) as one text, for a record kept whole and never
    changed (read with `unpacked`): a column of one value is that value; any other is its cells joined
    by a separator no cell of any column holds — `separator` when the caller knows none does
    (`free_separator`), else one found in the frame's cells. Returns (the separator, None when no
    column is joined; the texts in column order). The server stores the texts as they come: no array
    is built on a write (splitting a 100,000-row file's columns into arrays measured half of its
    record's write).
    NoSeparator when every candidate character is in a cell (a frame of more than a million distinct
    characters)."""
    same = _same(frame)
    varied = [c for c, one in zip(frame.columns, same, strict=True) if not one]
    # Not in any cell, a column of one value's included: its readers tell it by the separator's absence.
    sep = (
        (separator or _candidate_free(frame, frame.columns) or _any_free(frame, frame.columns))
        if varied
        else None
    )
    texts = _joined(frame, varied, sep) if sep else {}
    return sep, [texts[c] if c in texts else frame.item(0, c) for c in frame.columns]


def unpacked(column: str, lines: str, separator: str) -> str:
    """A PostgreSQL expression: the `text[]` of a record's column written by `packed_texts`, one
    element per element of the array `lines` (a column of one value repeated; NULL stays NULL)."""
    return (
        f"CASE WHEN {column} IS NULL THEN NULL::text[] "
        f"WHEN strpos({column}, {separator}) > 0 THEN string_to_array({column}, {separator}) "
        f"ELSE array_fill({column}, ARRAY[cardinality({lines})]) END"
    )


def _same(frame: pl.DataFrame) -> tuple[bool, ...]:
    """For each column, whether every cell is the first one."""
    return frame.select((pl.all() == pl.all().first()).all()).row(0)


def _joined(frame: pl.DataFrame, columns: list[str], separator: str) -> dict[str, str]:
    return dict(zip(columns, frame.select(pl.col(columns).str.join(separator)).row(0), strict=True))


def _candidate_free(frame: pl.DataFrame, columns: list[str]) -> str | None:
    """The first of `_SEPARATORS` that no cell of `columns` holds."""
    return next(
        (
            candidate
            for candidate in _SEPARATORS
            if not any(frame.select(pl.col(columns).str.contains(candidate, literal=True).any()).row(0))
        ),
        None,
    )


def _any_free(frame: pl.DataFrame, columns: list[str]) -> str:
    """A character from U+E000 up (private use first) that no cell of `columns` holds, when every one
    of `_SEPARATORS` is taken."""
    taken = set().union(*(set(text) for text in frame.select(pl.col(columns).str.join("")).row(0)))
    free = next((chr(c) for c in range(0xE000, 0x110000) if chr(c) not in taken), None)
    if free is None:
        raise NoSeparator("every candidate separator is in a cell")
    return free


# Python's whitespace but the line breaks, as a class of polars' (Rust) regex syntax.
_SPACE = char_class("".join(c for c in WHITESPACE if c not in "\r\n"))
# In a CSV without a quote a cell starts at the text's start or after a comma or a line break and ends
# before a comma, a line break or the text's end: a cell with whitespace at an edge, a cell that starts
# as a formula once trimmed.
_EDGE_SPACE = rf"(?:\A|[,\r\n]){_SPACE}|{_SPACE}(?:\z|[,\r\n])"
_EDGE_FORMULA = rf"(?:\A|[,\r\n]){_SPACE}*[=+\-@]"


# An ASCII byte by its class at a cell's edge: "," a cell's end (comma, line break), " " whitespace,
# "=" a formula's first character, "x" anything else (a non-ASCII file is scanned by the regex).
_EDGE_CLASSES = bytes(
    ord(",")
    if c in b",\r\n"
    else ord(" ")
    if chr(c).isspace() and c < 128
    else ord("=")
    if c in b"=+-@"
    else ord("x")
    for c in range(256)
)


def cell_edges(content: bytes) -> tuple[bool, bool]:
    """Whether a UTF-8 CSV file may have a cell to trim, and a cell that starts as a formula once
    trimmed, for a file without a quote; (True, True) for one with a quote (its cells' edges are not
    where its commas are). An ASCII file without whitespace at a cell's edge is classed byte by byte
    (one translation, then byte searches: no regex to build and run); any other, one regex scan of the
    text (polars, not per cell)."""
    if b'"' in content:
        return True, True
    if content.isascii():
        classes = content.translate(_EDGE_CLASSES)
        # A class found nowhere (one byte search) needs no search of the pairs it would be part of.
        if b" " not in classes or not (
            classes.startswith(b" ") or classes.endswith(b" ") or b", " in classes or b" ," in classes
        ):
            return False, b"=" in classes and (classes.startswith(b"=") or b",=" in classes)
    return _scanned_edges(content)


def _scanned_edges(content: bytes) -> tuple[bool, bool]:
    """`cell_edges` by one regex scan of the text."""
    text = pl.Series([csv_text(content)])
    if text.str.contains('"', literal=True).item():
        return True, True
    if not text.str.contains(f"{_EDGE_SPACE}|{_EDGE_FORMULA}").item():
        return False, False
    return bool(text.str.contains(_EDGE_SPACE).item()), bool(text.str.contains(_EDGE_FORMULA).item())


def picked(
    frame: pl.DataFrame, columns: Sequence[str], *, trim: bool = True
) -> tuple[list[str], pl.DataFrame]:
    """The header's names (row 0) and the data rows in file order with the named `columns` (the first
    column of each name, "" where the header lacks it), each cell trimmed (without `trim`, for a file
    `cell_edges` finds nothing to trim in, as read), plus `filled`: whether any cell of the row,
    whichever its column, is other than whitespace."""
    schema = {**dict.fromkeys(columns, pl.String()), "filled": pl.Boolean()}
    if frame.height == 0:
        return [], pl.DataFrame(schema=schema)
    header = header_names(frame.row(0))
    data = frame.slice(1)
    positions = {name: header.index(name) for name in columns if name in header}
    used = set(positions.values())
    # Other columns are trimmed only to tell a blank row (a row with only them filled is not blank).
    cut = trimmed if trim else (lambda cell: cell)
    trimmed_cells = data.select(
        *(
            cut(pl.col(f"c{positions[c]}")).alias(c)
            if c in positions
            else pl.repeat("", data.height, dtype=pl.String).alias(c)
            for c in columns
        ),
        *(cut(pl.col(name)).alias(f"other_{n}") for n, name in enumerate(data.columns) if n not in used),
    )
    filled = pl.any_horizontal([pl.col(c) != "" for c in trimmed_cells.columns] + [pl.lit(False)])
    return header, trimmed_cells.select(*columns, filled.alias("filled"))
