"""Batch payouts `pob_…`: an uploaded CSV/XLSX file's rows staged and validated (each error on its row
and column), fixed or deleted in the portal, submitted (one payout per row, each held, awaiting
approval), then approved as one with an authenticator code (every payout scheduled) or rejected (every
hold voided). Progress, per-row results and totals come from the payouts themselves.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import polars as pl
import structlog

from portal.domains.accounts import services as accounts
from portal.domains.ledger.services.shared import audit
from portal.domains.payouts import lifecycle, services, upload
from portal.domains.payouts.router import DESTINATIONS, WALLETS, NoRail, route
from portal.domains.payouts.schemas import BatchDetail, BatchOut, BatchRowError, BatchRowOut
from portal.domains.provider import gateway
from portal.domains.provider.gateway import NameInquiry
from portal.lib import clock, frames, sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict, FieldError, NeracaError, NotFound, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.jobs import enqueue
from portal.lib.spreadsheet import is_dangerous
from portal.lib.sql import transaction

TEMPLATE = (
    "reference,amount,code,account_number,holder_name,description,email\r\n"
    "PAY-0001,150000,014,8800112233,Budi Santoso,November commission,budi@example.com\r\n"
    "PAY-0002,50000,OVO,081234567890,Agus Pratama,Refund,\r\n"
)


@dataclass
class BatchSummary:
    id: str
    account_id: str
    filename: str
    status: str
    created_by_name: str
    approved_by_name: str | None
    created_at: Any
    rows: int
    invalid: int
    total_amount: int
    total_fee: int
    progress: dict[str, int]


# --- validation -----------------------------------------------------------------------------------
#
# Every rule is a polars expression over a frame of the rows' cells (the file's rows on upload, the rows a
# fix touches), so a file of 10,000 rows is checked column by column without a Python loop per row; the
# database answers two set-based lookups (references used before, bank codes) and stores the result. The
# messages are msgids, translated when a row is shown.

log = structlog.get_logger("neraca.payouts")

# The whitespace the upload's earlier SQL collapsed in a holder's name and dropped from a wallet number
# (PostgreSQL's [[:space:]] under the database's C.UTF-8 ctype): Unicode's, less the no-break spaces
# (U+00A0, U+2007, U+202F), U+0085 and U+001C–U+001F.
_SEPARATORS = "".join(c for c in frames.WHITESPACE if c not in "\x1c\x1d\x1e\x1f\x85\xa0\u2007\u202f")
# What in a holder's name the normalising of its whitespace changes: whitespace other than a space, two
# spaces in a row, a space at either edge.
_ODD_SPACE = frames.char_class(_SEPARATORS.replace(" ", "")) + "|  |^ | $"
_I64_MAX = 2**63 - 1  # an amount of more digits is compared as this, above every rail's limit

_MESSAGES = {
    "reference_required": N_("required, at most 100 characters"),
    "reference_twice": N_("appears more than once in the file"),
    "reference_used": N_("already used by an earlier payout or transfer"),
    "amount": N_("must be a positive whole number"),
    "code": N_("unknown bank or e-wallet code"),
    "mobile": N_("not an Indonesian mobile number"),
    "digits": N_("6 to 20 digits"),
    "holder_name": N_("required, at most 100 characters"),
    "description": N_("at most 140 characters"),
    "email": N_("not an e-mail address"),
    "no_rail": N_("no rail for this destination"),
}
_NO_RAIL = {
    "below_minimum": N_("below the rail's minimum"),
    "above_maximum": N_("above every rail's limit"),
}


def _reason(column: str, message: str) -> str:
    """One error of a row as stored in `payout_batch_row.errors` (JSON)."""
    return json.dumps({"column": column, "message": message, "params": {}})


def _error(column: str, key: str) -> pl.Expr:
    return pl.lit(_reason(column, _MESSAGES[key]))


# The usual shape of an e-mail address settles it with one expression; any other goes through every rule.
_USUAL_EMAIL = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9]+([.][A-Za-z0-9]+)+$"


def _email_ok(email: pl.Expr) -> pl.Expr:
    """The portal's e-mail rule for an address of an unusual shape, as the upload has always applied it:
    one @, a dot in the domain, no `..`, no trailing dot, a first domain label of letters, digits and
    inner dashes, no label of 64 characters in an address of 64 or more."""
    domain = email.str.extract("^[^@" + frames.char_class(_SEPARATORS)[1:] + "+@([A-Za-z0-9.-]+)$", 1)
    return (
        domain.is_not_null()
        & (email.str.len_chars() - domain.str.len_chars() <= 65)
        & domain.str.contains(".", literal=True)
        & ~email.str.contains("..", literal=True)
        & ~email.str.ends_with(".")
        & domain.str.contains(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?([.]|$)")
        & ((email.str.len_chars() < 64) | ~domain.str.contains(r"[^.]{64}"))
    )


def _cells(frame: pl.DataFrame, *, trim_cells: bool = True) -> pl.DataFrame:
    """The non-blank rows' cells as kept (trimmed like Python's str.strip(); the code in capitals; the
    holder's name with its inner whitespace as single spaces; a wallet's valid phone number as 08…)
    and what the rules read from them. Without `trim_cells` (the caller knows no cell has whitespace
    at an edge) the cells are taken as they are."""
    trim = {c: frames.trimmed(pl.col(c)) if trim_cells else pl.col(c) for c in upload.COLUMNS}
    separators = frames.char_class(_SEPARATORS)
    holder = pl.col("holder_name")
    # Every name is rewritten only when one would change (a scan costs a quarter of rewriting them).
    if frame.select(holder.str.contains(_ODD_SPACE).any()).item():
        holder = holder.str.replace_all(separators + "+", " ").str.strip_chars(" ")
    kept = frame.lazy().select(
        pl.col("line"),
        trim["reference"].alias("reference"),
        trim["amount"].alias("amount"),
        trim["code"].str.to_uppercase().alias("code"),
        trim["account_number"].alias("account_number"),
        holder.alias("holder_name"),
        trim["description"].alias("description"),
        trim["email"].alias("email"),
    )
    read = (
        kept.filter(pl.any_horizontal(pl.col(c) != "" for c in upload.COLUMNS))
        .with_columns(
            digits=pl.col("amount").str.replace_all("[.,]", ""),
            bank_number=pl.col("account_number").str.replace_all("[ -]", ""),
        )
        .collect(engine="in-memory")
    )
    # Account numbers are read as phone numbers only in a file with a wallet row.
    if not read["code"].is_in(WALLETS).any():
        return read.with_columns(mobile_ok=pl.lit(False))
    phone = pl.col("account_number").str.replace_all(separators[:-1] + r"\-]", "")
    wallets = read.lazy().with_columns(
        phone=pl.when(phone.str.starts_with("+62"))
        .then("0" + phone.str.slice(3))
        .when(phone.str.starts_with("62"))
        .then("0" + phone.str.slice(2))
        .otherwise(phone),
    )
    # `mobile_ok`: a wallet row whose number is a mobile number (False on any other row).
    mobile_ok = (
        pl.col("code").is_in(WALLETS)
        & pl.col("phone").str.contains("^08[1-9][0-9]+$")
        & pl.col("phone").str.len_chars().is_between(10, 13)
    )
    return wallets.with_columns(
        mobile_ok=mobile_ok,
        account_number=pl.when(mobile_ok).then(pl.col("phone")).otherwise(pl.col("account_number")),
    ).collect(engine="in-memory")


async def checked_rows(
    conn: asyncpg.Connection, business_id: str, frame: pl.DataFrame, bands: RailBands
) -> pl.DataFrame:
    """The rules of a batch row over `frame` (`line` and the seven cells as typed): each non-blank row's
    `line`, cells as kept, `rail`, `fee` and `errors` (JSON text, `[{column, message, params}]`, in the
    order a reader meets the columns). A reference repeated within `frame` is an error on every row
    that has it; one used before by the business (`ledger_reference`) too."""
    cells = _cells(frame)
    used, banks = await _lookups(conn, business_id, _lookup_keys(frame))
    return _rules(cells, used, banks, bands)


def _lookup_keys(frame: pl.DataFrame) -> tuple[str, list[str]]:
    """What `_lookups` asks about for the rows of a file as read (`line` and the seven cells as typed):
    every distinct reference and code as its cells will be kept (trimmed; the code in capitals), the
    references as one JSON text (an array parameter of 10,000 texts costs more to encode)."""
    keys = frame.lazy().select(
        frames.trimmed(pl.col("reference")).unique().implode(),
        frames.trimmed(pl.col("code")).str.to_uppercase().unique().implode(),
    )
    references, codes = keys.collect(engine="in-memory").row(0)
    return json.dumps(references), codes


async def _lookups(
    conn: asyncpg.Connection, business_id: str, keys: tuple[str, list[str]]
) -> tuple[list[str], list[str]]:
    """(the references of `keys` the business used before, its codes that are known banks) in one
    statement."""
    references, codes = keys
    found = await conn.fetchrow(
        "SELECT ARRAY(SELECT l.reference FROM json_array_elements_text($2::json) AS r(reference) "
        "JOIN ledger_reference l ON l.business_id = $1 AND l.reference = r.reference) AS used, "
        "ARRAY(SELECT code FROM ref_banks WHERE code = ANY($3::text[])) AS banks",
        business_id,
        references,
        codes,
    )
    assert found is not None
    return found["used"], found["banks"]


async def _lookups_alone(business_id: str, frame: pl.DataFrame) -> tuple[list[str], list[str]] | None:
    """`_lookups` for a file as read, on a spare connection of its own (they read committed references
    only), the keys made in a thread; None when the pool has none free (they are then done on the
    upload's connection)."""
    async with sql.spare_connection() as conn:
        if conn is None:
            return None
        return await _lookups(conn, business_id, await asyncio.to_thread(_lookup_keys, frame))


def _file_cells(name: str, data: bytes, frame: pl.DataFrame) -> pl.DataFrame:
    """The cells of a file as read (`_cells`), once it is known to hold no formula. A CSV where no
    whitespace or formula prefix touches a cell's edge (one scan) has no cell to trim nor to test for a
    formula."""
    trim_cells, formulas = upload.cell_edges(name, data)
    refused = upload.formula_refusal(frame) if formulas else None
    if refused is not None:
        raise refused
    return _cells(frame, trim_cells=trim_cells)


def _rules(cells: pl.DataFrame, used: list[str], banks: list[str], bands: RailBands) -> pl.DataFrame:
    """`checked_rows` once the references used before and the known bank codes are looked up."""
    code, digits, reference, email = pl.col("code"), pl.col("digits"), pl.col("reference"), pl.col("email")
    # The full e-mail rule runs only over the distinct addresses of an unusual shape (usually none).
    unusual = (email != "") & ~((email.str.len_chars() <= 64) & email.str.contains(_USUAL_EMAIL))
    bad_emails = (
        cells.lazy()
        .filter(unusual)
        .select(email.unique())
        .filter(~_email_ok(email))
        .collect(engine="in-memory")["email"]
    )
    positive = digits.str.strip_chars_start("0")
    rows = cells.lazy().with_columns(
        destination=pl.when(code.is_in(WALLETS)).then(code).when(code.is_in(banks)).then(pl.lit("bank")),
        value=pl.when(~digits.str.contains("^[0-9]+$") | (positive == ""))
        .then(0)
        .otherwise(positive.cast(pl.Int64, strict=False).fill_null(_I64_MAX)),
        twice=reference.is_duplicated(),
        used=reference.is_in(used),
    )
    bank_number = pl.col("bank_number")
    wallet = pl.col("destination").is_not_null() & (pl.col("destination") != "bank")
    rows = rows.with_columns(
        band=pl.when(pl.col("value") >= 1).then(
            pl.lit(pl.Series(bands.points)).search_sorted(pl.col("value"), side="right").cast(pl.Int64) - 1
        ),
        wallet=wallet,
    ).join(bands.answers.lazy(), on=["destination", "band"], how="left", maintain_order="left")
    length = {c: pl.col(c).str.len_chars() for c in ("reference", "holder_name", "description")}
    # Each column's rules in the order a reader meets the columns: (the row breaks it, its error), the
    # first broken one of a group its error.
    groups: list[list[tuple[pl.Expr, pl.Expr]]] = [
        [
            ((reference == "") | (length["reference"] > 100), _error("reference", "reference_required")),
            (pl.col("twice"), _error("reference", "reference_twice")),
            (pl.col("used"), _error("reference", "reference_used")),
        ],
        [(pl.col("value") < 1, _error("amount", "amount"))],
        [
            (pl.col("destination").is_null(), _error("code", "code")),
            (pl.col("wallet") & ~pl.col("mobile_ok"), _error("account_number", "mobile")),
            (
                (pl.col("destination") == "bank")
                & (~bank_number.str.contains("^[0-9]+$") | ~bank_number.str.len_chars().is_between(6, 20)),
                _error("account_number", "digits"),
            ),
        ],
        [
            (
                (pl.col("holder_name") == "") | (length["holder_name"] > 100),
                _error("holder_name", "holder_name"),
            )
        ],
        [(length["description"] > 140, _error("description", "description"))],
        [(pl.col("email").is_in(bad_emails.to_list()), _error("email", "email"))],
        [
            (
                pl.col("destination").is_not_null() & (pl.col("value") >= 1) & pl.col("rail").is_null(),
                pl.col("why").fill_null(_reason("amount", _MESSAGES["no_rail"])),
            )
        ],
    ]
    kept = [
        "line",
        "reference",
        "amount",
        "code",
        "account_number",
        "holder_name",
        "description",
        "email",
        "rail",
        "fee",
    ]
    checked = rows.with_columns(
        broken=pl.any_horizontal(broken for group in groups for broken, _error in group)
    ).collect(engine="in-memory")  # measured faster than the streaming engine on 10,000 rows
    if not checked["broken"].any():  # the errors' texts are written only for the rows that have some
        return checked.select(*kept, errors=pl.lit("[]"))
    messages = []
    for group in groups:
        (broken, error), *others = group
        chain: Any = pl.when(broken).then(error)
        for broken, error in others:
            chain = chain.when(broken).then(error)
        messages.append(chain)
    errors = checked.filter("broken").select(
        "line", errors="[" + pl.concat_str(messages, separator=", ", ignore_nulls=True) + "]"
    )
    return checked.join(errors, on="line", how="left", maintain_order="left").select(
        *kept, pl.col("errors").fill_null("[]")
    )


@dataclass(frozen=True)
class RailBands:
    """The router's answer for every destination by amount band: `points` the bands' lowest amounts
    (ascending, shared by every destination), `answers` (destination, band, rail, fee, why) with `why`
    the row's error (JSON) when no rail carries the band."""

    points: list[int]
    answers: pl.DataFrame


def rail_bands(rails: list[Any], received_at: Any, calendar: Any) -> RailBands:
    """The router's answer for every destination as amount bands. Which rails carry an amount changes
    only at a rail's minimum or just past its maximum, so routing the lowest amount of each band answers
    for the whole band (the rows are then matched to their band by a sorted search and a join instead of
    routed one by one)."""
    points = sorted(
        {1}
        | {r.min_amount for r in rails if r.min_amount > 1}
        | {min(r.max_amount + 1, _I64_MAX) for r in rails}
    )
    answers: dict[str, list[Any]] = {"destination": [], "band": [], "rail": [], "fee": [], "why": []}
    for destination in DESTINATIONS:
        for band, low in enumerate(points):
            try:
                quote = route(rails, low, destination, received_at, calendar)
                answer: tuple[Any, Any, Any] = (quote.rail.code, quote.fee, None)
            except NoRail as refused:
                answer = (None, None, _reason("amount", _NO_RAIL.get(refused.reason, _MESSAGES["no_rail"])))
            for column, value in zip(answers.values(), (destination, band, *answer), strict=True):
                column.append(value)
    schema = {
        "destination": pl.String,
        "band": pl.Int64,
        "rail": pl.String,
        "fee": pl.Int64,
        "why": pl.String,
    }
    return RailBands(points, pl.DataFrame(answers, schema=schema))


async def _bands(business_id: str) -> RailBands:
    rails = await services.load_rails(business_id)
    return rail_bands(rails, clock.now(), await services.load_calendar())


# --- upload ---------------------------------------------------------------------------------------


async def upload_batch(actor: Actor, filename: str, data: bytes, *, account_id: str | None = None) -> str:
    """Read, validate and stage a file's rows (nothing is held yet); returns the batch id. The file is read
    into a frame of text columns, every rule runs over it column by column and the rows are kept with
    their errors as the batch's one record. A file refused as a whole (columns, size, encoding, formulas,
    an XLSX bomb, no rows) writes nothing. The work runs side by side: the file is read (polars, in a
    thread) while the account and the rails are loaded; the references and codes are looked up on a
    second connection while the cells are made, then the rules run in a thread while the cells are
    written, the name inquiry queued and the activity entry written; their rails, fees and errors are
    set last."""
    actor.require("payouts", "manage")
    name = services.optional_text(filename, "/filename", 200) or "batch.csv"
    reading = asyncio.ensure_future(asyncio.to_thread(upload.read_table, name, data))
    loading = asyncio.ensure_future(_owner_and_bands(actor, account_id))
    try:
        frame = await reading  # a file refused as a whole is said first
        owner, bands = await loading
    finally:
        await asyncio.gather(reading, loading, return_exceptions=True)
    # Started outside the transaction, the lookups take a spare connection of their own if the pool has
    # one free and run while the cells are made (else, and inside a caller's transaction, they run on
    # its connection after the cells are written); the rules run as soon as both are there.
    alone = None if sql.in_transaction() else asyncio.ensure_future(_lookups_alone(actor.business_id, frame))
    try:
        cells = await asyncio.to_thread(_file_cells, name, data, frame)
        del frame
        if not cells.height:
            raise upload.refuse_no_rows()
    except BaseException:
        await asyncio.gather(*(t for t in (alone,) if t is not None), return_exceptions=True)
        raise
    kept = asyncio.ensure_future(asyncio.to_thread(_kept_cells, cells, upload.free_separator(name, data)))

    async def checked(lookups: asyncio.Future[tuple[list[str], list[str]] | None]) -> pl.DataFrame | None:
        found = await lookups
        return None if found is None else await asyncio.to_thread(_rules, cells, *found, bands)

    checking = None if alone is None else asyncio.ensure_future(checked(alone))
    batch_id = new_id("pob")
    try:
        async with transaction(), sql.connection() as conn:
            await conn.execute(
                "INSERT INTO payout_batch (business_id, id, account_id, filename, created_by, "
                "created_by_name) VALUES ($1, $2, $3, $4, $5, $6)",
                actor.business_id,
                batch_id,
                owner,
                name,
                actor.user_id,
                actor.name,
            )
            await _write_cells(conn, actor.business_id, batch_id, cells.height, await kept)
            # The job and the activity entry (every row of the cells is a row of the batch) while the
            # rules may still run.
            await _queue_name_inquiries(actor.business_id, batch_id)
            await audit(
                actor,
                "payout_batch.uploaded",
                f"Batch {name} uploaded: {cells.height} rows",
                {"payout_batch_id": batch_id, "account_id": owner},
            )
            rows = None if checking is None else await checking
            if rows is None:  # no spare connection: looked up on this one, after the cells
                used, banks = await _lookups(conn, actor.business_id, _lookup_keys(cells))
                rows = _rules(cells, used, banks, bands)
            assert rows.height == cells.height  # the results are kept in the cells' order, one per row
            await _set_results(conn, actor.business_id, batch_id, rows)
    finally:
        # A failure leaves no task behind (a thread's work ends on its own; it is awaited, not lost).
        await asyncio.gather(*(t for t in (kept, alone, checking) if t is not None), return_exceptions=True)
    return batch_id


async def _owner_and_bands(actor: Actor, account_id: str | None) -> tuple[str, RailBands]:
    """The account a batch pays out from (the one named, the actor's scope, else the business's main
    account) and the router's answers by amount band, loaded side by side."""

    async def owner() -> str:
        chosen = account_id or actor.scope_account_id
        if chosen:
            return (await accounts.get_account_row(actor, chosen)).id
        return (await accounts.main_account(actor)).id

    return await asyncio.gather(owner(), _bands(actor.business_id))


# --- the batch's record ---------------------------------------------------------------------------
#
# A batch's rows are one record of `payout_batch_file`, a column per cell, result and state, one element
# per row in file order. The upload keeps each column of the cells and of the rules' results as one text
# (`frames.packed_texts`: a column of one value is that value, any other its cells joined by the record's
# separator, no array built on the write); every other column starts NULL, read as its starting value on
# every row. A change to rows (`_assign`) writes the columns it sets as arrays, element by element, and
# clears their texts. The rows are read through the view `payout_batch_row` (one row per element), which
# reads each column as `_CURRENT` does.

# The record's columns an upload writes from the cells, then from the rules; the rest start the same on
# every row.
_CELLS = ("row_no", *upload.COLUMNS)
_RESULTS = ("rail", "fee", "errors")
# Every row's value of a column no change has set yet.
_STARTING = {
    "deleted": "false",
    "payout_id": "NULL::text",
    "name_status": "'pending'::text",
    "bank_holder_name": "NULL::text",
    "name_accepted_by": "NULL::text",
    "name_accepted_by_name": "NULL::text",
    "name_accepted_at": "NULL::timestamptz",
}
# Every column of the record, in the order of its table.
_COLUMNS = (*_CELLS, *_RESULTS, *_STARTING)
# Each column of the record `f` as the array it stands for now, as the view `payout_batch_row` reads it.
_CURRENT = {
    "row_no": "coalesce(f.row_no, packed_cells(f.packed_row_no, f.separator, f.lines)::integer[])",
    **{c: f"coalesce(f.{c}, packed_cells(f.packed_{c}, f.separator, f.lines))" for c in upload.COLUMNS},
    "rail": "coalesce(f.rail, array_replace(packed_cells(f.packed_rail, f.results_separator, f.lines), '', "
    "NULL))",
    "fee": "coalesce(f.fee, array_replace(packed_cells(f.packed_fee, f.results_separator, f.lines), '', NULL)"
    "::bigint[])",
    "errors": "coalesce(f.errors, packed_cells(f.packed_errors, f.results_separator, f.lines))",
    **{c: f"coalesce(f.{c}, array_fill({value}, ARRAY[f.lines]))" for c, value in _STARTING.items()},
}


def _kept_cells(cells: pl.DataFrame, separator: str | None) -> tuple[str | None, list[str]]:
    """The rows' numbers and cells as kept: (the separator, one text per column of `_CELLS`)
    (`frames.packed_texts`; `separator` one the file's bytes lack, when known)."""
    texts = cells.select(pl.col("line").cast(pl.String).alias("row_no"), *upload.COLUMNS)
    try:
        return frames.packed_texts(texts, separator=separator)
    except frames.NoSeparator:
        raise upload.refuse_unkeepable() from None


async def _write_cells(
    conn: asyncpg.Connection, business_id: str, batch_id: str, count: int, kept: tuple[str | None, list[str]]
) -> None:
    """Write the batch's record with its rows' cells; every other column starts as on a fresh row."""
    separator, texts = kept
    await conn.execute(
        "INSERT INTO payout_batch_file (business_id, batch_id, lines, separator, "
        f"{', '.join(f'packed_{column}' for column in _CELLS)}) "
        f"VALUES ($1, $2, $3, $4, {', '.join(f'${5 + i}' for i in range(len(_CELLS)))})",
        business_id,
        batch_id,
        count,
        separator,
        *texts,
    )


async def _set_results(conn: asyncpg.Connection, business_id: str, batch_id: str, rows: pl.DataFrame) -> None:
    """Set the rails, fees and errors the rules gave the rows (`checked_rows`, in the record's order) in
    one statement, one text each; "" stands for a missing rail or fee."""
    texts = rows.select(pl.col("rail").fill_null(""), pl.col("fee").cast(pl.String).fill_null(""), "errors")
    separator, (rail, fee, errors) = frames.packed_texts(texts)
    await conn.execute(
        "UPDATE payout_batch_file SET results_separator = $3, packed_rail = $4, packed_fee = $5, "
        "packed_errors = $6 WHERE business_id = $1 AND batch_id = $2",
        business_id,
        batch_id,
        separator,
        rail,
        fee,
        errors,
    )


_ASSIGN = (
    "WITH p AS (SELECT array_agg(o.n::integer) AS at, array_agg(o.row_no) AS rows, {picked} "
    "FROM payout_batch_file f CROSS JOIN LATERAL unnest({arrays}) WITH ORDINALITY AS o({columns}, n) "
    "{source} WHERE f.business_id = $1 AND f.batch_id = $2 AND ({only})) "
    "UPDATE payout_batch_file f SET {sets} FROM p WHERE f.business_id = $1 AND f.batch_id = $2 "
    "AND p.at IS NOT NULL RETURNING p.rows"
)


async def _assign(
    business_id: str,
    batch_id: str,
    columns: dict[str, str],
    *,
    lines: list[int] | None = None,
    values: dict[str, tuple[str, list[Any]]] | None = None,
    only: str = "true",
) -> list[int]:
    """Set `columns` (column → SQL expression) on the batch's rows numbered `lines` (every row: None)
    that meet `only`, in one statement; returns the numbers of the rows set. The expressions and `only`
    read a row's current cells as `o.<column>` and the caller's `values` (name → (SQL type, one
    value per line)) as `c.<name>`. The record is locked first, so what is read is what is changed."""
    given = values or {}
    params: list[Any] = [business_id, batch_id]
    if lines is None:
        source = ""
    else:
        params.append(lines)
        params.extend(column_values for _type, column_values in given.values())
        unnested = ", ".join(
            ["$3::integer[]", *(f"${4 + i}::{t}[]" for i, (t, _v) in enumerate(given.values()))]
        )
        source = (
            f"JOIN unnest({unnested}) AS c(row_no{''.join(', ' + name for name in given)}) "
            "ON c.row_no = o.row_no"
        )
    picked = ", ".join(f"array_agg({expression}) AS v_{column}" for column, expression in columns.items())
    sets = ", ".join(
        f"{column} = array_assign({_CURRENT[column]}, p.at, p.v_{column})"
        + (f", packed_{column} = NULL" if column in _CELLS or column in _RESULTS else "")
        for column in columns
    )
    async with transaction():
        await sql.execute(
            "SELECT 1 FROM payout_batch_file WHERE business_id = $1 AND batch_id = $2 FOR UPDATE",
            business_id,
            batch_id,
        )
        done = await sql.fetchval(
            _ASSIGN.format(
                picked=picked,
                arrays=", ".join(_CURRENT[column] for column in _COLUMNS),
                columns=", ".join(_COLUMNS),
                source=source,
                only=only,
                sets=sets,
            ),
            *params,
        )
    return list(done or [])


# --- reading --------------------------------------------------------------------------------------


def _not_found(batch_id: str) -> NotFound:
    return NotFound(
        N_("Batch %(id)s was not found."),
        params={"id": batch_id[:40]},
        errors=[FieldError("/batch_id", N_("not found"))],
    )


async def _batch(actor: Actor, batch_id: str, *, lock: bool = False) -> asyncpg.Record:
    if not services.is_id(batch_id, "pob"):
        raise _not_found(batch_id)
    row = await sql.fetchrow(
        "SELECT * FROM payout_batch WHERE business_id = $1 AND id = $2" + (" FOR UPDATE" if lock else ""),
        actor.business_id,
        batch_id,
    )
    if row is None:
        raise _not_found(batch_id)
    try:
        await accounts.get_account_row(actor, row["account_id"])
    except NotFound:
        raise _not_found(batch_id) from None
    return row


async def find_batch(actor: Actor, batch_id: str) -> None:
    """NotFound unless the actor may see the batch."""
    await _batch(actor, batch_id)


async def batch_rows(
    actor: Actor, batch_id: str, *, limit: int = 500, offset: int = 0
) -> list[dict[str, Any]]:
    """The batch's rows (not deleted) with their errors and, once submitted, their payout's state."""
    actor.require("payouts", "view")
    await _batch(actor, batch_id)
    rows = await sql.fetch(
        "SELECT r.row_no, r.reference, r.amount, r.code, r.account_number, r.holder_name, r.description, "
        "r.email, r.rail, r.fee, r.errors, r.payout_id, p.status, p.bank_reference, p.failure_code, "
        "r.name_status, r.bank_holder_name, r.name_accepted_by_name "
        "FROM payout_batch_row r LEFT JOIN payout p ON p.business_id = r.business_id AND p.id = r.payout_id "
        "WHERE r.business_id = $1 AND r.batch_id = $2 AND NOT r.deleted ORDER BY r.row_no LIMIT $3 OFFSET $4",
        actor.business_id,
        batch_id,
        limit,
        offset,
    )
    out = []
    for r in rows:
        item = dict(r)
        item["errors"] = json.loads(r["errors"]) if isinstance(r["errors"], str) else r["errors"]
        out.append(item)
    return out


async def get_batch(actor: Actor, batch_id: str) -> BatchSummary:
    """The batch with its counts, totals (valid rows) and progress (payouts by state)."""
    actor.require("payouts", "view")
    batch = await _batch(actor, batch_id)
    totals = await sql.fetchrow(
        "SELECT count(*) AS rows, count(*) FILTER (WHERE errors <> '[]'::jsonb) AS invalid, "
        "coalesce(sum(CASE WHEN errors = '[]'::jsonb THEN amount::bigint END), 0) AS amount, "
        "coalesce(sum(CASE WHEN errors = '[]'::jsonb THEN fee END), 0) AS fee "
        "FROM payout_batch_row WHERE business_id = $1 AND batch_id = $2 AND NOT deleted",
        actor.business_id,
        batch_id,
    )
    assert totals is not None
    progress = {
        r["status"]: int(r["n"])
        for r in await sql.fetch(
            "SELECT status, count(*) AS n FROM payout WHERE business_id = $1 AND batch_id = $2 GROUP BY "
            "status",
            actor.business_id,
            batch_id,
        )
    }
    return BatchSummary(
        id=batch["id"],
        account_id=batch["account_id"],
        filename=batch["filename"],
        status=batch["status"],
        created_by_name=batch["created_by_name"],
        approved_by_name=batch["approved_by_name"],
        created_at=batch["created_at"],
        rows=int(totals["rows"]),
        invalid=int(totals["invalid"]),
        total_amount=int(totals["amount"]),
        total_fee=int(totals["fee"]),
        progress=progress,
    )


async def list_batches(actor: Actor, *, limit: int = 50) -> list[BatchSummary]:
    """The business's recent batches in scope, newest first."""
    actor.require("payouts", "view")
    rows = await sql.fetch(
        "SELECT id FROM payout_batch WHERE business_id = $1 ORDER BY id DESC LIMIT $2",
        actor.business_id,
        limit,
    )
    out = []
    for row in rows:
        try:
            out.append(await get_batch(actor, row["id"]))
        except NotFound:
            continue
    return out


def row_number(text: str) -> int:
    """A row number from a path (2 to 10,001), else NotFound."""
    if not text.isdigit() or not 2 <= int(text) <= upload.MAX_ROWS + 1:
        raise NotFound(N_("Row %(row)s was not found."), params={"row": text[:12]}, code="row_not_found")
    return int(text)


# --- fixing ---------------------------------------------------------------------------------------


def _draft(batch: asyncpg.Record) -> None:
    if batch["status"] != "draft":
        raise Conflict(
            N_("Batch %(id)s was already submitted; its rows can no longer change."),
            params={"id": batch["id"]},
            code="batch_not_draft",
        )


async def fix_row(actor: Actor, batch_id: str, row_no: int, fields: dict[str, str]) -> list[dict[str, Any]]:
    """Change a draft row's cells and validate it again (and the rows sharing its old or new reference);
    returns its errors (empty: the row is valid)."""
    actor.require("payouts", "manage")
    async with transaction():
        batch = await _batch(actor, batch_id, lock=True)
        _draft(batch)
        current = await sql.fetchrow(
            "SELECT * FROM payout_batch_row WHERE business_id = $1 AND batch_id = $2 AND row_no = $3 "
            "AND NOT deleted",
            actor.business_id,
            batch_id,
            row_no,
        )
        if current is None:
            raise NotFound(N_("Row %(row)s was not found."), params={"row": row_no}, code="row_not_found")
        cells = {c: str(fields.get(c, current[c]) or "").strip() for c in upload.COLUMNS}
        for column, value in cells.items():
            if len(value) > 200 or is_dangerous(value):
                raise ValidationFailed(
                    N_("Formulas and cells longer than 200 characters are not accepted."),
                    code="invalid_cell",
                    errors=[FieldError(f"/{column}", N_("not accepted"))],
                )
        # A new destination or name is checked again by the provider's name inquiry.
        typed = {
            **cells,
            "code": cells["code"].upper(),
            "holder_name": " ".join(cells["holder_name"].split()),
        }
        other = (
            "(o.code, o.account_number, o.holder_name) "
            "IS DISTINCT FROM (c.code, c.account_number, c.holder_name)"
        )
        moved = "(o.code, o.account_number) IS DISTINCT FROM (c.code, c.account_number)"
        await _assign(
            actor.business_id,
            batch_id,
            {
                **{column: f"c.{column}" for column in upload.COLUMNS},
                "name_status": f"CASE WHEN {other} THEN 'pending' ELSE o.name_status END",
                "bank_holder_name": f"CASE WHEN {moved} THEN NULL ELSE o.bank_holder_name END",
                **{
                    column: f"CASE WHEN {other} THEN NULL ELSE o.{column} END"
                    for column in ("name_accepted_at", "name_accepted_by", "name_accepted_by_name")
                },
            },
            lines=[row_no],
            values={column: ("text", [typed[column]]) for column in upload.COLUMNS},
        )
        errors = await _revalidate(actor, batch_id, {current["reference"], cells["reference"]}, row_no)
        await _queue_name_inquiries(actor.business_id, batch_id)
    return errors


async def _revalidate(actor: Actor, batch_id: str, references: set[str], row_no: int) -> list[dict[str, Any]]:
    """Validate again the rows with these references (duplicates change together) by the upload's rules
    (`checked_rows`); the errors of `row_no`."""
    async with sql.connection() as conn:
        stored = await conn.fetch(
            "SELECT row_no, reference, amount, code, account_number, holder_name, description, email "
            "FROM payout_batch_row WHERE business_id = $1 AND batch_id = $2 AND NOT deleted "
            "AND (reference = ANY($3::text[]) OR row_no = $4)",
            actor.business_id,
            batch_id,
            list(references),
            row_no,
        )
        frame = pl.DataFrame(
            [tuple(r) for r in stored],
            schema={"line": pl.Int64, **dict.fromkeys(upload.COLUMNS, pl.String)},
            orient="row",
        )
        rows = await checked_rows(conn, actor.business_id, frame, await _bands(actor.business_id))
    await _assign(
        actor.business_id,
        batch_id,
        {column: f"c.{column}" for column in ("account_number", "rail", "fee", "errors")},
        lines=rows["line"].to_list(),
        values={
            column: (sql_type, rows[column].to_list())
            for column, sql_type in (
                ("account_number", "text"),
                ("rail", "text"),
                ("fee", "bigint"),
                ("errors", "text"),
            )
        },
    )
    mine = rows.filter(pl.col("line") == row_no)["errors"]
    return list(json.loads(mine.item())) if mine.len() else []


async def delete_row(actor: Actor, batch_id: str, row_no: int) -> None:
    """Leave a row of a draft batch out."""
    actor.require("payouts", "manage")
    async with transaction():
        _draft(await _batch(actor, batch_id, lock=True))
        reference = await sql.fetchval(
            "SELECT reference FROM payout_batch_row WHERE business_id = $1 AND batch_id = $2 AND row_no = $3",
            actor.business_id,
            batch_id,
            row_no,
        )
        await _assign(actor.business_id, batch_id, {"deleted": "true"}, lines=[row_no])
        if reference is not None:  # a duplicate left alone is no longer one
            await _revalidate(actor, batch_id, {reference}, row_no)


# --- name inquiry ---------------------------------------------------------------------------------

# Name inquiries in flight at once for a batch: the provider answers each in its own call.
INQUIRY_CONCURRENCY = 16
# Runs of the inquiry job before a row the provider cannot answer is marked unavailable, and the wait
# before the second run (doubled for each later one).
INQUIRY_ATTEMPTS = 4
INQUIRY_RETRY_S = 10
# Rows the provider's answer holds back from approval: a name that differs, or an account the provider
# could not be asked about (until an approver accepts the name for that row), an account the bank does
# not know or has closed.
_BLOCKING = ("mismatch", "not_found", "closed", "unavailable")
_ACCEPTABLE = ("mismatch", "unavailable")


@dataclass(frozen=True)
class NameCheck:
    """What one run of the name inquiry did: rows answered, rows the provider could not answer (still
    pending, for the next run) and rows marked unavailable (the last run gave up on them)."""

    answered: int
    unanswered: int
    unavailable: int


async def _queue_name_inquiries(
    business_id: str, batch_id: str, *, attempt: int = 1, delay: timedelta | None = None
) -> None:
    # No dedupe key: a second run for the batch finds no pending row and asks nothing.
    payload: dict[str, Any] = {"business_id": business_id, "batch_id": batch_id}
    if attempt > 1:
        payload["attempt"] = attempt
    await enqueue("payouts.inquire_batch", payload, delay=delay)


async def run_name_inquiry_job(business_id: str, batch_id: str, attempt: int = 1) -> NameCheck:
    """The `payouts.inquire_batch` job: one run of `inquire_names`; rows the provider could not answer
    are asked again by a later run (after 10 s, 20 s, 40 s) and marked unavailable by the last one."""
    last = attempt >= INQUIRY_ATTEMPTS
    check = await inquire_names(business_id, batch_id, give_up=last)
    if check.unanswered and not last:
        async with transaction():
            await _queue_name_inquiries(
                business_id,
                batch_id,
                attempt=attempt + 1,
                delay=timedelta(seconds=INQUIRY_RETRY_S * 2 ** (attempt - 1)),
            )
    return check


async def inquire_names(
    business_id: str, batch_id: str, *, concurrency: int = INQUIRY_CONCURRENCY, give_up: bool = False
) -> NameCheck:
    """Check every pending row's account by the provider's name inquiry (at most `concurrency` calls in
    flight, outside any transaction), then store each answer: the holder name the bank returns and
    matched | mismatch (compared as for a beneficiary) | not_found | closed. A row changed meanwhile
    keeps its pending state (its answer is for the old account). Rows whose code or number is invalid are
    left pending (nothing to ask). A row the provider could not answer (after the gateway's own retries)
    stays pending for the next run, or with `give_up` is marked unavailable."""
    rows = await sql.fetch(
        "SELECT row_no, code, account_number, holder_name FROM payout_batch_row WHERE business_id = $1 "
        "AND batch_id = $2 AND NOT deleted AND name_status = 'pending' AND NOT errors @> "
        """'[{"column": "code"}]' AND NOT errors @> '[{"column": "account_number"}]' ORDER BY row_no""",
        business_id,
        batch_id,
    )
    gate = asyncio.Semaphore(max(1, concurrency))
    answers: list[tuple[asyncpg.Record, str, str | None]] = []
    unanswered: list[asyncpg.Record] = []

    async def ask(row: asyncpg.Record) -> None:
        wallet = row["code"] in WALLETS
        number = row["account_number"].replace(" ", "").replace("-", "")
        inquiry = (
            NameInquiry(kind="ewallet", wallet=row["code"], phone=number)
            if wallet
            else NameInquiry(kind="bank", bank_code=row["code"], account_number=number)
        )
        async with gate:
            try:
                answer = await gateway.provider().name_inquiry(business_id, inquiry)
            except NeracaError as exc:
                log.warning("name inquiry failed", batch_id=batch_id, row=row["row_no"], code=exc.code)
                unanswered.append(row)
                return
        if answer.status == "found" and answer.holder_name:
            holder = answer.holder_name.strip()[:100]
            same = services.normal_name(holder) == services.normal_name(row["holder_name"])
            answers.append((row, "matched" if same else "mismatch", holder))
        else:
            answers.append((row, "closed" if answer.status != "not_found" else "not_found", None))

    await asyncio.gather(*(ask(row) for row in rows))
    if give_up:
        answers.extend((row, "unavailable", None) for row in unanswered)
    if not answers:
        return NameCheck(0, len(unanswered), 0)
    # A row changed since it was read keeps its pending state (its answer is for the old account).
    stored = await _assign(
        business_id,
        batch_id,
        {"name_status": "c.status", "bank_holder_name": "c.holder"},
        lines=[row["row_no"] for row, _status, _holder in answers],
        values={
            "code": ("text", [row["code"] for row, _status, _holder in answers]),
            "account_number": ("text", [row["account_number"] for row, _status, _holder in answers]),
            "typed": ("text", [row["holder_name"] for row, _status, _holder in answers]),
            "status": ("text", [status for _row, status, _holder in answers]),
            "holder": ("text", [holder for _row, _status, holder in answers]),
        },
        only="o.name_status = 'pending' AND o.code = c.code "
        "AND o.account_number = c.account_number AND o.holder_name = c.typed",
    )
    status_of = {row["row_no"]: status for row, status, _holder in answers}
    unavailable = sum(1 for line in stored if status_of[line] == "unavailable")
    return NameCheck(len(stored) - unavailable, 0 if give_up else len(unanswered), unavailable)


async def check_names_again(actor: Actor, batch_id: str) -> int:
    """Ask the provider again for the rows it could not answer (unavailable and not accepted), and for
    rows whose check never ran (pending, or uploaded before the check existed): they become pending and
    the inquiry job is queued. In the activity log; returns how many rows will be checked."""
    actor.require("payouts", "manage")
    async with transaction():
        batch = await _batch(actor, batch_id, lock=True)
        if batch["status"] not in ("draft", "submitted"):
            raise _not_submitted(batch)
        count = len(
            await _assign(
                actor.business_id,
                batch_id,
                {"name_status": "'pending'::text", "bank_holder_name": "NULL::text"},
                only="NOT o.deleted AND (o.name_status IS NULL OR o.name_status = 'pending' "
                "OR (o.name_status = 'unavailable' AND o.name_accepted_at IS NULL))",
            )
        )
        if not count:
            raise Conflict(
                N_("Every row's name has been checked by the bank."),
                code="no_names_to_check",
            )
        await _queue_name_inquiries(actor.business_id, batch_id)
        await audit(
            actor,
            "payout_batch.names_rechecked",
            f"Batch {batch['filename']}: the bank's names asked again for {count} rows",
            {"payout_batch_id": batch_id, "account_id": batch["account_id"]},
        )
    return int(count)


async def accept_name(actor: Actor, batch_id: str, row_no: int) -> None:
    """An approver (not the batch's maker) accepts a row's name: the bank's holder name where the typed
    name differs, or the typed name where the provider could not be asked (unavailable). The row no
    longer holds the batch's approval back. In the activity log."""
    lifecycle.require_checker(actor, (await _batch(actor, batch_id))["created_by"])
    async with transaction():
        batch = await _batch(actor, batch_id, lock=True)
        if batch["status"] not in ("draft", "submitted"):
            raise _not_submitted(batch)
        accepted = await _assign(
            actor.business_id,
            batch_id,
            {"name_accepted_by": "c.by", "name_accepted_by_name": "c.by_name", "name_accepted_at": "now()"},
            lines=[row_no],
            values={"by": ("text", [actor.user_id]), "by_name": ("text", [actor.name])},
            only="NOT o.deleted AND o.name_status IN ("
            + ", ".join(f"'{status}'" for status in _ACCEPTABLE)
            + ") AND o.name_accepted_at IS NULL",
        )
        row = await sql.fetchrow(
            "SELECT reference, holder_name, bank_holder_name, name_status FROM payout_batch_row "
            "WHERE business_id = $1 AND batch_id = $2 AND row_no = $3",
            actor.business_id,
            batch_id,
            row_no,
        )
        if not accepted or row is None:
            raise Conflict(
                N_("Row %(row)s has no holder name to accept."),
                params={"row": row_no},
                code="no_name_mismatch",
            )
        if row["name_status"] == "unavailable":
            summary = (
                f"Batch {batch['filename']} row {row_no} ({row['reference']}): the bank could not be asked; "
                f"the typed holder name {row['holder_name']} accepted unchecked"
            )
        else:
            summary = (
                f"Batch {batch['filename']} row {row_no} ({row['reference']}): the bank's holder name "
                f"{row['bank_holder_name']} accepted for {row['holder_name']}"
            )
        await audit(
            actor,
            "payout_batch.name_accepted",
            summary,
            {"payout_batch_id": batch_id, "account_id": batch["account_id"]},
        )


async def _refuse_unchecked_names(actor: Actor, batch_id: str) -> None:
    unchecked = await sql.fetch(
        "SELECT row_no FROM payout_batch_row WHERE business_id = $1 AND batch_id = $2 AND NOT deleted "
        "AND (name_status IS NULL OR name_status = 'pending') ORDER BY row_no",
        actor.business_id,
        batch_id,
    )
    if unchecked:
        raise ValidationFailed(
            N_("The bank's holder names are still being checked on %(count)s rows: try again in a moment."),
            params={"count": len(unchecked)},
            code="batch_names_unchecked",
            errors=[
                FieldError(f"/rows/{r['row_no']}/holder_name", N_("still being checked at the bank"))
                for r in unchecked
            ],
        )


async def _refuse_unaccepted_names(actor: Actor, batch_id: str) -> None:
    blocked = await sql.fetch(
        "SELECT row_no, name_status FROM payout_batch_row WHERE business_id = $1 AND batch_id = $2 "
        "AND NOT deleted AND name_status = ANY($3::text[]) AND name_accepted_at IS NULL ORDER BY row_no",
        actor.business_id,
        batch_id,
        list(_BLOCKING),
    )
    if blocked:
        raise ValidationFailed(
            N_(
                "The bank's holder name differs, the account is unknown or closed, or the bank could not "
                "be asked, on %(count)s rows: accept the name on each such row, check again, or reject "
                "the batch."
            ),
            params={"count": len(blocked)},
            code="batch_names_unaccepted",
            errors=[
                FieldError(f"/rows/{r['row_no']}/holder_name", _NAME_STATUS_ERRORS[r["name_status"]])
                for r in blocked
            ],
        )


_NAME_STATUS_ERRORS = {
    "mismatch": N_("differs from the holder's name at the bank"),
    "not_found": N_("account not found"),
    "closed": N_("account closed"),
    "unavailable": N_("the bank could not be asked: check again, or accept the name"),
}


# --- submission and decision ----------------------------------------------------------------------


async def submit_batch(actor: Actor, batch_id: str) -> BatchSummary:
    """Turn every row into a payout awaiting approval, each with amount + fee held, in one transaction:
    refused while a row is invalid, or (by the ledger) when the account cannot cover them all."""
    actor.require("payouts", "manage")
    async with transaction():
        batch = await _batch(actor, batch_id, lock=True)
        _draft(batch)
        rows = await sql.fetch(
            "SELECT * FROM payout_batch_row WHERE business_id = $1 AND batch_id = $2 AND NOT deleted "
            "ORDER BY row_no",
            actor.business_id,
            batch_id,
        )
        invalid = [r["row_no"] for r in rows if _errors(r)]
        if invalid or not rows:
            raise ValidationFailed(
                N_("Fix or delete the rows with errors first (%(count)s left)."),
                params={"count": len(invalid)},
                code="batch_has_invalid_rows" if rows else "batch_empty",
            )
        rails = {r.code: r for r in await services.load_rails(actor.business_id)}
        account = await accounts.get_account_row(actor, batch["account_id"])
        payout_ids = await lifecycle.insert_batch_payouts(
            actor,
            account_id=account.id,
            currency=account.currency,
            batch_id=batch_id,
            rows=[
                {
                    "reference": row["reference"],
                    "amount": int(row["amount"].replace(".", "").replace(",", "")),
                    "fee": int(row["fee"]),
                    "rail": rails[row["rail"]],
                    "description": row["description"],
                    "destination": {
                        "destination_kind": "ewallet" if row["code"] in WALLETS else "bank",
                        "bank_code": None if row["code"] in WALLETS else row["code"],
                        "wallet": row["code"] if row["code"] in WALLETS else None,
                        "account_number": row["account_number"].replace(" ", "").replace("-", ""),
                        "holder_name": row["holder_name"],
                    },
                }
                for row in rows
            ],
        )
        await _assign(
            actor.business_id,
            batch_id,
            {"payout_id": "c.payout_id"},
            lines=[row["row_no"] for row in rows],
            values={"payout_id": ("text", payout_ids)},
        )
        await sql.execute(
            "UPDATE payout_batch SET status = 'submitted', submitted_at = now() WHERE business_id = $1 AND "
            "id = $2",
            actor.business_id,
            batch_id,
        )
        await audit(
            actor,
            "payout_batch.submitted",
            f"Batch {batch['filename']} submitted for approval: {len(rows)} payouts",
            {"payout_batch_id": batch_id, "account_id": account.id},
        )
    return await get_batch(actor, batch_id)


async def approve_batch(actor: Actor, batch_id: str, code: Any) -> BatchSummary:
    """Approve a submitted batch (another user than its maker, with their authenticator code): every
    payout of it is scheduled and sent when its rail is open."""
    batch = await _batch(actor, batch_id)
    lifecycle.require_checker(actor, batch["created_by"])
    async with transaction():
        batch = await _batch(actor, batch_id, lock=True)
        if batch["status"] != "submitted":
            raise _not_submitted(batch)
        await _refuse_unchecked_names(actor, batch_id)
        await _refuse_unaccepted_names(actor, batch_id)
        await lifecycle.use_approval_code(actor, code)
        scheduled = await lifecycle.schedule_batch_approved(actor, batch_id)
        await sql.execute(
            "UPDATE payout_batch SET status = 'approved', approved_by = $3, approved_by_name = $4, "
            "decided_at = now() WHERE business_id = $1 AND id = $2",
            actor.business_id,
            batch_id,
            actor.user_id,
            actor.name,
        )
        await audit(
            actor,
            "payout_batch.approved",
            f"Batch {batch['filename']} approved: {scheduled} payouts",
            {"payout_batch_id": batch_id, "account_id": batch["account_id"]},
        )
    return await get_batch(actor, batch_id)


async def reject_batch(actor: Actor, batch_id: str, reason: Any) -> BatchSummary:
    """Reject a submitted batch: every payout of it is rejected and its holds voided."""
    actor.require("approvals", "manage")
    text = services.optional_text(reason, "/reason", 500)
    if not text:
        raise ValidationFailed(
            N_("Give a reason (at most 500 characters)."),
            code="reason_required",
            errors=[FieldError("/reason", N_("required"))],
        )
    async with transaction():
        batch = await _batch(actor, batch_id, lock=True)
        if batch["status"] != "submitted":
            raise _not_submitted(batch)
        ids = await sql.fetch(
            "SELECT id FROM payout WHERE business_id = $1 AND batch_id = $2 AND status = 'awaiting_approval'",
            actor.business_id,
            batch_id,
        )
        for row in ids:
            await lifecycle.reject_payout(actor, row["id"], text)
        await sql.execute(
            "UPDATE payout_batch SET status = 'rejected', decided_at = now() WHERE business_id = $1 AND id "
            "= $2",
            actor.business_id,
            batch_id,
        )
        await audit(
            actor,
            "payout_batch.rejected",
            f"Batch {batch['filename']} rejected: {text}",
            {"payout_batch_id": batch_id, "account_id": batch["account_id"]},
        )
    return await get_batch(actor, batch_id)


def _errors(row: asyncpg.Record) -> list[Any]:
    value = row["errors"]
    return list(json.loads(value) if isinstance(value, str) else value)


def _not_submitted(batch: asyncpg.Record) -> Conflict:
    return Conflict(
        N_("Batch %(id)s is %(status)s, not awaiting approval."),
        params={"id": batch["id"], "status": batch["status"]},
        code="batch_not_awaiting_approval",
    )


async def batches_awaiting(actor: Actor) -> list[BatchSummary]:
    """Submitted batches in scope (the approvals queue)."""
    rows = await sql.fetch(
        "SELECT id FROM payout_batch WHERE business_id = $1 AND status = 'submitted' ORDER BY id",
        actor.business_id,
    )
    out = []
    for row in rows:
        try:
            out.append(await get_batch(actor, row["id"]))
        except NotFound:
            continue
    return out


async def export_batch(actor: Actor, batch_id: str) -> tuple[str, str]:
    """(file name, CSV) of the batch's rows with their results (formula-escaped text)."""
    from portal.lib.spreadsheet import escape_text

    batch = await _batch(actor, batch_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            *upload.COLUMNS,
            "row",
            "rail",
            "fee",
            "errors",
            "payout_id",
            "status",
            "bank_reference",
            "failure_code",
        ]
    )
    for r in await batch_rows(actor, batch_id, limit=upload.MAX_ROWS):
        writer.writerow(
            [escape_text(str(r[c])) for c in upload.COLUMNS]
            + [
                r["row_no"],
                r["rail"] or "",
                r["fee"] if r["fee"] is not None else "",
                "; ".join(f"{e['column']}: {e['message']}" for e in r["errors"]),
                r["payout_id"] or "",
                r["status"] or "",
                escape_text(r["bank_reference"]),
                r["failure_code"] or "",
            ]
        )
    return f"{batch['filename'].rsplit('.', 1)[0]}-results.csv", out.getvalue()


