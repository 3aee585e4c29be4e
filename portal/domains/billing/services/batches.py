"""Batch uploads: Registration (billings with their schedules for existing customers) and Batch
Transaction (single payments, one Execute Date per row). A file is read with limits (size, rows, an
XLSX's unpacked size), every row validated and kept with its reasons; a file with invalid rows is
uploaded again, a valid one processed once."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import csv
import io
import json
import zipfile
from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from typing import Any, TypeVar

import asyncpg
import polars as pl

from portal.domains.accounts import services as accounts
from portal.domains.audit.services import record_many
from portal.domains.billing import schedule as schedules
from portal.domains.billing.schemas import BatchOut, BatchPage, BatchRowOut
from portal.domains.billing.services import common
from portal.domains.webhooks.services import emit_many
from portal.lib import clock, frames, sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict, FieldError, Forbidden, ValidationFailed
from portal.lib.i18n import N_, gettext
from portal.lib.ids import new_id, new_ids
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.sql import transaction

_T = TypeVar("_T")

KINDS = ("registration", "transaction")
COLUMNS = {
    "registration": (
        "customer_id",
        "billing_number",
        "amount",
        "type",
        "schedule_type",
        "day",
        "weekdays",
        "months",
        "dates",
        "description",
    ),
    "transaction": ("billing_number", "invoice_number", "amount", "execute_date", "description"),
}
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 100_000
# An XLSX is a zip: refuse one that unpacks far beyond its size (a zip bomb) before reading it.
MAX_UNPACKED = 60 * 1024 * 1024


def _require_whole_business(actor: Actor) -> None:
    """A file may name any customer or billing of the business: only a business-wide actor uploads."""
    actor.require("billing", "manage")
    if actor.scope_account_id is not None:
        raise Forbidden(N_("Only a user with access to the whole business can upload billing files."))


def _refused(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, errors=[FieldError("/file", message, code)])


def read_rows(content: bytes, file_name: str) -> list[list[str]]:
    """The cells of a CSV or XLSX file as text, first row included, read in Python (formulas come back
    as their text, never computed)."""
    if len(content) > MAX_BYTES:
        raise _refused(N_("The file is larger than 5 MB."), "file_too_large")
    name = file_name.lower()
    if name.endswith(".xlsx"):
        try:
            archive = zipfile.ZipFile(io.BytesIO(content))
            unpacked = sum(info.file_size for info in archive.infolist())
        except zipfile.BadZipFile:
            raise _refused(N_("This is not an XLSX file."), "invalid_file") from None
        if unpacked > MAX_UNPACKED:
            raise _refused(N_("The XLSX file unpacks to too much data."), "file_too_large")
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
        except Exception:  # openpyxl raises many kinds on a damaged file
            raise _refused(N_("This is not an XLSX file."), "invalid_file") from None
        rows = []
        for values in book.worksheets[0].iter_rows(values_only=True):
            rows.append(
                ["" if v is None else (v.isoformat()[:10] if isinstance(v, date) else str(v)) for v in values]
            )
            if len(rows) > MAX_ROWS + 1:
                break
        book.close()
    elif name.endswith(".csv"):
        try:
            rows = frames.csv_rows(frames.csv_text(content))
        except frames.NotUtf8:
            raise _refused(N_("The CSV file must be UTF-8 text."), "invalid_file") from None
        except csv.Error:  # a carriage return alone inside an unquoted cell
            raise _refused(
                N_("The CSV file cannot be read: start from the template."), "invalid_file"
            ) from None
    else:
        raise _refused(N_("Upload a CSV or XLSX file."), "invalid_file")
    if len(rows) > MAX_ROWS + 1:
        raise _refused(N_("A file holds at most 100,000 rows."), "too_many_rows")
    return rows


def _read_frame(content: bytes, name: str) -> pl.DataFrame:
    """A file's rows as a frame of text (header first): a CSV read by polars, an XLSX, or a CSV polars
    could read otherwise than Python's csv module, read in Python (`read_rows`)."""
    if len(content) > MAX_BYTES:
        raise _refused(N_("The file is larger than 5 MB."), "file_too_large")
    if name.lower().endswith(".csv"):
        try:
            frame = frames.csv_frame(content, max_rows=MAX_ROWS)
        except frames.NotUtf8:
            raise _refused(N_("The CSV file must be UTF-8 text."), "invalid_file") from None
        if frame is not None:
            return frame
    return frames.rows_frame(read_rows(content, name))


# Digits as "0", everything but a space or a dash as "x" (those two dropped): 13 zeros in a row is the
# least a card number leaves (a superset: the cells are then scanned exactly).
_DIGITS_ONLY = bytes(ord("0") if chr(c).isdigit() and c < 128 else ord("x") for c in range(256))
# The least a card number leaves in a cell (13 digits, a space or a dash between two): a superset of
# common.looks_like_card_number, which then judges the few cells that have it.
_CARD_RUN = r"[0-9](?:[ -]?[0-9]){12}"


def _may_hold_card(content: bytes) -> bool:
    """Whether a run of 13 or more digits (spaces or dashes between them) is anywhere in the bytes."""
    return content.translate(_DIGITS_ONLY, b" -").find(b"0" * 13) >= 0


def _scan(content: bytes) -> tuple[bool, bool, bool]:
    """What a CSV's bytes leave possible: a cell to trim, a cell that starts as a formula, a card
    number. A CSV without a run of 13 or more digits anywhere cannot hold a card number (no cell is
    scanned); one without a quote where no whitespace or formula prefix touches a cell's edge has no
    cell to trim nor to test for a formula (`frames.cell_edges`)."""
    try:
        trim, formulas = frames.cell_edges(content)
    except frames.NotUtf8:  # reading the file refuses it
        return True, True, True
    return trim, formulas, _may_hold_card(content)


