"""Batch uploads: Registration (billings with their schedules for existing customers) and Batch
Transaction (single payments, one Execute Date per row). A file is read with limits (size, rows, an
XLSX's unpacked size), every row validated and kept with its reasons; a file with invalid rows is
uploaded again, a valid one processed once."""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
import zipfile
from datetime import date
from typing import Any

import asyncpg

from portal.domains.billing import schedule as schedules
from portal.domains.billing.schemas import BatchOut, BatchPage, BatchRowOut
from portal.domains.billing.services import common
from portal.domains.billing.services.billings import create_billing
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict, FieldError, Forbidden, NeracaError, ValidationFailed
from portal.lib.i18n import N_, gettext
from portal.lib.ids import new_id
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.sql import transaction

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
    """The cells of a CSV or XLSX file as text, first row included (formulas come back as their text,
    never computed)."""
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
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _refused(N_("The CSV file must be UTF-8 text."), "invalid_file") from None
        rows = list(csv.reader(io.StringIO(text)))
    else:
        raise _refused(N_("Upload a CSV or XLSX file."), "invalid_file")
    if len(rows) > MAX_ROWS + 1:
        raise _refused(N_("A file holds at most 100,000 rows."), "too_many_rows")
    return rows


def _error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _stage_records(kind: str, rows: list[list[str]], *, may_hold_cards: bool = True) -> list[tuple[Any, ...]]:
    """The data rows as staging records: (line, the columns' stripped text…, columns blanked as a card
    number). A card number is blanked here, in memory, so it never reaches the database, not even the
    staging table; the other checks are SQL over the staged rows."""
    columns = COLUMNS[kind]
    if not rows:
        raise _refused(N_("The file is empty."), "empty_file")
    header = [h.strip().lower().replace(" ", "_") for h in rows[0]]
    missing = [c for c in columns[:3] if c not in header]
    if missing:
        raise ValidationFailed(
            N_("The file lacks the columns %(columns)s: start from the template."),
            params={"columns": ", ".join(missing)},
            code="missing_columns",
            errors=[FieldError("/file", N_("columns missing"), "missing_columns")],
        )
    positions = [header.index(name) if name in header else -1 for name in columns]
    records: list[tuple[Any, ...]] = []
    line = 1
    for raw in rows[1:]:
        if not any(cell.strip() for cell in raw):
            continue
        line += 1
        width = len(raw)
        cells = [raw[i].strip() if 0 <= i < width else "" for i in positions]
        blanked: list[str] = []
        for n, value in enumerate(cells):
            if may_hold_cards and len(value) >= 13 and common.looks_like_card_number(value):
                cells[n] = ""  # never kept
                blanked.append(columns[n])
        records.append((line, *cells, blanked))
    return records


# Python's str.strip() set, so a cell trimmed in SQL is the cell trimmed in Python.
_WHITESPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
_WS_SQL = "E'" + "".join(f"\\u{ord(c):04x}" for c in _WHITESPACE) + "'"
# A cell starting and ending with a printable ASCII character (never whitespace) is already trimmed: the
# trim, which walks the whitespace set character by character, runs only on the others.
_PRINTABLE = "ascii({c}) BETWEEN 33 AND 126"
# A well-formed quoted CSV field (at a field's start, closed before a comma or a line's end): where every
# quote of a file is in one, Python's csv module and PostgreSQL's COPY read the file alike.
_QUOTED_FIELD = re.compile(r'(?:^|(?<=[,\r\n]))"(?:[^"]|"")*"(?=[,\r\n]|\Z)')


