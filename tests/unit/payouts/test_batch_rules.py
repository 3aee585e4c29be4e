"""A batch file's reader and rules without a database: polars reads a plain CSV exactly as Python's csv
module does (any other file is read by the csv module), cells are trimmed exactly like str.strip(), a
formula is found at its first row and column, and every row's rail and fee are the router's own answer
for its amount and destination."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domains.payouts import batches, upload
from portal.domains.payouts.router import DEFAULT_RAILS, DESTINATIONS, Calendar, NoRail, route
from portal.lib import frames
from portal.lib.errors import ValidationFailed

HEADER = ",".join(upload.COLUMNS)
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # a Monday, 10:00 in Jakarta
BANDS = batches.rail_bands(list(DEFAULT_RAILS), NOW, Calendar())


def blank(row: list[str]) -> bool:
    return not any(c.strip() for c in row)


def csv_module_rows(text: str, delimiter: str) -> list[list[str]]:
    """What Python's csv module reads below the header, each row as seven cells."""
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=delimiter))[1:]
    return [(row + [""] * 7)[:7] for row in rows]


def frame_of(rows: list[list[str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {c: [r[i] for r in rows] for i, c in enumerate(upload.COLUMNS)},
        schema=dict.fromkeys(upload.COLUMNS, pl.String),
    ).with_row_index("line", offset=2)


def checked(rows: list[list[str]], used: list[str] | None = None) -> list[dict[str, Any]]:
    cells = batches._cells(frame_of(rows))
    out = batches._rules(cells, used or [], ["014", "002"], BANDS).rows(named=True)
    return [{**row, "errors": json.loads(row["errors"])} for row in out]


CELL = st.sampled_from(["", " ", "a", "B-1", " x ", "\t", "1.000", "é", "\u00a0", "=1", "a b", "\x1c"])


@given(
    st.lists(st.lists(CELL, max_size=9), max_size=8),
    st.sampled_from([",", ";"]),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
def test_a_plain_csv_is_read_like_the_csv_module(
    rows: list[list[str]], delimiter: str, newline: str, bom: bool
) -> None:
    lines = [delimiter.join(row) for row in rows]
    text = (
        ("\ufeff" if bom else "") + HEADER.replace(",", delimiter) + newline + newline.join(lines) + newline
    )
    try:
        frame = upload.read_table("f.csv", text.encode())
    except ValidationFailed as refused:
        # The one refusal such a file can get: a row with a filled cell beyond the seventh.
        first = next(i for i, row in enumerate(rows) if any(c.strip() for c in row[7:]))
        assert (refused.code, refused.errors[0].pointer) == ("wrong_columns", f"/file/row/{first + 2}")
        return
    expected = csv_module_rows(text, delimiter)
    got = [list(row) for row in frame.drop("line").rows()]
    # A blank row keeps its number; its cells are left out with it, whichever reader kept them.
    assert [None if blank(r) else r for r in got] == [None if blank(r) else r for r in expected]
    assert frame["line"].to_list() == list(range(2, len(expected) + 2))


def test_a_quoted_csv_or_a_short_first_row_is_read_by_the_csv_module() -> None:
    quoted = HEADER + '\r\n"Q-1","1,500",014,8800112233,"Budi ""B"" Santoso","a, b\nc",\r\nQ-2,1\r\n'
    frame = upload.read_table("q.csv", quoted.encode())
    assert [list(r) for r in frame.drop("line").rows()] == [
        ["Q-1", "1,500", "014", "8800112233", 'Budi "B" Santoso', "a, b\nc", ""],
        ["Q-2", "1", "", "", "", "", ""],
    ]
    short = HEADER + "\nS-1,1000\n\nS-2,2000,014,8800112233,Budi,,\n"
    frame = upload.read_table("s.csv", short.encode())
    assert frame["line"].to_list() == [2, 3, 4]
    assert frame["reference"].to_list() == ["S-1", "", "S-2"]


@pytest.mark.parametrize("space", list(frames.WHITESPACE))
def test_cells_are_trimmed_exactly_like_str_strip(space: str) -> None:
    # polars' strip_chars() alone keeps U+001C–U+001F, which str.strip() removes.
    typed = [f"{space}R-1{space}", f"{space}1000{space}", "014", "8800112233", "Budi", "", f"{space}a@b.co"]
    (row,) = checked([typed])
    assert (row["reference"], row["amount"], row["email"], row["errors"]) == ("R-1", "1000", "a@b.co", [])


NAME = st.text(st.sampled_from(["a", " ", "\t", "\u3000", "\u00a0", "\x1c"]), max_size=6)
ACCOUNT = st.sampled_from(["8800112233", "+62 812-3456-7890", "62812 3456 7890", "0812345", "12"])


@given(
    st.lists(st.tuples(NAME, st.sampled_from(["014", "ovo", "DANA", "999"]), ACCOUNT), min_size=1, max_size=6)
)
def test_names_and_phone_numbers_are_kept_alike_whether_or_not_the_file_needs_it(
    rows: list[tuple[str, str, str]],
) -> None:
    """A holder's name is rewritten, and account numbers read as phone numbers, only in a file where some
    row needs it: each row is kept as it is when it stands in a file of its own."""
    typed = [["R", "1000", code, account, name, "", ""] for name, code, account in rows]
    together = batches._cells(frame_of(typed)).drop("line", "phone", strict=False)
    alone = [batches._cells(frame_of([row])).drop("line", "phone", strict=False) for row in typed]
    non_blank = [frame for frame in alone if frame.height]
    assert together.to_dicts() == [row for frame in non_blank for row in frame.to_dicts()]
    for kept in together.to_dicts():
        assert kept["holder_name"] == " ".join(kept["holder_name"].split(" ")).strip(" ")
        assert "  " not in kept["holder_name"] and "\t" not in kept["holder_name"]


def test_only_a_comma_separated_file_is_scanned_for_cells_to_trim_or_test() -> None:
    head = ",".join(upload.COLUMNS) + "\n"
    assert upload.cell_edges("a.csv", (head + "R-1,1000,014,8800112233,Budi,,\n").encode()) == (False, False)
    assert upload.cell_edges("a.csv", (head + "R-1 ,1000,014,8800112233,Budi,,\n").encode()) == (True, False)
    assert upload.cell_edges("a.csv", (head + "R-1,-1000,014,8800112233,Budi,,\n").encode()) == (False, True)
    semicolons = (head + "R-1,1000,014,8800112233,Budi,,\n").replace(",", ";")
    assert upload.cell_edges("a.csv", semicolons.encode()) == (True, True)
    assert upload.cell_edges("a.xlsx", b"PK\x03\x04") == (True, True)


def test_a_formula_is_found_at_its_first_row_then_column() -> None:
    rows = [["F-1", "1", "014", "1", "Budi", "", ""], ["x", "\u00a0 @x", "014", "1", "-1", "", ""]]
    refused = upload.formula_refusal(frame_of(rows).drop("line"))
    assert refused is not None and refused.errors[0].pointer == "/file/row/3/amount"
    assert upload.formula_refusal(frame_of([["a", "1-1", "b@c", "", "", "", ""]]).drop("line")) is None


def test_the_rules_of_a_row() -> None:
    rows = checked(
        [
            ["R-1", "1.000.000", "014", "8800-112 233", "  Budi \t Santoso ", "", "budi@example.co.id"],
            ["R-1", "0005000", "ovo", "+62 812-3456-7890", "Agus", "", ""],
            ["", "", "", "", "", "", ""],
            [" ", "", "\x1c", "", "\u3000", "", ""],
            ["USED", "00", "999", "12", "", "x" * 141, "a\u3000b@x.com"],
            ["R-9", "1" * 40, "DANA", "0712345678", "Budi\u00a0 Santoso", "", "a@x-.y"],
        ],
        used=["USED"],
    )
    assert [r["line"] for r in rows] == [2, 3, 6, 7]  # blank rows are left out, the numbers stay
    assert (rows[0]["holder_name"], rows[0]["rail"], rows[0]["fee"]) == ("Budi Santoso", "bifast", 2_500)
    assert rows[0]["errors"] == [
        {"column": "reference", "message": "appears more than once in the file", "params": {}}
    ]
    assert (rows[1]["code"], rows[1]["account_number"], rows[1]["rail"]) == ("OVO", "081234567890", None)
    assert [(e["column"], e["message"]) for e in rows[1]["errors"]] == [
        ("reference", "appears more than once in the file"),
        ("amount", "below the rail's minimum"),
    ]
    assert [(e["column"], e["message"]) for e in rows[2]["errors"]] == [
        ("reference", "already used by an earlier payout or transfer"),
        ("amount", "must be a positive whole number"),
        ("code", "unknown bank or e-wallet code"),
        ("holder_name", "required, at most 100 characters"),
        ("description", "at most 140 characters"),
        ("email", "not an e-mail address"),
    ]
    # A no-break space is not a word separator: the name keeps it (as before the rules moved to polars).
    assert rows[3]["holder_name"] == "Budi\u00a0 Santoso"
    assert [(e["column"], e["message"]) for e in rows[3]["errors"]] == [
        ("account_number", "not an Indonesian mobile number"),
        ("email", "not an e-mail address"),
        ("amount", "above every rail's limit"),
    ]


# Around every band's edge (a rail's minimum, just past a rail's maximum), where a band could slip by one.
EDGES = sorted({max(point + step, 0) for point in BANDS.points for step in (-1, 0, 1)})


@given(
    st.sampled_from(EDGES)
    | st.integers(min_value=0, max_value=2 * 10**12)
    | st.integers(min_value=0, max_value=10**40),
    st.sampled_from(DESTINATIONS),
    st.sampled_from(["{}", "000{}", "{:,}"]),
)
def test_every_rows_rail_and_fee_are_the_routers_answer(amount: int, destination: str, typed: str) -> None:
    code, number = ("014", "8800112233") if destination == "bank" else (destination, "081234567890")
    (row,) = checked([["R-1", typed.format(amount).replace(",", "."), code, number, "Budi", "", ""]])
    if amount < 1:
        assert (row["rail"], row["fee"]) == (None, None)
        assert row["errors"] == [
            {"column": "amount", "message": "must be a positive whole number", "params": {}}
        ]
        return
    try:
        quote = route(DEFAULT_RAILS, amount, destination, NOW, Calendar())
    except NoRail as refused:
        message = batches._NO_RAIL.get(refused.reason, batches._MESSAGES["no_rail"])
        assert (row["rail"], row["fee"]) == (None, None)
        assert row["errors"] == [{"column": "amount", "message": message, "params": {}}]
    else:
        assert (row["rail"], row["fee"], row["errors"]) == (quote.rail.code, quote.fee, [])