def _cells(
    kind: str, frame: pl.DataFrame, *, may_hold_cards: bool, trim: bool = True
) -> tuple[pl.DataFrame, list[str]]:
    """The data rows to check: blank rows left out, each row its line (the header is line 1; a blank
    row takes no number), its columns' trimmed text, a cell holding a card number blanked here, in
    memory, so it never reaches the database. Returns the rows and the columns where a card was
    blanked (`card_<column>` flags those rows)."""
    columns = COLUMNS[kind]
    if frame.height == 0:
        raise _refused(N_("The file is empty."), "empty_file")
    header, data = frames.picked(frame, columns, trim=trim)
    missing = [c for c in columns[:3] if c not in header]
    if missing:
        raise ValidationFailed(
            N_("The file lacks the columns %(columns)s: start from the template."),
            params={"columns": ", ".join(missing)},
            code="missing_columns",
            errors=[FieldError("/file", N_("columns missing"), "missing_columns")],
        )
    if not data.get_column("filled").all():  # a blank row is left out (most files have none)
        data = data.filter(pl.col("filled"))
    data = data.drop("filled")
    data = data.with_columns(pl.int_range(2, data.height + 2, dtype=pl.Int32).alias("line"))
    carded: list[str] = []
    if may_hold_cards and data.height:
        candidates: set[str] = set()
        for c in columns:
            cell = data.get_column(c)
            candidates.update(
                cell.filter((cell.str.len_chars() >= 13) & cell.str.contains(_CARD_RUN)).unique().to_list()
            )
        cards = [value for value in candidates if common.looks_like_card_number(value)]
        if cards:
            found = data.select(*(pl.col(c).is_in(cards).alias(f"card_{c}") for c in columns))
            carded = [c for c in columns if found[f"card_{c}"].any()]
            data = data.with_columns(
                *(found[f"card_{c}"] for c in carded),
                *(pl.when(found[f"card_{c}"]).then(pl.lit("")).otherwise(pl.col(c)).alias(c) for c in carded),
            )
    return data, carded


_SCHEDULE_CELLS = ("schedule_type", "day", "weekdays", "months", "dates")
# Joins the cells of a schedule into one key (a unit separator: never typed in a cell).
_SEP = "\x1f"


def _distinct_checks(kind: str, values: list[tuple[str, ...]]) -> tuple[list[str], list[str]]:
    """The rules that are Python (a schedule, an ISO date), run once per distinct value: the keys and
    their error message ("" when fine)."""
    today = common.today()
    found: dict[str, str] = {}
    if kind == "registration":
        for cells in values:
            if not cells[0]:
                continue
            message = ""
            try:
                schedules.parse(
                    cells[0].lower().replace(" ", "_"),
                    {"day": cells[1], "weekdays": cells[2], "months": cells[3], "dates": cells[4]},
                    today=today,
                )
            except ValidationFailed as exc:
                message = exc.detail
            key = _SEP.join(cells)
            # Two tuples joining to one key (a separator typed in a cell): the refusal wins.
            found[key] = found.get(key) or message
    else:
        for (value,) in values:
            try:
                past = date.fromisoformat(value) < today
                message = gettext("The execute date is in the past.") if past else ""
            except ValueError:
                message = gettext("Dates are written YYYY-MM-DD.")
            found[value] = message
    return list(found), list(found.values())


# A lookup ready to run: its statement and parameters ($1 the business), or None (no key to look up).
_Lookup = tuple[str, list[Any]] | None


def _lookup(query: str, keys: pl.Series, separator: str | None) -> _Lookup:
    """One set-based lookup of a file's distinct keys: `query` takes $1 the business and `{keys}` the
    keys as a text array, tested as `CASE WHEN column = ANY({keys}) THEN true END`: the array is
    folded into a constant, so PostgreSQL hashes it and tests each row of the business once (so the
    statement is planned with its keys at every execution: `sql.fetch_custom_plan`); the CASE keeps
    the planner from estimating the condition element by element (40 ms at 100,000 keys)."""
    wanted = keys.unique()
    if wanted.is_empty():
        return None
    (array,), params = frames.text_arrays(wanted.to_frame(), first=2, separator=separator)
    return query.format(keys=array), params


async def _existing(conn: asyncpg.Connection, business_id: str, lookup: _Lookup) -> list[Any]:
    """The rows a lookup finds (none without keys)."""
    if lookup is None:
        return []
    query, params = lookup
    # Planned with its keys every time (see `_lookup`): a generic plan would test every key linearly.
    return await sql.fetch_custom_plan(conn, query, business_id, *params)


def _reason(field: str, message: str) -> str:
    """A reason as JSON text, built once per rule (every row that breaks the rule shares it)."""
    return json.dumps({"field": field, "message": message})


# A rule: its name, whether a row breaks it (None for a reference rule until its lookup is answered)
# and its reason as JSON text.
_Rule = tuple[str, pl.Expr | None, pl.Expr]