def _raw_csv_header(kind: str, content: bytes) -> list[str] | None:
    """The staging columns of a CSV file that PostgreSQL's COPY can read straight, as Python's csv
    module would (the file is then never parsed in Python), or None when it must be read in Python: too
    many lines, not UTF-8, an end-of-data marker or a NUL, a quote outside a well-formed quoted field,
    a header that spans lines or lacks the required columns."""
    if (
        len(content) > MAX_BYTES
        or content.count(b"\n") > MAX_ROWS + 1
        or b"\\." in content
        or b"\0" in content
    ):
        return None
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if '"' in text and '"' in _QUOTED_FIELD.sub("", text):
        return None
    first = text.split("\n", 1)[0]
    if not first.strip() or '"' in first or "\r" in first.rstrip("\r"):
        return None
    header = [h.strip().lower().replace(" ", "_") for h in first.rstrip("\r").split(",")]
    columns = COLUMNS[kind]
    if any(c not in header for c in columns[:3]):
        return None
    return [h if h in columns and header.index(h) == n else f"extra_{n}" for n, h in enumerate(header)]


def _trimmed(name: str) -> str:
    """A raw cell trimmed as Python trims it."""
    return (
        f"CASE WHEN {_PRINTABLE.format(c='r.' + name)} AND {_PRINTABLE.format(c=f'right(r.{name}, 1)')} "
        f"THEN r.{name} ELSE btrim(coalesce(r.{name}, ''), {_WS_SQL}) END"
    )


# ASCII whitespace (Python's, but the line breaks) as a space, every other byte as "x" but the comma and
# the line breaks: where no space then touches a comma or a line break, no cell starts or ends with one.
_ASCII_SPACES = bytes(
    c if chr(c) in ",\r\n" else ord(" ") if chr(c).isspace() and c < 128 else ord("x") for c in range(256)
)


def _cells_trimmed(content: bytes) -> bool:
    """Whether no cell of an ASCII CSV without a quote starts or ends with whitespace (its cells then
    need no trim; one scan of the bytes, no parsing)."""
    if not content.isascii() or b'"' in content:
        return False
    spaced = content.translate(_ASCII_SPACES)
    return not (
        spaced.endswith(b" ")
        or any(edge in spaced for edge in (b", ", b" ,", b"\n ", b" \n", b" \r", b"\r "))
    )


def _raw_source(kind: str, staged: list[str], *, trimmed: bool = False) -> str:
    """The staged raw CSV as the checks' rows: cells trimmed (as they are when `trimmed`), blank rows
    left out, lines numbered as Python numbers them (the header is line 1; a blank row takes no
    number)."""
    joined = f"concat({', '.join('r.' + n for n in staged)})"
    # A row whose first cell starts with a printable character is not blank: the rest is not joined.
    filled = (
        f"{_PRINTABLE.format(c='r.' + staged[0])} OR {_PRINTABLE.format(c=joined)} "
        f"OR btrim({joined}, {_WS_SQL}) <> ''"
    )

    def cell(c: str) -> str:
        return f"coalesce(r.{c}, '')" if trimmed else _trimmed(c)

    picked = ", ".join(f"{cell(c) if c in staged else chr(39) * 2} AS {c}" for c in COLUMNS[kind])
    return (
        f"(SELECT (row_number() OVER (ORDER BY r.seq) + 1)::integer AS line, {picked}, "
        f"'{{}}'::text[] AS blanked FROM billing_batch_raw r WHERE {filled})"
    )


def _raw_cells(kind: str, staged: list[str]) -> str:
    """The staged raw CSV's cells as typed, every row (blank ones too): enough for the distinct values,
    each trimmed in Python once."""
    picked = ", ".join(f"{'r.' + c if c in staged else chr(39) * 2} AS {c}" for c in COLUMNS[kind])
    return f"(SELECT {picked} FROM billing_batch_raw r)"


_SCHEDULE_CELLS = ("schedule_type", "day", "weekdays", "months", "dates")