def _row_error(error: dict[str, Any]) -> BatchRowError:
    from portal.lib.i18n import gettext

    msgid = str(error["message"])
    return BatchRowError(str(error["column"]), gettext(msgid))


def batch_out(summary: BatchSummary) -> BatchOut:
    return BatchOut(
        id=summary.id,
        account_id=summary.account_id,
        filename=summary.filename,
        status=summary.status,
        rows=summary.rows,
        invalid=summary.invalid,
        total_amount=summary.total_amount,
        total_fee=summary.total_fee,
        progress=summary.progress,
        created_by_name=summary.created_by_name,
        approved_by_name=summary.approved_by_name,
        created_at=summary.created_at,
    )


async def batch_detail(actor: Actor, batch_id: str) -> BatchDetail:
    """The batch and its rows, translated messages included (the API's shape)."""
    summary = await get_batch(actor, batch_id)
    rows = await batch_rows(actor, batch_id, limit=upload.MAX_ROWS)
    return BatchDetail(
        batch=batch_out(summary),
        data=[
            BatchRowOut(
                row=r["row_no"],
                reference=r["reference"],
                amount=r["amount"],
                code=r["code"],
                account_number=r["account_number"],
                holder_name=r["holder_name"],
                description=r["description"],
                email=r["email"],
                rail=r["rail"],
                fee=r["fee"],
                errors=[_row_error(e) for e in r["errors"]],
                payout_id=r["payout_id"],
                status=r["status"],
                bank_reference=r["bank_reference"],
                failure_code=r["failure_code"],
                name_status=r["name_status"],
                bank_holder_name=r["bank_holder_name"],
                name_accepted_by_name=r["name_accepted_by_name"],
            )
            for r in rows
        ],
    )