def _rules(
    kind: str,
    carded: list[str],
    refused: dict[str, str],
    found: dict[str, list[Any]] | None,
    *,
    formulas: bool = True,
    wrong_types: list[str] | None = None,
) -> list[_Rule]:
    """The rules in the order a reader meets their reasons: each cell's card number or formula, the
    amount, the references (looked up: `found`, None before the answers), the type, the schedule or
    the Execute Date (`refused`: the distinct values the Python rules refuse, with their reasons), a
    repeat in the file. Without `formulas` (a file no cell of which starts as one) no cell is tested
    for a formula. `wrong_types`: a Registration file's distinct types that are neither Recurring nor
    Reminder (`_wrong_types`; the rule is left out when there is none)."""
    rules: list[_Rule] = []
    typed_card = gettext("A card number cannot be typed here.")
    typed_formula = gettext("A formula is not allowed in a cell.")
    for c in COLUMNS[kind]:
        if c in carded:
            rules.append((f"card_{c}", pl.col(f"card_{c}"), pl.lit(_reason(c, typed_card))))
        if formulas:
            rules.append((f"formula_{c}", frames.formula(pl.col(c)), pl.lit(_reason(c, typed_formula))))
    rules.append(
        (
            "amount",
            # Whole rupiah from 1 to 1,000,000,000,000.
            ~pl.col("digits").str.contains(r"^0*(?:[1-9][0-9]{0,11}|1000000000000)$"),
            pl.lit(_reason("amount", gettext("The amount must be a whole number of rupiah above zero."))),
        )
    )

    def lookup(broken: Callable[[dict[str, list[Any]]], pl.Expr]) -> pl.Expr | None:
        return None if found is None else broken(found)

    number = pl.col("billing_number")
    if kind == "registration":
        rules.append(
            (
                "customer",
                lookup(lambda f: ~pl.col("customer_id").is_in(f["customers"])),
                pl.lit(_reason("customer_id", gettext("No customer has this Customer ID."))),
            )
        )
        rules.append(
            (
                "billing_taken",
                lookup(lambda f: (number == "") | (number.str.len_chars() > 40) | number.is_in(f["taken"])),
                pl.lit(_reason("billing_number", gettext("This Billing Number is already used or invalid."))),
            )
        )
        typed = pl.col("type")
        if wrong_types:  # left out when every type is fine
            rules.append(
                (
                    "type",
                    typed.is_in(wrong_types),
                    pl.lit(_reason("type", gettext("The type is Recurring or Reminder."))),
                )
            )
        if refused:  # a rule no row can break is left out (a file whose schedules are all fine)
            schedule = pl.concat_str([pl.col(c) for c in _SCHEDULE_CELLS], separator=_SEP).replace_strict(
                list(refused), list(refused.values()), default=None, return_dtype=pl.String
            )
            rules.append(("schedule", (pl.col("schedule_type") != "") & schedule.is_not_null(), schedule))
    else:
        rules.append(
            (
                "billing_unknown",
                lookup(lambda f: ~number.is_in(f["live"])),
                pl.lit(_reason("billing_number", gettext("No billing has this Billing Number."))),
            )
        )
        rules.append(
            (
                "billing_without_card",
                lookup(lambda f: number.is_in(f["live"]) & ~number.is_in(f["with_card"])),
                pl.lit(_reason("billing_number", gettext("This billing has no registered card."))),
            )
        )
        invoice = pl.col("invoice_number")
        rules.append(
            (
                "invoice_taken",
                lookup(
                    lambda f: (invoice == "") | (invoice.str.len_chars() > 60) | invoice.is_in(f["charged"])
                ),
                pl.lit(_reason("invoice_number", gettext("This Invoice Number is already used or invalid."))),
            )
        )
        if refused:
            execute = pl.col("execute_date").replace_strict(
                list(refused), list(refused.values()), default=None, return_dtype=pl.String
            )
            rules.append(("execute_date", execute.is_not_null(), execute))
    # A repeat names the first line of its key (joined in for the invalid rows only).
    key = _REPEAT_KEY[kind]
    before, after = _reason(key, gettext("Also on line %(line)s of this file.")).split("%(line)s", 1)
    rules.append(
        (
            "repeat",
            (pl.col(key) != "") & ~pl.col(key).is_first_distinct(),
            pl.concat_str([pl.lit(before), pl.col("first_line").cast(pl.String), pl.lit(after)]),
        )
    )
    return rules


# A Registration row's types (in any case; a blank type is Recurring).
_TYPES = ("recurring", "reminder")


def _wrong_types(kind: str, data: pl.DataFrame) -> list[str] | None:
    """The file's distinct types that are neither Recurring nor Reminder in any case, judged once per
    distinct value (none for a Batch Transaction file)."""
    if kind != "registration":
        return None
    return [t for t in data.get_column("type").unique().to_list() if t and t.lower() not in _TYPES]


# The column a file may not repeat (the second names the first line).
_REPEAT_KEY = {"registration": "billing_number", "transaction": "invoice_number"}


# A file's record as `_record` builds it: (its separator, None when no column is joined; one text per
# column of its kind, None for each when it has no row).
_Record = tuple[str | None, Sequence[str | None]]


def _record(kind: str, data: pl.DataFrame, *, formulas: bool, separator: str | None) -> _Record:
    """The file's record (`frames.packed_texts`): each column's cells as kept, a formula quoted (a column
    without one is kept as it is), as one text — a column of one value that value, any other its cells
    joined by the record's separator (readers split them: `frames.unpacked`); a file without rows keeps
    NULL columns, as it always has."""
    columns = COLUMNS[kind]
    if not data.height:
        return None, [None] * len(columns)
    quoted = (
        [
            c
            for c, any_formula in zip(
                columns, data.select(frames.formula(pl.col(c)).any() for c in columns).row(0), strict=True
            )
            if any_formula
        ]
        if formulas
        else []
    )
    kept = data.select(
        pl.when(frames.formula(pl.col(c))).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        if c in quoted
        else c
        for c in columns
    )
    try:
        return frames.packed_texts(kept, separator=separator)
    except frames.NoSeparator:
        raise _refused(frames.NoSeparator.MESSAGE, "unreadable_file") from None