async def _distinct_values(conn: asyncpg.Connection, kind: str, source: str) -> list[tuple[str, ...]]:
    """The distinct values the Python rules judge: a schedule's cells, or an Execute Date (of blank
    rows too: a value no checked row has is joined to none)."""
    cells = _SCHEDULE_CELLS if kind == "registration" else ("execute_date",)
    rows = await conn.fetch(f"SELECT DISTINCT {', '.join(cells)} FROM {source} st")
    return list(dict.fromkeys(tuple((v or "").strip() for v in r) for r in rows))


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


# Digits as "0", everything but a space or a dash as "x" (those two dropped): 13 zeros in a row is the
# least a card number leaves (a superset: the cells are then scanned exactly).
_DIGITS_ONLY = bytes(ord("0") if chr(c).isdigit() and c < 128 else ord("x") for c in range(256))


def _may_hold_card(content: bytes) -> bool:
    """Whether a run of 13 or more digits (spaces or dashes between them) is anywhere in the bytes."""
    return content.translate(_DIGITS_ONLY, b" -").find(b"0" * 13) >= 0


async def _copy_raw(conn: asyncpg.Connection, kind: str, content: bytes, header: list[str]) -> str | None:
    """COPY the CSV file as it is into a staging table (PostgreSQL parses it); the checks' rows, or
    None when COPY refuses the file (a ragged or blank line…): then Python reads it."""
    try:
        async with conn.transaction():
            await conn.execute(
                "CREATE TEMP TABLE billing_batch_raw (seq integer GENERATED ALWAYS AS IDENTITY, "
                + ", ".join(f"{c} text" for c in header)
                + ") ON COMMIT DROP"
            )
            await conn.copy_to_table(
                "billing_batch_raw", source=io.BytesIO(content), columns=header, format="csv", header=True
            )
            # Not ANALYZEd (a tenth of the upload): its size is read from its pages, and the checks'
            # joins are hash joins on either estimate.
    except asyncpg.PostgresError:
        return None
    return _raw_source(kind, header, trimmed=_cells_trimmed(content))


# Joins the cells of a schedule into one key (a unit separator: never typed in a cell).
_SEP = "\x1f"
# A formula's first character (= + - @ tab carriage return), by code point: no text built per cell.
_FORMULA = "ascii({c}) IN (61, 43, 45, 64, 9, 13)"


def _reason(condition: str, field: str, message: str) -> str:
    return f"CASE WHEN {condition} THEN jsonb_build_object('field', '{field}', 'message', {message}) END"