class _Local:
    """What the checks find without the database, computed while it answers the lookups: the flags of
    every rule but the references', the Python rules' refusals and the Total Amount."""

    def __init__(self, kind: str, data: pl.DataFrame, carded: list[str], *, formulas: bool) -> None:
        # The amount's digits: the cell without its dots and commas (most cells have none to drop).
        digits = (
            pl.col("amount").str.replace_all(".", "", literal=True).str.replace_all(",", "", literal=True)
            if data.get_column("amount").str.contains(r"[.,]").any()
            else pl.col("amount")
        )
        cells = _SCHEDULE_CELLS if kind == "registration" else ("execute_date",)
        # In the order the file first has them: where two join to one key, the first refusal is kept.
        keys, messages = _distinct_checks(kind, data.select(cells).unique(maintain_order=True).rows())
        self.refused = {k: _reason(cells[0], m) for k, m in zip(keys, messages, strict=True) if m}
        self.formulas = formulas
        self.wrong_types = _wrong_types(kind, data)
        self.data = data.with_columns(digits.alias("digits"))
        self.flags = self.data.select(
            broken.alias(f"rule_{name}")
            for name, broken, _ in _rules(
                kind, carded, self.refused, None, formulas=formulas, wrong_types=self.wrong_types
            )
            if broken is not None
        )
        # The amount counted in the file's Total Amount: its digits, when they are 1 to 18.
        self.money = (
            self.data.select(
                pl.when(pl.col("digits").str.contains(r"^[0-9]{1,18}$"))
                .then(pl.col("digits").cast(pl.Int64, strict=False))
                .otherwise(0)
                .cast(pl.Int128)
                .sum()
            ).item()
            if data.height
            else 0
        )


def _lookups(kind: str, data: pl.DataFrame, separator: str | None) -> dict[str, _Lookup]:
    """The lookups of the file's references, one set-based statement each (`separator`: one no key
    holds, or None), built off the event loop (the keys made distinct and joined)."""
    if kind == "registration":
        numbers = data.get_column("billing_number")
        return {
            "customers": _lookup(
                "SELECT customer_ref FROM billing_customer WHERE business_id = $1 "
                "AND CASE WHEN customer_ref = ANY({keys}) THEN true END",
                data.get_column("customer_id"),
                separator,
            ),
            "taken": _lookup(
                "SELECT billing_number FROM billing WHERE business_id = $1 "
                "AND CASE WHEN billing_number = ANY({keys}) THEN true END",
                numbers.filter(numbers.str.len_chars() <= 40),
                separator,
            ),
        }
    invoices = data.get_column("invoice_number")
    return {
        "billings": _lookup(
            "SELECT billing_number, status, card_status FROM billing WHERE business_id = $1 "
            "AND CASE WHEN billing_number = ANY({keys}) THEN true END",
            data.get_column("billing_number"),
            separator,
        ),
        "charged": _lookup(
            "SELECT invoice_number FROM billing_charge WHERE business_id = $1 "
            "AND CASE WHEN invoice_number = ANY({keys}) THEN true END",
            invoices.filter(invoices.str.len_chars() <= 60),
            separator,
        ),
    }


async def _answers(
    conn: asyncpg.Connection, business_id: str, kind: str, lookups: dict[str, _Lookup]
) -> dict[str, list[Any]]:
    """The references the lookups find (they read committed references only)."""
    if kind == "registration":
        customers = await _existing(conn, business_id, lookups["customers"])
        taken = await _existing(conn, business_id, lookups["taken"])
        return {"customers": [r[0] for r in customers], "taken": [r[0] for r in taken]}
    billings = await _existing(conn, business_id, lookups["billings"])
    charged = await _existing(conn, business_id, lookups["charged"])
    live = [r for r in billings if r["status"] != "deleted"]
    return {
        "live": [r["billing_number"] for r in live],
        "with_card": [r["billing_number"] for r in live if r["card_status"] == "registered"],
        "charged": [r[0] for r in charged],
    }


def _invalid(kind: str, carded: list[str], local: _Local, found: dict[str, list[Any]]) -> pl.DataFrame:
    """The invalid rows: each its line and its reasons as JSON text, in the rules' order."""
    rules = _rules(kind, carded, local.refused, found, formulas=local.formulas, wrong_types=local.wrong_types)
    answered = local.data.select(
        broken.alias(f"rule_{name}")
        for name, broken, _ in rules
        if broken is not None and f"rule_{name}" not in local.flags.columns
    )
    invalid = (
        local.data.hstack(local.flags)
        .hstack(answered)
        .filter(pl.any_horizontal(f"rule_{name}" for name, _, _ in rules))
    )
    if not invalid.height:
        return pl.DataFrame(schema={"line": pl.Int32(), "errors": pl.String()})
    key = _REPEAT_KEY[kind]
    firsts = (
        local.data.lazy()
        .filter(pl.col(key).is_first_distinct())
        .select(key, pl.col("line").alias("first_line"))
    )
    return (
        invalid.lazy()
        .join(firsts, on=key, how="left", maintain_order="left")
        .select(
            "line",
            pl.concat_str(
                [pl.when(pl.col(f"rule_{name}")).then(reason) for name, _, reason in rules],
                separator=", ",
                ignore_nulls=True,
            ).alias("errors"),
        )
        .collect()
    )


async def _insert_record(
    conn: asyncpg.Connection,
    business_id: str,
    batch_id: str,
    kind: str,
    rows: int,
    record: _Record,
) -> None:
    """The file's one record, in one statement: its lines (2, 3… in order: a blank row is left out, not
    numbered) and each column one text (`_record`), stored as it comes; its reasons are set once the
    references are answered (`_set_totals`)."""
    separator, texts = record
    columns = ", ".join(COLUMNS[kind])
    await conn.execute(
        f"INSERT INTO billing_batch_file (business_id, batch_id, lines, separator, {columns}, errors) "
        f"VALUES ($1, $2, ARRAY(SELECT generate_series(2, $3::integer + 1)), $4, "
        f"{', '.join(f'${n}::text' for n in range(5, 5 + len(texts)))}, '{{}}')",
        business_id,
        batch_id,
        rows,
        separator,
        *texts,
    )


async def _set_totals(
    conn: asyncpg.Connection, business_id: str, batch_id: str, rows: int, local: _Local, invalid: pl.DataFrame
) -> None:
    """The batch's totals, and the reasons of the invalid rows by line on the file's record (a clean
    file keeps `{}`: no second statement)."""
    await conn.execute(
        "UPDATE billing_batch SET total_data = $3, invalid_data = $4, total_amount = $5 "
        "WHERE business_id = $1 AND id = $2",
        business_id,
        batch_id,
        rows,
        invalid.height,
        local.money,
    )
    if invalid.height:
        by_line = invalid.select(
            pl.concat_str(
                [pl.lit('"'), pl.col("line").cast(pl.String), pl.lit('": ['), pl.col("errors"), pl.lit("]")]
            ).str.join(", ")
        ).item()
        await conn.execute(
            "UPDATE billing_batch_file SET errors = $3::jsonb WHERE business_id = $1 AND batch_id = $2",
            business_id,
            batch_id,
            "{" + by_line + "}",
        )


async def _answers_alone(
    business_id: str, kind: str, lookups: asyncio.Future[dict[str, _Lookup]]
) -> dict[str, list[Any]] | None:
    """The lookups on a spare connection of their own, taken before they are built; None when the pool
    has none free at once (they are then done on the upload's connection, after the record: waiting
    for a second connection while holding one could wait forever once every upload does)."""
    async with sql.spare_connection() as conn:
        return None if conn is None else await _answers(conn, business_id, kind, await lookups)


def _pass_on(target: asyncio.Future[_T], source: asyncio.Future[_T]) -> None:
    """A finished future's outcome given to another one (unless that one is done)."""
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif (error := source.exception()) is not None:
        target.set_exception(error)
    else:
        target.set_result(source.result())


async def _after(before: asyncio.Future[Any], work: Callable[[], _T]) -> _T:
    """`work` in a thread once `before` is done (one thread at a time: the database's statements start
    in turn as their parameters are ready, not all late)."""
    await asyncio.wait({before})
    return await asyncio.to_thread(work)


async def upload(actor: Actor, kind: str, file_name: str, content: bytes) -> str:
    """Read a file and check every row column by column (a polars frame; every rule a column
    expression, the references looked up set-based). Keeps the file with its rows and reasons as one
    record; returns the batch id. The work runs side by side: polars (in threads, off the event loop)
    prepares the record and runs the rules that need no database, the record is written while the
    references are looked up on a second connection."""
    _require_whole_business(actor)
    if kind not in KINDS:
        raise ValidationFailed(
            N_("The batch type is Registration or Batch Transaction."),
            code="invalid_batch_type",
            errors=[FieldError("/kind", N_("unknown batch type"), "invalid_batch_type")],
        )
    name = common.text(file_name or "upload.csv", "/file", max_length=200)
    csv_file = name.lower().endswith(".csv")
    loop = asyncio.get_running_loop()
    # The file is read (polars) and its bytes scanned in threads while the event loop begins the
    # transaction and takes the lookups' spare connection (opening one overlaps the reading); without a
    # spare one, or inside a caller's transaction, the lookups run on the upload's connection after the
    # record.
    reading = loop.run_in_executor(None, partial(contextvars.copy_context().run, _read_frame, content, name))
    scanning = loop.run_in_executor(None, _scan, content) if csv_file and len(content) <= MAX_BYTES else None
    keys: asyncio.Future[dict[str, _Lookup]] = loop.create_future()
    alone = (
        None if sql.in_transaction() else asyncio.ensure_future(_answers_alone(actor.business_id, kind, keys))
    )
    record = lookups = local = None
    batch_id = new_id("bat")
    try:
        async with transaction(), sql.connection() as conn:
            await conn.execute(
                "INSERT INTO billing_batch (business_id, id, kind, file_name, total_data, invalid_data, "
                "total_amount, created_by, created_at) VALUES ($1, $2, $3, $4, 0, 0, 0, $5, $6)",
                actor.business_id,
                batch_id,
                kind,
                name,
                actor.user_id or actor.api_key_id,
                clock.now(),
            )
            frame = await reading
            trim, formulas, may_hold_cards = await scanning if scanning is not None else (True, True, True)
            data, carded = _cells(kind, frame, may_hold_cards=may_hold_cards, trim=trim)
            del frame
            # A character the file's bytes lack joins its columns for PostgreSQL without testing any cell.
            separator = frames.free_separator(content) if csv_file else None
            rows = data.height
            record = asyncio.ensure_future(
                asyncio.to_thread(partial(_record, kind, data, formulas=formulas, separator=separator))
            )
            lookups = asyncio.ensure_future(_after(record, partial(_lookups, kind, data, separator)))
            lookups.add_done_callback(partial(_pass_on, keys))
            local = asyncio.ensure_future(
                _after(lookups, partial(_Local, kind, data, carded, formulas=formulas))
            )
            await _insert_record(conn, actor.business_id, batch_id, kind, rows, await record)
            found = await alone if alone is not None else None
            if found is None:
                found = await _answers(conn, actor.business_id, kind, await keys)
            checked = await local
            invalid = _invalid(kind, carded, checked, found)
            await _set_totals(conn, actor.business_id, batch_id, rows, checked, invalid)
            await common.audit(
                actor,
                "billing.batch_uploaded",
                f"Batch file {name} uploaded ({rows} rows, {invalid.height} invalid)",
                {"batch_id": batch_id},
            )
    finally:
        # A failure leaves no task behind (a thread's work ends on its own; it is awaited, not lost); the
        # lookups' connection, still waiting for their keys, is given back (or no longer waited for).
        if not keys.done():
            keys.cancel()
            if alone is not None:
                alone.cancel()
        await asyncio.gather(
            *(t for t in (reading, scanning, record, lookups, local, alone) if t is not None),
            return_exceptions=True,
        )
    return batch_id