def _check_sql(kind: str, source: str = "billing_batch_stage", *, blanked: bool = True) -> str:
    """The staged rows checked, one SELECT: every rule is a SQL condition adding its reason, in the order
    a reader meets them (each cell's card number or formula, the amount, the references, a repeat in the
    file); a row is its line, its cells as kept and its reasons (NULL when it has none).
    $1 business, $3–$9 the translated messages, $10/$11 the distinct checks. Without `blanked` (a file
    COPYed as it is, which cannot hold a card number) no cell is blanked: only invalid rows ask."""
    columns = COLUMNS[kind]
    # Every rule's condition, so a valid row (most of a file) skips building its reasons altogether.
    conditions = ["s.any_formula", *(["cardinality(s.blanked) > 0"] if blanked else [])]

    def reason(condition: str, field: str, message: str) -> str:
        conditions.append(condition)
        return _reason(condition, field, message)

    parts = [
        f"CASE WHEN '{c}' = ANY(s.blanked) THEN jsonb_build_object('field', '{c}', 'message', $3::text) "
        f"ELSE {_reason(_FORMULA.format(c='s.' + c), c, '$4::text')} END"
        for c in columns
    ]
    valid_amount = (
        "CASE WHEN s.numeric_amount THEN s.digits::numeric BETWEEN 1 AND 1000000000000 ELSE false END"
    )
    parts.append(reason(f"NOT ({valid_amount})", "amount", "$5::text"))
    if kind == "registration":
        parts.append(reason("cu.customer_ref IS NULL", "customer_id", "$6::text"))
        parts.append(
            reason(
                "s.billing_number = '' OR length(s.billing_number) > 40 OR b.billing_number IS NOT NULL",
                "billing_number",
                "$7::text",
            )
        )
        parts.append(
            reason(
                # Typed in lower case (most rows), the type is known without lower().
                "s.type <> '' AND s.type NOT IN ('recurring', 'reminder') "
                "AND lower(s.type) NOT IN ('recurring', 'reminder')",
                "type",
                "$8::text",
            )
        )
        parts.append(reason("coalesce(ck.message, '') <> ''", "schedule_type", "ck.message"))
        key = "billing_number"
        joins = (
            "LEFT JOIN billing_customer cu ON cu.business_id = $1 AND cu.customer_ref = s.customer_id "
            "LEFT JOIN billing b ON b.business_id = $1 AND b.billing_number = s.billing_number "
            "LEFT JOIN unnest($10::text[], $11::text[]) AS ck(key, message) ON s.schedule_type <> '' AND "
            "ck.key = concat_ws(E'\\x1f', s.schedule_type, s.day, s.weekdays, s.months, s.dates)"
        )
    else:
        parts.append(reason("b.billing_number IS NULL OR b.status = 'deleted'", "billing_number", "$6::text"))
        parts.append(
            reason(
                "b.billing_number IS NOT NULL AND b.status <> 'deleted' AND b.card_status <> 'registered'",
                "billing_number",
                "$7::text",
            )
        )
        parts.append(
            reason(
                "s.invoice_number = '' OR length(s.invoice_number) > 60 OR EXISTS (SELECT 1 FROM "
                "billing_charge ch WHERE ch.business_id = $1 AND ch.invoice_number = s.invoice_number)",
                "invoice_number",
                "$8::text",
            )
        )
        parts.append(reason("coalesce(ck.message, '') <> ''", "execute_date", "ck.message"))
        key = "invoice_number"
        joins = (
            "LEFT JOIN billing b ON b.business_id = $1 AND b.billing_number = s.billing_number "
            "LEFT JOIN unnest($10::text[], $11::text[]) AS ck(key, message) ON ck.key = s.execute_date"
        )
    parts.append(
        reason(
            f"s.{key} <> '' AND s.first_line < s.line",
            key,
            "replace($9::text, '%(line)s', s.first_line::text)",
        )
    )
    kept = ", ".join(
        "s.amount_kept AS amount"
        if c == "amount"
        else f"CASE WHEN s.any_formula AND {_FORMULA.format(c='s.' + c)} THEN '''' || s.{c} "
        f"ELSE s.{c} END AS {c}"
        for c in columns
    )
    amount_kept = f"CASE WHEN {_FORMULA.format(c='st.amount')} THEN '''' || st.amount ELSE st.amount END"
    digits = f"replace(replace({amount_kept}, '.', ''), ',', '')"
    # s has a window function, so it is computed once per row (never pulled up into the checks that
    # read its columns several times); a row without a formula (most) tests no cell for one again.
    return (
        f"WITH s AS (SELECT st.*, {amount_kept} AS amount_kept, {digits} AS digits, "
        f"{digits} ~ '^[0-9]+$' AS numeric_amount, "
        f"{' OR '.join(_FORMULA.format(c='st.' + c) for c in columns)} AS any_formula, "
        f'min(st.line) OVER (PARTITION BY st.{key} COLLATE "C") AS first_line FROM {source} st) '
        f"SELECT s.line, {kept}, "
        # The amount counted in the file's Total Amount: its digits, when they are 1 to 18.
        "CASE WHEN s.numeric_amount AND length(s.digits) <= 18 THEN s.digits::bigint ELSE 0 END AS money, "
        + f"CASE WHEN {' OR '.join(f'({c})' for c in conditions)} "
        + f"THEN to_jsonb(array_remove(ARRAY[{', '.join(parts)}], NULL)) END AS errors FROM s {joins}"
    )