async def batch_row(actor: Actor, batch_id: str) -> asyncpg.Record:
    actor.require("billing")
    row = await sql.fetchrow(
        "SELECT * FROM billing_batch WHERE business_id = $1 AND id = $2",
        actor.business_id,
        str(batch_id)[:40],
    )
    if row is None:
        raise common.not_found("Batch", batch_id)
    return row


async def find_batch(actor: Actor, batch_id: str) -> None:
    await batch_row(actor, batch_id)


def _data_order(columns: tuple[str, ...]) -> list[str]:
    """A row's cells in the order its data has always been shown (a JSON object's: shortest key first)."""
    return sorted(columns, key=lambda c: (len(c.encode()), c.encode()))


async def batch_rows(actor: Actor, batch_id: str) -> list[dict[str, Any]]:
    """A file's rows in line order: each its line, its cells as kept and its reasons ([] when valid)."""
    batch = await batch_row(actor, batch_id)
    columns = COLUMNS[batch["kind"]]
    rows = await sql.fetch(
        f"SELECT u.line, {', '.join('u.' + c for c in columns)}, f.errors -> u.line::text AS errors "
        f"FROM billing_batch_file f, "
        f"unnest(f.lines, {', '.join(frames.unpacked('f.' + c, 'f.lines', 'f.separator') for c in columns)}) "
        f"AS u(line, {', '.join(columns)}) WHERE f.business_id = $1 AND f.batch_id = $2 ORDER BY u.line",
        actor.business_id,
        batch["id"],
    )
    order = _data_order(columns)
    return [
        {"line": r["line"], "data": {c: r[c] for c in order}, "errors": _reasons(r["errors"])} for r in rows
    ]


def _reasons(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else value


async def process(actor: Actor, batch_id: str) -> int:
    """Process a valid batch once, in one transaction: create its billings (Registration) or its single
    payments, charged by the billing run on their Execute Date (Batch Transaction), and mark it
    processed. Every row is processed or none: a row that changed since the file was checked (its
    Billing or Invoice Number taken meanwhile, its customer or billing gone, a date now past) refuses
    the whole file (`409 batch_rows_changed`, naming each such line and why); the batch stays validated
    so the file can be uploaded again. Returns the rows processed."""
    actor.require("billing", "manage")
    batch = await batch_row(actor, batch_id)
    if batch["invalid_data"]:
        raise Conflict(
            N_("Upload the file again without its invalid rows first."), code="batch_has_invalid_rows"
        )
    rows = await batch_rows(actor, batch["id"])
    async with transaction(), sql.connection() as conn:
        # The claim and the rows commit or roll back together: a refused file stays validated.
        claimed = await conn.fetchval(
            "UPDATE billing_batch SET status = 'processed', processed_at = $3 "
            "WHERE business_id = $1 AND id = $2 AND status = 'validated' RETURNING id",
            actor.business_id,
            batch["id"],
            clock.now(),
        )
        if claimed is None:
            raise Conflict(N_("This batch was already processed."), code="batch_processed")
        if batch["kind"] == "registration":
            await _register(conn, actor, batch, rows)
        else:
            await _schedule_payments(conn, actor, batch, rows)
        await common.audit(
            actor,
            "billing.batch_processed",
            f"Batch {batch['file_name']} processed",
            {"batch_id": batch["id"]},
        )
    return len(rows)


def _changed(problems: list[FieldError]) -> Conflict:
    """The refusal of a file some of whose rows changed since it was checked: one error per line."""
    problems.sort(key=lambda e: int(e.pointer.split("/")[2]))
    return Conflict(
        N_(
            "Nothing was processed: %(count)s rows changed since the file was checked. Correct them and "
            "upload the file again."
        ),
        params={"count": len(problems)},
        code="batch_rows_changed",
        errors=problems,
    )


def _row_problem(line: int, cell: str, message: str, code: str, **params: Any) -> FieldError:
    """Why a line cannot be processed; the pointer names the line and its cell."""
    return FieldError(f"/lines/{line}/{cell}", message, code, {"line": line, **params})


async def _register(
    conn: asyncpg.Connection, actor: Actor, batch: asyncpg.Record, rows: list[dict[str, Any]]
) -> None:
    """Create every row's billing with its schedule and execute dates, set-based, remembering the file
    (inside the caller's transaction); refuse the file when a row changed since it was checked."""
    today = common.today()
    problems: list[FieldError] = []
    # Each distinct schedule parsed once: its index in `parsed`, or why it is no longer valid.
    plans: dict[tuple[str, ...], int | str] = {}
    parsed: list[schedules.Schedule | None] = []
    kept: list[tuple[int, dict[str, Any], int]] = []  # (line, data, schedule index)
    for row in rows:
        data = row["data"]
        key = tuple(data.get(c) or "" for c in _SCHEDULE_CELLS)
        if key not in plans:
            try:
                plan = (
                    schedules.parse(
                        key[0].lower().replace(" ", "_"),
                        dict(zip(_SCHEDULE_CELLS[1:], key[1:], strict=True)),
                        today=today,
                    )
                    if key[0]
                    else None
                )
            except ValidationFailed as exc:  # a date that passed since the file was checked
                plans[key] = exc.detail
            else:
                plans[key] = len(parsed)
                parsed.append(plan)
        index = plans[key]
        try:
            # Checked here too: the upload does not hold a description to the billing's limits.
            common.reference(data["billing_number"], "/billing_number", "Billing Number")
            common.text(data.get("description"), "/description", max_length=140, required=False)
        except ValidationFailed as exc:
            field = exc.errors[0].pointer.strip("/") if exc.errors else "description"
            problems.append(
                _row_problem(
                    row["line"],
                    field,
                    N_("Line %(line)s, %(field)s: %(reason)s"),
                    exc.code,
                    field=field,
                    reason=exc.detail,
                )
            )
            continue
        if isinstance(index, str):
            problems.append(
                _row_problem(
                    row["line"],
                    "schedule_type",
                    N_("Line %(line)s: the schedule is no longer valid (%(reason)s)."),
                    "schedule_changed",
                    reason=index,
                )
            )
        else:
            kept.append((row["line"], data, index))
    customers = dict(
        await conn.fetch(
            "SELECT customer_ref, id FROM billing_customer WHERE business_id = $1 "
            "AND customer_ref = ANY($2::text[])",
            actor.business_id,
            sorted({d["customer_id"] for _, d, _ in kept}),
        )
    )
    taken = {
        r["billing_number"]
        for r in await conn.fetch(
            "SELECT billing_number FROM billing WHERE business_id = $1 AND billing_number = ANY($2::text[])",
            actor.business_id,
            [d["billing_number"] for _, d, _ in kept],
        )
    }
    problems += [
        _number_taken(line, d["billing_number"]) for line, d, _ in kept if d["billing_number"] in taken
    ]
    problems += [
        _row_problem(
            line,
            "customer_id",
            N_("Line %(line)s: customer %(customer)s was not found."),
            "customer_not_found",
            customer=d["customer_id"],
        )
        for line, d, _ in kept
        if d["customer_id"] not in customers
    ]
    if problems:
        raise _changed(problems)
    account = actor.scope_account_id or (await accounts.main_account(actor)).id
    ids = new_ids("bil", len(kept))
    # A Billing Number taken since the lookup above (by a transaction not yet committed then) is not
    # inserted (ON CONFLICT): it names the row.
    inserted = await conn.fetch(
        "INSERT INTO billing (business_id, id, customer_id, billing_number, account_id, amount, currency, "
        "description, kind, schedule_type, schedule, created_by, created_at, updated_at, batch_id) "
        "SELECT $1, u.id, u.customer_id, u.number, $2, u.amount, 'IDR', u.description, u.kind, "
        "u.schedule_type, u.schedule::jsonb, $3, $4, $4, $5 "
        "FROM unnest($6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[], $11::text[], "
        "$12::text[], $13::text[]) "
        "AS u(id, customer_id, number, amount, description, kind, schedule_type, schedule) "
        "ON CONFLICT DO NOTHING RETURNING billing_number",
        actor.business_id,
        account,
        actor.user_id or actor.api_key_id,
        clock.now(),
        batch["id"],
        ids,
        [customers[d["customer_id"]] for _, d, _ in kept],
        [d["billing_number"] for _, d, _ in kept],
        [int(d["amount"].replace(".", "").replace(",", "")) for _, d, _ in kept],
        [" ".join((d.get("description") or "").split()) for _, d, _ in kept],
        [(d.get("type") or "recurring").strip().lower() for _, d, _ in kept],
        [_type_of(parsed[i]) for _, _, i in kept],
        [json.dumps(_json_of(parsed[i])) for _, _, i in kept],
    )
    if len(inserted) < len(kept):
        done = {r["billing_number"] for r in inserted}
        raise _changed(
            [
                _number_taken(line, d["billing_number"])
                for line, d, _ in kept
                if d["billing_number"] not in done
            ]
        )
    # Each schedule's dates computed once, joined to its billings in the statement.
    dates = [(i, day) for i, plan in enumerate(parsed) if plan for day in schedules.upcoming(plan, today)]
    if dates:
        await conn.execute(
            "INSERT INTO billing_execute_date (business_id, billing_id, execute_date) "
            "SELECT $1, b.id, d.day FROM unnest($2::text[], $3::int[]) AS b(id, k) "
            "JOIN unnest($4::int[], $5::date[]) AS d(k, day) ON d.k = b.k",
            actor.business_id,
            ids,
            [i for _, _, i in kept],
            [k for k, _ in dates],
            [day for _, day in dates],
        )
    await emit_many(
        conn,
        [
            (
                actor.business_id,
                "billing.created",
                {"id": billing_id, "billing_number": d["billing_number"], "customer_id": d["customer_id"]},
                (account,),
            )
            for billing_id, (_, d, _) in zip(ids, kept, strict=True)
        ],
    )
    await record_many(
        [
            (
                actor,
                "billing.created",
                f"Billing {d['billing_number']} added for customer {d['customer_id']}",
                {"billing_number": d["billing_number"], "customer_id": d["customer_id"]},
            )
            for _, d, _ in kept
        ]
    )


def _number_taken(line: int, number: str) -> FieldError:
    return _row_problem(
        line,
        "billing_number",
        N_("Line %(line)s: Billing Number %(number)s is already used."),
        "duplicate_billing_number",
        number=number,
    )


def _type_of(plan: schedules.Schedule | None) -> str | None:
    return plan.type if plan else None


def _json_of(plan: schedules.Schedule | None) -> dict[str, Any]:
    return plan.to_json() if plan else {}


async def _schedule_payments(
    conn: asyncpg.Connection, actor: Actor, batch: asyncpg.Record, rows: list[dict[str, Any]]
) -> None:
    """Write every row's single payment, set-based (inside the caller's transaction); refuse the file
    when a row changed since it was checked (its billing gone, its Invoice Number taken meanwhile)."""
    cells = ", ".join(frames.unpacked(f"f.{c}", "f.lines", "f.separator") for c in _CHARGED)
    inserted = await conn.fetch(
        "INSERT INTO billing_charge (business_id, id, billing_id, customer_id, kind, "
        "execute_date, billing_number, "
        "invoice_number, account_id, amount, currency, status, next_attempt_on, batch_id, "
        "created_at, updated_at) "
        "SELECT b.business_id, 'chg_' || substr(md5($2 || r.line::text), 1, 26), b.id, "
        "b.customer_id, 'single', "
        "r.execute_date::date, b.billing_number, r.invoice_number, b.account_id, "
        "replace(replace(r.amount, '.', ''), ',', '')::bigint, b.currency, 'pending', "
        "r.execute_date::date, $2, $3, $3 "
        f"FROM billing_batch_file f, unnest(f.lines, {cells}) "
        "AS r(line, billing_number, invoice_number, amount, execute_date) "
        "JOIN billing b ON b.business_id = $1 AND b.billing_number = r.billing_number "
        "AND b.status <> 'deleted' "
        "WHERE f.business_id = $1 AND f.batch_id = $2 ON CONFLICT DO NOTHING RETURNING invoice_number",
        actor.business_id,
        batch["id"],
        clock.now(),
    )
    if len(inserted) == len(rows):
        return
    done = {r["invoice_number"] for r in inserted}
    billings = {
        r["billing_number"]
        for r in await conn.fetch(
            "SELECT billing_number FROM billing WHERE business_id = $1 AND status <> 'deleted' "
            "AND billing_number = ANY($2::text[])",
            actor.business_id,
            sorted({r["data"]["billing_number"] for r in rows}),
        )
    }
    problems = []
    for row in rows:
        data = row["data"]
        if data["invoice_number"] in done:
            continue
        if data["billing_number"] not in billings:
            problems.append(
                _row_problem(
                    row["line"],
                    "billing_number",
                    N_("Line %(line)s: billing %(number)s was not found."),
                    "billing_not_found",
                    number=data["billing_number"],
                )
            )
        else:
            problems.append(
                _row_problem(
                    row["line"],
                    "invoice_number",
                    N_("Line %(line)s: Invoice Number %(number)s is already used."),
                    "duplicate_invoice_number",
                    number=data["invoice_number"],
                )
            )
    raise _changed(problems)


# The columns of a Batch Transaction file its processing reads, in this order.
_CHARGED = ("billing_number", "invoice_number", "amount", "execute_date")


async def list_batches(
    actor: Actor, *, limit: int | None = None, after: str | None = None
) -> tuple[list[asyncpg.Record], str | None]:
    """Batch Report: uploads, latest first, with Total Data, Total Amount and Invalid Data."""
    actor.require("billing")
    size = clamp_limit(limit)
    args: list[Any] = [actor.business_id]
    where = ""
    position = decode_cursor(after)
    if position is not None:
        args.append(str(position))
        where = f" AND id < ${len(args)}"
    args.append(size + 1)
    rows = await sql.fetch(
        "SELECT * FROM billing_batch WHERE business_id = $1"
        + where
        + f" ORDER BY id DESC LIMIT ${len(args)}",
        *args,
    )
    more = len(rows) > size
    rows = rows[:size]
    return list(rows), (encode_cursor(rows[-1]["id"]) if more and rows else None)


def template_csv(kind: str) -> str:
    """The template of a batch type: its header and one example row."""
    example = {
        "registration": [
            "CUST-001",
            "BIL-001",
            "150000",
            "recurring",
            "date",
            "5",
            "",
            "1,2,3,4,5,6,7,8,9,10,11,12",
            "",
            "Monthly plan",
        ],
        "transaction": ["BIL-001", "INV-0001", "150000", common.today().isoformat(), "One-time payment"],
    }[kind]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS[kind])
    writer.writerow(example)
    return out.getvalue()