def _keep_sql(kind: str, source: str, *, blanked: bool = True) -> str:
    """The checked rows kept as the file's one record (each column an array, element i of each the row
    numbered lines[i]; the reasons of the invalid rows by line) and the batch's totals set, in one
    statement; $2 the batch."""
    columns = COLUMNS[kind]
    arrays = ", ".join(f"array_agg({c}) AS {c}" for c in columns)
    return (
        f"WITH checked AS ({_check_sql(kind, source, blanked=blanked)}), "
        f"folded AS (SELECT coalesce(array_agg(line), '{{}}'::integer[]) AS lines, {arrays}, "
        "coalesce(jsonb_object_agg(line::text, errors) FILTER (WHERE errors IS NOT NULL), '{}'::jsonb) "
        "AS errors, count(*) AS total, count(errors) AS invalid, "
        "coalesce(sum(money), 0) AS money FROM checked), "
        f"kept AS (INSERT INTO billing_batch_file (business_id, batch_id, lines, {', '.join(columns)}, "
        f"errors) SELECT $1, $2, lines, {', '.join(columns)}, errors FROM folded) "
        "UPDATE billing_batch SET total_data = f.total, invalid_data = f.invalid, total_amount = f.money "
        "FROM folded f WHERE business_id = $1 AND id = $2 RETURNING total_data, invalid_data"
    )