def template_xlsx(kind: str) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    for index, line in enumerate(csv.reader(io.StringIO(template_csv(kind)))):
        for column, value in enumerate(line):
            sheet.write_string(index, column, value)
    book.close()
    return out.getvalue()


def batch_out(row: asyncpg.Record, rows: list[dict[str, Any]] | None = None) -> BatchOut:
    return BatchOut(
        id=row["id"],
        kind=row["kind"],
        file_name=row["file_name"],
        status=row["status"],
        total_data=row["total_data"],
        invalid_data=row["invalid_data"],
        total_amount=row["total_amount"],
        created_at=row["created_at"],
        processed_at=row["processed_at"],
        rows=[BatchRowOut(r["line"], r["data"], r["errors"]) for r in rows] if rows is not None else None,
    )


async def upload_base64(actor: Actor, kind: str, file_name: str, content: str) -> BatchOut:
    """The API's upload: the file arrives base64-encoded; answered with its rows and their reasons."""
    try:
        raw = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(
            N_("content_base64 is not base64."),
            code="invalid_file",
            errors=[FieldError("/content_base64", N_("not base64"), "invalid_file")],
        ) from None
    batch_id = await upload(actor, kind, file_name, raw)
    return await get_batch(actor, batch_id)


async def get_batch(actor: Actor, batch_id: str) -> BatchOut:
    """One uploaded file with its rows."""
    return batch_out(await batch_row(actor, batch_id), await batch_rows(actor, batch_id))


async def process_batch(actor: Actor, batch_id: str) -> BatchOut:
    await process(actor, batch_id)
    return batch_out(await batch_row(actor, batch_id))


async def batch_page(actor: Actor, *, limit: int | None = None, after: str | None = None) -> BatchPage:
    rows, cursor = await list_batches(actor, limit=limit, after=after)
    return BatchPage([batch_out(r) for r in rows], cursor is not None, cursor)