async def upload(actor: Actor, kind: str, file_name: str, content: bytes) -> str:
    """Read a file and check every row set-based: the rows are copied into a staging table and each rule
    is a SQL condition adding its reason. Keeps the file with its rows and reasons; returns the batch id."""
    _require_whole_business(actor)
    if kind not in KINDS:
        raise ValidationFailed(
            N_("The batch type is Registration or Batch Transaction."),
            code="invalid_batch_type",
            errors=[FieldError("/kind", N_("unknown batch type"), "invalid_batch_type")],
        )
    name = common.text(file_name or "upload.csv", "/file", max_length=200)
    columns = COLUMNS[kind]
    # A CSV without a run of 13 or more digits anywhere cannot hold a card number: no cell is scanned.
    may_hold_cards = not name.lower().endswith(".csv") or _may_hold_card(content)
    raw_header = None if may_hold_cards else _raw_csv_header(kind, content)
    records = (
        None
        if raw_header is not None
        else _stage_records(kind, read_rows(content, name), may_hold_cards=may_hold_cards)
    )
    if kind == "registration":
        reference_messages = [
            gettext("No customer has this Customer ID."),
            gettext("This Billing Number is already used or invalid."),
            gettext("The type is Recurring or Reminder."),
        ]
    else:
        reference_messages = [
            gettext("No billing has this Billing Number."),
            gettext("This billing has no registered card."),
            gettext("This Invoice Number is already used or invalid."),
        ]
    batch_id = new_id("bat")
    async with transaction(), sql.connection() as conn:
        # The checks' window sort and hashes stay in memory at 100,000 rows.
        await conn.execute("SET LOCAL work_mem = '64MB'")
        source = None if raw_header is None else await _copy_raw(conn, kind, content, raw_header)
        if source is None:
            if records is None:  # COPY read the file otherwise than Python would: Python reads it
                records = _stage_records(kind, read_rows(content, name), may_hold_cards=False)
            source = "billing_batch_stage"
            await conn.execute(
                "CREATE TEMP TABLE billing_batch_stage (line integer, "
                + ", ".join(f"{c} text" for c in columns)
                + ", blanked text[]) ON COMMIT DROP"
            )
            await conn.copy_records_to_table(
                "billing_batch_stage", columns=["line", *columns, "blanked"], records=records
            )
            await conn.execute("ANALYZE billing_batch_stage")  # the checks' joins planned on real counts
        cells = (
            source if raw_header is None or source == "billing_batch_stage" else _raw_cells(kind, raw_header)
        )
        keys, key_messages = _distinct_checks(kind, await _distinct_values(conn, kind, cells))
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
        counts = await conn.fetchrow(
            _keep_sql(kind, source, blanked=source == "billing_batch_stage"),
            actor.business_id,
            batch_id,
            gettext("A card number cannot be typed here."),
            gettext("A formula is not allowed in a cell."),
            gettext("The amount must be a whole number of rupiah above zero."),
            *reference_messages,
            gettext("Also on line %(line)s of this file."),
            keys,
            key_messages,
        )
        assert counts is not None
        await common.audit(
            actor,
            "billing.batch_uploaded",
            f"Batch file {name} uploaded ({counts['total_data']} rows, {counts['invalid_data']} invalid)",
            {"batch_id": batch_id},
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
        f"FROM billing_batch_file f, unnest(f.lines, {', '.join('f.' + c for c in columns)}) "
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
    """Process a valid batch once: create its billings (Registration) or its single payments, charged
    by the billing run on their Execute Date (Batch Transaction). Returns the rows processed."""
    actor.require("billing", "manage")
    batch = await batch_row(actor, batch_id)
    if batch["invalid_data"]:
        raise Conflict(
            N_("Upload the file again without its invalid rows first."), code="batch_has_invalid_rows"
        )
    async with transaction():
        claimed = await sql.fetchval(
            "UPDATE billing_batch SET status = 'processed', processed_at = $3 "
            "WHERE business_id = $1 AND id = $2 AND status = 'validated' RETURNING id",
            actor.business_id,
            batch_id,
            clock.now(),
        )
    if claimed is None:
        raise Conflict(N_("This batch was already processed."), code="batch_processed")
    rows = await batch_rows(actor, batch_id)
    if batch["kind"] == "registration":
        for row in rows:
            data = row["data"]
            schedule = None
            if data.get("schedule_type"):
                schedule = {
                    "schedule_type": data["schedule_type"].lower().replace(" ", "_"),
                    "day": data.get("day"),
                    "weekdays": data.get("weekdays"),
                    "months": data.get("months"),
                    "dates": data.get("dates"),
                }
            try:
                await create_billing(
                    actor,
                    customer_id=data["customer_id"],
                    billing_number=data["billing_number"],
                    amount=data["amount"].replace(".", "").replace(",", ""),
                    description=data.get("description") or None,
                    type=(data.get("type") or "recurring").lower(),
                    schedule=schedule,
                )
            except NeracaError:
                continue  # changed since validation (a number taken meanwhile): that row only is skipped
        return len(rows)
    async with transaction():
        await sql.execute(
            "INSERT INTO billing_charge (business_id, id, billing_id, customer_id, kind, "
            "execute_date, billing_number, "
            "invoice_number, account_id, amount, currency, status, next_attempt_on, batch_id, "
            "created_at, updated_at) "
            "SELECT b.business_id, 'chg_' || substr(md5($2 || r.line::text), 1, 26), b.id, "
            "b.customer_id, 'single', "
            "r.execute_date::date, b.billing_number, r.invoice_number, b.account_id, "
            "replace(replace(r.amount, '.', ''), ',', '')::bigint, b.currency, 'pending', "
            "r.execute_date::date, $2, $3, $3 "
            "FROM billing_batch_file f, "
            "unnest(f.lines, f.billing_number, f.invoice_number, f.amount, f.execute_date) "
            "AS r(line, billing_number, invoice_number, amount, execute_date) "
            "JOIN billing b ON b.business_id = $1 AND b.billing_number = r.billing_number "
            "AND b.status <> 'deleted' "
            "WHERE f.business_id = $1 AND f.batch_id = $2 ON CONFLICT DO NOTHING",
            actor.business_id,
            batch_id,
            clock.now(),
        )
        await common.audit(
            actor, "billing.batch_processed", f"Batch {batch['file_name']} processed", {"batch_id": batch_id}
        )
    return len(rows)


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
