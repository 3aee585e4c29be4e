"""Account statements: computation, streaming exports, background exports, schedules.

A statement covers whole WIB calendar days `start`..`end` (both inclusive) of one account or of a
subtree roll-up (the root and every descendant in the root's currency; each line names its account).
Its entries are the posted sides of transfers booked in the period, in `(seq, side)` order (see
`sql.py`); pending holds are not entries (they do not move the booked balance) until they are posted.

    opening  = posted balance at 00:00 WIB of `start`
    closing  = opening + credits - debits = posted balance at 00:00 WIB of the day after `end`

All figures of one statement are read in one REPEATABLE READ, READ ONLY transaction (one snapshot), and
the entries are streamed from a server-side cursor in batches, so a 1,000,000-entry statement is never
held in memory. Generation time is passed in (`generated_at`): it is the only field that differs when
the same period is produced again.

The format writers (`formats/`) are synchronous and consume an iterable of lines; `_LineFeed` runs a
writer in a worker thread and hands it batches fetched on the event loop, one batch ahead.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from portal.db import replica
from portal.domains.accounts import services as accounts
from portal.domains.accounts.services import AccountRow
from portal.domains.reports import rollup
from portal.domains.reports import sql as q
from portal.domains.reports.formats import (
    EXPORT_FORMATS,
    PDF_MAX_LINES,
    XLSX_MAX_LINES,
    StatementHeader,
    StatementLine,
    StatementMismatch,
    iter_statement_camt053,
    iter_statement_csv,
    iter_statement_mt940,
    write_statement_pdf,
    write_statement_xlsx,
)
from portal.domains.reports.formats.csv_format import csv_epilogue, csv_prologue
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, NotFound, ValidationFailed
from portal.lib.i18n import gettext
from portal.lib.sql import transaction
from portal.lib.timefmt import WIB
from portal.settings import get_settings

log = structlog.get_logger("neraca.reports")

FILE_FORMATS: tuple[str, ...] = tuple(EXPORT_FORMATS)  # csv, xlsx, pdf, mt940, camt053
STATEMENT_FORMATS: tuple[str, ...] = ("json", *FILE_FORMATS)
STREAMING_FORMATS = frozenset(name for name, spec in EXPORT_FORMATS.items() if spec.streams)
# File formats other than CSV cover at most this many days (CSV and JSON have no limit).
MAX_FILE_DAYS = 366
# Entries fetched from the server-side cursor per round trip.
FETCH_BATCH = 5_000
# A streamed download yields chunks of at least this size (the first chunk goes out at once).
CHUNK_BYTES = 256 * 1024
# The portal downloads at once up to these entry counts; above them the export runs as a job.
IMMEDIATE_LIMITS: dict[str, int] = {
    "csv": 50_000,
    "mt940": 50_000,
    "camt053": 50_000,
    "xlsx": 20_000,
    "pdf": 500,
}
PAGE_DEFAULT = 50
PAGE_MAX = 100


# --- periods --------------------------------------------------------------------------------------


def today_wib() -> date:
    return clock.now().astimezone(WIB).date()


def wib_midnight(day: date) -> datetime:
    """00:00 WIB of `day` as an aware datetime (UTC)."""
    return datetime.combine(day, time.min, tzinfo=WIB).astimezone(UTC)


def period_bounds(kind: str, anchor: date) -> tuple[date, date]:
    """The day, ISO week (Monday–Sunday) or calendar month containing `anchor`."""
    if kind == "day":
        return anchor, anchor
    if kind == "week":
        monday = anchor - timedelta(days=anchor.isoweekday() - 1)
        return monday, monday + timedelta(days=6)
    if kind == "month":
        first = anchor.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following - timedelta(days=1)
    raise ValueError(f"unknown period kind {kind!r}")


def _parse_day(value: date | str | None, pointer: str, label: str, errors: list[FieldError]) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        errors.append(
            FieldError(pointer, gettext("Enter the %(label)s date.") % {"label": label}, "required")
        )
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(
            FieldError(
                pointer, gettext("%(value)r is not a date like 2026-11-30.") % {"value": text[:40]}, "invalid"
            )
        )
        return None


def validate_period(
    start: date | str | None, end: date | str | None, fmt: str, *, today: date | None = None
) -> tuple[date, date]:
    """The period as dates, or ValidationFailed with one specific message and a field pointer."""
    errors: list[FieldError] = []
    first = _parse_day(start, "/start", gettext("start"), errors)
    last = _parse_day(end, "/end", gettext("end"), errors)
    if errors or first is None or last is None:
        raise ValidationFailed(errors[0].detail, code="invalid_period", errors=errors)
    today = today or today_wib()
    if first > last:
        raise ValidationFailed(
            gettext("The period starts (%(start)s) after it ends (%(end)s).") % {"start": first, "end": last},
            code="invalid_period",
            errors=[FieldError("/start", gettext("must be on or before the end date"), "after_end")],
        )
    if first > today or last > today:
        pointer = "/start" if first > today else "/end"
        raise ValidationFailed(
            gettext("The period reaches into the future: today is %(today)s (WIB).") % {"today": today},
            code="period_in_future",
            errors=[
                FieldError(
                    pointer, gettext("must not be after today (%(today)s)") % {"today": today}, "future"
                )
            ],
        )
    days = (last - first).days + 1
    if fmt in FILE_FORMATS and fmt != "csv" and days > MAX_FILE_DAYS:
        raise ValidationFailed(
            gettext(
                "A %(format)s statement covers at most %(max)d days; this period has %(days)d. "
                "Use CSV or a shorter period."
            )
            % {"format": fmt.upper(), "max": MAX_FILE_DAYS, "days": days},
            code="period_too_long",
            errors=[
                FieldError(
                    "/end",
                    gettext("at most %(max)d days after the start") % {"max": MAX_FILE_DAYS},
                    "too_long",
                )
            ],
        )
    return first, last


def validate_format(fmt: str | None, allowed: tuple[str, ...] = STATEMENT_FORMATS) -> str:
    value = (fmt or "json").strip().lower()
    if value not in allowed:
        raise ValidationFailed(
            gettext("Unknown format %(format)r; use one of %(formats)s.")
            % {"format": (fmt or "")[:20], "formats": ", ".join(allowed)},
            code="unknown_format",
            errors=[
                FieldError(
                    "/format", gettext("one of %(formats)s") % {"formats": ", ".join(allowed)}, "invalid"
                )
            ],
        )
    return value


# --- what a statement is about ---------------------------------------------------------------------


@dataclass(frozen=True)
class StatementRequest:
    """A validated statement request: the root account, the accounts it covers, the period."""

    business_id: str
    business_name: str
    account: AccountRow
    account_ids: tuple[str, ...]
    names: dict[str, str]
    start: date
    end: date
    include_descendants: bool
    # sub-accounts left out of a roll-up because they hold another currency
    other_currency_accounts: int = 0

    @property
    def currency(self) -> str:
        return self.account.currency

    @property
    def start_at(self) -> datetime:
        return wib_midnight(self.start)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (00:00 WIB of the day after `end`)."""
        return wib_midnight(self.end + timedelta(days=1))

    def identity(self) -> str:
        return f"{self.account.id}|{self.start}|{self.end}|{int(self.include_descendants)}"


async def _business_name(business_id: str) -> str:
    from portal.domains.identity.services import get_business

    try:
        return (await get_business(business_id)).name
    except NotFound:
        return business_id


async def resolve(
    actor: Actor,
    account_id: str,
    *,
    start: date | str | None,
    end: date | str | None,
    include_descendants: bool = False,
    fmt: str = "json",
) -> StatementRequest:
    """Check rights, scope (404 outside it), format and period; nothing is started."""
    actor.require("reports", "view")
    fmt = validate_format(fmt)
    account = await accounts.get_account_row(actor, account_id, pointer="/account_id")
    first, last = validate_period(start, end, fmt)
    names = {account.id: account.name}
    ids = [account.id]
    other = 0
    if include_descendants:
        for row in await sql.fetch(q.SUBTREE_ACCOUNTS, actor.business_id, f"{account.path}%"):
            if row["id"] == account.id:
                continue
            if row["currency"] != account.currency:
                other += 1
                continue
            ids.append(row["id"])
            names[row["id"]] = row["name"]
    return StatementRequest(
        business_id=actor.business_id,
        business_name=await _business_name(actor.business_id),
        account=account,
        account_ids=tuple(ids),
        names=names,
        start=first,
        end=last,
        include_descendants=include_descendants,
        other_currency_accounts=other,
    )


# --- one snapshot ---------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The statement's header and its entries, read in one REPEATABLE READ transaction."""

    request: StatementRequest
    header: StatementHeader
    conn: asyncpg.Connection
    names: dict[str, str] = field(default_factory=dict)

    async def _names_for(self, ids: set[str]) -> None:
        missing = [i for i in ids if i not in self.names]
        if missing:
            for row in await self.conn.fetch(q.ACCOUNT_NAMES, missing):
                self.names[row["id"]] = row["name"]

    async def to_lines(self, rows: list[asyncpg.Record], balance: int) -> tuple[list[StatementLine], int]:
        """Records → StatementLines with running balances, starting from `balance`."""
        await self._names_for({r["counterpart_id"] for r in rows})
        names = self.names
        lines = []
        for r in rows:
            amount = r["amount"]
            if r["side"] == 0:
                debit, credit = amount, 0
                balance -= amount
            else:
                debit, credit = 0, amount
                balance += amount
            lines.append(
                StatementLine(
                    booked_at=r["created_at"],
                    transaction_id=r["id"],
                    reference=r["reference"] or "",
                    description=r["description"] or "",
                    account_id=r["account_id"],
                    account_name=names.get(r["account_id"], ""),
                    counterpart_account_id=r["counterpart_id"],
                    counterpart_name=names.get(r["counterpart_id"], ""),
                    debit=debit,
                    credit=credit,
                    running_balance=balance,
                    kind=r["kind"],
                )
            )
        return lines, balance

    async def batches(self, size: int = FETCH_BATCH) -> AsyncIterator[list[StatementLine]]:
        """Every entry of the period, in order, `size` at a time, from a server-side cursor; the next
        batch is fetched while the caller works on the current one."""
        r = self.request
        cursor = await self.conn.cursor(q.entries_query(), list(r.account_ids), r.start_at, r.end_at)
        balance = self.header.opening_balance
        pending: asyncio.Future[list[asyncpg.Record]] | None = asyncio.ensure_future(cursor.fetch(size))
        try:
            while pending is not None:
                rows = await pending
                pending = asyncio.ensure_future(cursor.fetch(size)) if len(rows) == size else None
                if not rows:
                    break
                lines, balance = await self._lines_after(rows, balance, pending)
                yield lines
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending

    async def _lines_after(
        self, rows: list[asyncpg.Record], balance: int, pending: asyncio.Future[Any] | None
    ) -> tuple[list[StatementLine], int]:
        # Names of new counterparts need the connection, which the prefetch is using: wait for it.
        if pending is not None and any(r["counterpart_id"] not in self.names for r in rows):
            await asyncio.wait([pending])
        return await self.to_lines(rows, balance)


@dataclass(frozen=True)
class PeriodTotals:
    """Posted balance now, the period's count and totals, the net movement after the period, and the
    rollup watermark they were read with."""

    posted_now: int
    entries: int
    debits: int
    credits: int
    after_net: int
    complete_before: date | None


async def _period_totals(conn: asyncpg.Connection, r: StatementRequest) -> PeriodTotals:
    """The figures behind the header, in the caller's snapshot: closed days from the rollup
    (`statement_day_total`, at most one row per account and day), the days after the watermark from a
    scan of the transfers. Equal to a scan of every transfer from the period start (see rollup.py)."""
    ids = list(r.account_ids)
    posted_now = int(await conn.fetchval(q.POSTED_NOW, ids))
    rolled = await conn.fetchrow(q.ROLLED_UP_FROM_START, ids, r.start, r.end + timedelta(days=1))
    assert rolled is not None
    complete_before: date | None = rolled["complete_before"]
    scan_from = r.start_at
    if complete_before is not None:
        scan_from = max(scan_from, wib_midnight(complete_before))
    row = await conn.fetchrow(q.TOTALS_FROM_START, ids, scan_from, r.end_at)
    assert row is not None
    return PeriodTotals(
        posted_now=posted_now,
        entries=int(rolled["entries"]) + int(row["entries"]),
        debits=int(rolled["debits"]) + int(row["debits"]),
        credits=int(rolled["credits"]) + int(row["credits"]),
        after_net=int(rolled["after_net"]) + int(row["after_net"]),
        complete_before=complete_before,
    )


async def scanned_period_totals(conn: asyncpg.Connection, r: StatementRequest) -> PeriodTotals:
    """The same figures from the transfers alone (no rollup): the reference the rollup is tested against."""
    ids = list(r.account_ids)
    posted_now = int(await conn.fetchval(q.POSTED_NOW, ids))
    row = await conn.fetchrow(q.TOTALS_FROM_START, ids, r.start_at, r.end_at)
    assert row is not None
    return PeriodTotals(
        posted_now, int(row["entries"]), int(row["debits"]), int(row["credits"]), int(row["after_net"]), None
    )


async def _compute_header(
    conn: asyncpg.Connection, r: StatementRequest, generated_at: datetime
) -> tuple[StatementHeader, date | None]:
    totals = await _period_totals(conn, r)
    entries, debits, credits = totals.entries, totals.debits, totals.credits
    opening = totals.posted_now - totals.after_net - (credits - debits)
    header = StatementHeader(
        business_name=r.business_name,
        account_id=r.account.id,
        account_name=r.account.name,
        account_number="",
        currency=r.currency,
        period_start=r.start,
        period_end=r.end,
        opening_balance=opening,
        closing_balance=opening + credits - debits,
        total_debits=debits,
        total_credits=credits,
        entry_count=entries,
        generated_at=generated_at,
        include_descendants=r.include_descendants,
    )
    return header, totals.complete_before


@contextlib.asynccontextmanager
async def snapshot(r: StatementRequest, generated_at: datetime) -> AsyncIterator[Snapshot]:
    """Open the statement's read-only snapshot on a connection of its own (kept until the block ends):
    the streaming replica when one is configured and has replayed everything committed so far."""
    seen: list[date | None] = []
    async with (
        replica.read_connection() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        header, complete_before = await _compute_header(conn, r, generated_at)
        seen.append(complete_before)
        yield Snapshot(r, header, conn, dict(r.names))
    if seen:
        # A rollup far behind (or never run) makes statements scan more: make sure its job is queued.
        await rollup.kick_if_behind(seen[0])


async def statement_header(r: StatementRequest, generated_at: datetime | None = None) -> StatementHeader:
    async with snapshot(r, generated_at or clock.now()) as snap:
        return snap.header


# --- JSON / HTML pages ------------------------------------------------------------------------------


def _cursor_key() -> bytes:
    return hashlib.sha256(b"statement-cursor|" + get_settings().secret_key.encode()).digest()


def encode_page_cursor(r: StatementRequest, seq: int, side: int, balance: int) -> str:
    body = json.dumps([seq, side, balance, r.identity()], separators=(",", ":")).encode()
    mac = hmac.new(_cursor_key(), body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + mac).decode().rstrip("=")


def decode_page_cursor(r: StatementRequest, cursor: str) -> tuple[int, int, int]:
    bad = ValidationFailed(
        gettext("The cursor is not valid for this statement."),
        code="invalid_cursor",
        errors=[FieldError("/after", gettext("not a cursor from this statement"), "invalid")],
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError:
        raise bad from None
    body, mac = raw[:-16], raw[-16:]
    if len(raw) <= 16 or not hmac.compare_digest(
        mac, hmac.new(_cursor_key(), body, hashlib.sha256).digest()[:16]
    ):
        raise bad
    seq, side, balance, identity = json.loads(body)
    if identity != r.identity():
        raise bad
    return int(seq), int(side), int(balance)


def validate_limit(limit: int | None, default: int = PAGE_DEFAULT) -> int:
    if limit is None:
        return default
    if not 1 <= limit <= PAGE_MAX:
        raise ValidationFailed(
            gettext("limit must be between 1 and %(max)d.") % {"max": PAGE_MAX},
            code="invalid_limit",
            errors=[FieldError("/limit", gettext("1 to %(max)d") % {"max": PAGE_MAX}, "range")],
        )
    return limit


@dataclass(frozen=True)
class StatementPage:
    header: StatementHeader
    lines: list[StatementLine]
    next_cursor: str | None
    request: StatementRequest

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


async def statement_page(
    r: StatementRequest,
    *,
    limit: int | None = None,
    after: str | None = None,
    generated_at: datetime | None = None,
) -> StatementPage:
    """One page of entries (keyset on `(seq, side)`; the signed cursor carries the running balance)."""
    size = validate_limit(limit)
    position = decode_page_cursor(r, after) if after else None
    async with snapshot(r, generated_at or clock.now()) as snap:
        ids = list(r.account_ids)
        if position is None:
            rows = await snap.conn.fetch(q.entries_query(limit=True), ids, r.start_at, r.end_at, size + 1)
            balance = snap.header.opening_balance
        else:
            seq, side, balance = position
            rows = await snap.conn.fetch(
                q.entries_query(after=True, limit=True), ids, r.start_at, r.end_at, seq, side, size + 1
            )
        more = len(rows) > size
        rows = rows[:size]
        lines, end_balance = await snap.to_lines(rows, balance)
        next_cursor = (
            encode_page_cursor(r, rows[-1]["seq"], rows[-1]["side"], end_balance) if more and rows else None
        )
        return StatementPage(snap.header, lines, next_cursor, r)


# --- files ------------------------------------------------------------------------------------------


class _LineFeed:
    """An iterable of lines for a writer running in a worker thread: each batch is fetched on the event
    loop (`run_coroutine_threadsafe`) while the thread waits; `on_batch(done)` reports progress."""

    def __init__(
        self,
        batches: AsyncIterator[list[StatementLine]],
        loop: asyncio.AbstractEventLoop,
        on_batch: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self._batches = batches
        self._loop = loop
        self._on_batch = on_batch
        self.done = 0

    async def _next(self) -> list[StatementLine]:
        try:
            batch = await anext(self._batches)
        except StopAsyncIteration:
            return []
        self.done += len(batch)
        if self._on_batch is not None:
            await self._on_batch(self.done)
        return batch

    async def aclose(self) -> None:
        aclose = getattr(self._batches, "aclose", None)
        if aclose is not None:
            await aclose()

    def __iter__(self) -> Iterator[StatementLine]:
        while True:
            batch = asyncio.run_coroutine_threadsafe(self._next(), self._loop).result()
            if not batch:
                return
            yield from batch


# --- the CSV fast path --------------------------------------------------------------------------------


class CrlfRows:
    """COPY ends CSV rows with LF; the statement's CSV ends them with CRLF (RFC 4180) and keeps LFs inside
    quoted cells as they are. A LF ends a row exactly when the number of double quotes since the row
    started is even (a quote inside a quoted cell is doubled), so the quote parity is carried across
    chunks. Chunks without quotes (the usual case) are converted with one `bytes.replace`."""

    __slots__ = ("inside",)

    def __init__(self) -> None:
        self.inside = False  # the previous chunk ended inside a quoted cell

    def convert(self, data: bytes) -> bytes:
        if not self.inside and b'"' not in data:
            return data.replace(b"\n", b"\r\n")
        pieces = data.split(b"\n")
        out: list[bytes] = []
        inside = self.inside
        last = len(pieces) - 1
        for i, piece in enumerate(pieces):
            out.append(piece)
            if piece.count(b'"') & 1:
                inside = not inside
            if i < last:
                out.append(b"\n" if inside else b"\r\n")
        self.inside = inside
        return b"".join(out)


async def csv_fast_chunks(
    snap: Snapshot,
    *,
    min_bytes: int = CHUNK_BYTES,
    on_rows: Callable[[int], Awaitable[None]] | None = None,
) -> AsyncIterator[bytes]:
    """The CSV statement with its entry rows formatted by PostgreSQL: the header block (Python, known
    from the header), then `COPY (sql.csv_rows_query) TO STDOUT (FORMAT csv)` streamed from the
    snapshot's transaction with LF row ends turned into CRLF, then the totals row (Python). Byte for byte
    what `formats.iter_statement_csv` writes for the same statement (tests/integration/reports). The
    prologue goes out at once; after it, chunks of at least `min_bytes`. The row count COPY reports is
    checked against the header (`StatementMismatch`, after the rows, before the totals row)."""
    header = snap.header
    r = snap.request
    yield csv_prologue(header)
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=4)
    crlf = CrlfRows()
    parts: list[bytes] = []
    size = 0
    rows = 0

    async def sink(data: bytes) -> None:
        nonlocal size, rows
        parts.append(data)
        size += len(data)
        if size >= min_bytes:
            chunk = crlf.convert(b"".join(parts))
            parts.clear()
            size = 0
            if on_rows is not None:
                rows += chunk.count(b"\r\n")
                await on_rows(rows)
            await queue.put(chunk)

    async def run() -> str:
        try:
            status = await snap.conn.copy_from_query(
                q.csv_rows_query(header.exponent),
                list(r.account_ids),
                r.start_at,
                r.end_at,
                header.opening_balance,
                r.business_id,
                output=sink,
                format="csv",
            )
            if parts:
                await queue.put(crlf.convert(b"".join(parts)))
            return str(status)
        finally:
            await queue.put(None)

    task = asyncio.ensure_future(run())
    try:
        while (chunk := await queue.get()) is not None:
            yield chunk
        status = await task
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
    copied = int(status.split()[-1]) if status.startswith("COPY") else -1
    if copied != header.entry_count:
        raise StatementMismatch(f"COPY wrote {copied} rows; the header says {header.entry_count} entries")
    yield csv_epilogue(header)


def _pull(chunks: Iterator[bytes], min_bytes: int) -> bytes | None:
    """Next chunks of a writer joined up to `min_bytes` (None when it is finished). Runs in a thread."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size >= min_bytes:
            break
    if not parts:
        return None
    return b"".join(parts)


_CHUNK_WRITERS = {"csv": iter_statement_csv, "mt940": iter_statement_mt940, "camt053": iter_statement_camt053}


def check_size(header: StatementHeader, fmt: str) -> None:
    """Formats with a line cap refuse before any work starts."""
    limit = {"pdf": PDF_MAX_LINES, "xlsx": XLSX_MAX_LINES}.get(fmt)
    if limit is not None and header.entry_count > limit:
        raise ValidationFailed(
            gettext(
                "A %(format)s statement holds at most %(limit)s entries; this period has %(count)s. "
                "Choose a shorter period or CSV."
            )
            % {"format": fmt.upper(), "limit": f"{limit:,}", "count": f"{header.entry_count:,}"},
            code="statement_too_large",
            errors=[FieldError("/format", gettext("too many entries for this format"), "too_large")],
        )


async def stream_chunks(snap: Snapshot, fmt: str, *, first_chunk_bytes: int = 1) -> AsyncIterator[bytes]:
    """The statement file as byte chunks (csv, mt940, camt053), produced as the cursor is read. CSV takes
    the fast path (`csv_fast_chunks`: rows formatted by PostgreSQL), byte-identical to the writer."""
    if fmt == "csv":
        async for data in csv_fast_chunks(snap):
            yield data
        return
    async for data in reference_chunks(snap, fmt, first_chunk_bytes=first_chunk_bytes):
        yield data


async def reference_chunks(snap: Snapshot, fmt: str, *, first_chunk_bytes: int = 1) -> AsyncIterator[bytes]:
    """The statement file from the Python writers (`formats/`), fed from the cursor (the reference the
    CSV fast path is tested against)."""
    loop = asyncio.get_running_loop()
    feed = _LineFeed(snap.batches(), loop)
    chunks = _CHUNK_WRITERS[fmt](snap.header, feed)
    minimum = first_chunk_bytes
    try:
        while True:
            data = await asyncio.to_thread(_pull, chunks, minimum)
            if data is None:
                return
            minimum = CHUNK_BYTES
            yield data
    finally:
        await feed.aclose()


async def write_file(
    snap: Snapshot,
    fmt: str,
    target: Path,
    *,
    language: str = "en",
    on_batch: Callable[[int], Awaitable[None]] | None = None,
) -> int:
    """Write the statement file to `target` (via `<target>.part`, renamed when complete); its size."""
    check_size(snap.header, fmt)
    if fmt == "csv":
        return await _write_csv_fast(snap, target, on_batch)
    loop = asyncio.get_running_loop()
    feed = _LineFeed(snap.batches(), loop, on_batch)
    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)

    def run() -> None:
        if fmt in _CHUNK_WRITERS:
            with part.open("wb") as out:
                for chunk in _CHUNK_WRITERS[fmt](snap.header, feed):
                    out.write(chunk)
        elif fmt == "xlsx":
            write_statement_xlsx(snap.header, feed, part, tmpdir=str(target.parent))
        elif fmt == "pdf":
            write_statement_pdf(snap.header, feed, part, locale=language)
        else:  # pragma: no cover - validated before
            raise ValueError(fmt)
        os.replace(part, target)

    try:
        await asyncio.to_thread(run)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    finally:
        await feed.aclose()
    return (await asyncio.to_thread(target.stat)).st_size


async def _write_csv_fast(
    snap: Snapshot, target: Path, on_batch: Callable[[int], Awaitable[None]] | None
) -> int:
    part = target.with_name(target.name + ".part")
    await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
    out = await asyncio.to_thread(part.open, "wb")
    try:
        async for chunk in csv_fast_chunks(snap, min_bytes=4 * CHUNK_BYTES, on_rows=on_batch):
            await asyncio.to_thread(out.write, chunk)
        await asyncio.to_thread(out.close)
        await asyncio.to_thread(os.replace, part, target)
    except BaseException:
        out.close()
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    return (await asyncio.to_thread(target.stat)).st_size


def file_name(r: StatementRequest, fmt: str) -> str:
    """`statement_acc_…_2026-11-01_2026-11-30.csv` (`_subtree` for roll-ups); ASCII, no spaces."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in r.account.id)
    scope = "_subtree" if r.include_descendants else ""
    return f"statement_{safe}{scope}_{r.start}_{r.end}.{EXPORT_FORMATS[fmt].extension}"


def content_disposition(name: str) -> str:
    return f'attachment; filename="{name}"'


async def _audit_export(
    actor: Actor, r: StatementRequest, fmt: str, how: str, export_id: str | None = None
) -> None:
    from portal.domains.audit.services import record

    scope = " and sub-accounts" if r.include_descendants else ""
    refs = {"account_id": r.account.id, "period": f"{r.start}..{r.end}", "format": fmt}
    if export_id:
        refs["export_id"] = export_id
    await record(
        actor,
        "statement.exported",
        f"Statement of {r.account.name}{scope} {r.start} – {r.end} as {fmt.upper()} ({how})",
        refs=refs,
    )


@dataclass(frozen=True)
class Download:
    """A file response to send: name, media type and the body chunks."""

    filename: str
    media_type: str
    body: AsyncIterator[bytes]


async def open_download(actor: Actor, r: StatementRequest, fmt: str, *, language: str = "en") -> Download:
    """Check the statement fits the format (specific error otherwise, nothing started), record the export
    in the activity log, and return the file body. CSV, MT940 and camt.053 stream from the cursor as
    they are written; XLSX and PDF are written to a temporary file first, then streamed from it."""
    fmt = validate_format(fmt, FILE_FORMATS)
    generated_at = clock.now()
    if fmt in ("xlsx", "pdf"):
        header = await statement_header(r, generated_at)
        check_size(header, fmt)
    await _audit_export(actor, r, fmt, "download")
    return Download(file_name(r, fmt), EXPORT_FORMATS[fmt].media_type, _body(r, fmt, generated_at, language))


async def _body(r: StatementRequest, fmt: str, generated_at: datetime, language: str) -> AsyncIterator[bytes]:
    async with snapshot(r, generated_at) as snap:
        if fmt in STREAMING_FORMATS:
            async for chunk in stream_chunks(snap, fmt):
                yield chunk
            return
        workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="neraca-stmt-", dir=_exports_root()))
        try:
            target = workdir / file_name(r, fmt)
            await write_file(snap, fmt, target, language=language)
        except BaseException:
            await asyncio.to_thread(_remove_tree, workdir)
            raise
    try:
        with target.open("rb") as fh:
            while data := await asyncio.to_thread(fh.read, CHUNK_BYTES):
                yield data
    finally:
        await asyncio.to_thread(_remove_tree, workdir)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# --- background exports -----------------------------------------------------------------------------


def _exports_root() -> Path:
    root = get_settings().data_dir / "exports"
    root.mkdir(parents=True, exist_ok=True)
    return root


def export_path(business_id: str, export_id: str, fmt: str) -> Path:
    return _exports_root() / business_id / f"{export_id}.{EXPORT_FORMATS[fmt].extension}"


EXPORT_COLUMNS = (
    "id, business_id, account_id, include_descendants, period_start, period_end, format, language, status, "
    "progress_done, progress_total, file_name, file_size, error, requested_by_user_id, requested_by_key_id, "
    "requested_by_name, scope_account_id, schedule_id, generated_at, created_at, finished_at"
)


@dataclass(frozen=True)
class ExportJob:
    id: str
    business_id: str
    account_id: str
    include_descendants: bool
    period_start: date
    period_end: date
    format: str
    language: str
    status: str
    progress_done: int
    progress_total: int
    file_name: str | None
    file_size: int | None
    error: str | None
    requested_by_user_id: str | None
    requested_by_key_id: str | None
    requested_by_name: str
    scope_account_id: str | None
    schedule_id: str | None
    generated_at: datetime | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        if self.progress_total <= 0:
            return 0
        return min(99, self.progress_done * 100 // self.progress_total)

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


def _export(row: Any) -> ExportJob:
    return ExportJob(**dict(row))


def use_background(fmt: str, entry_count: int) -> bool:
    """Large statements (and every PDF over a few hundred entries) are produced by a job."""
    return entry_count > IMMEDIATE_LIMITS[fmt]


async def insert_export(
    actor: Actor,
    *,
    account_id: str,
    include_descendants: bool,
    start: date,
    end: date,
    fmt: str,
    language: str = "en",
    schedule_id: str | None = None,
    progress_total: int = 0,
    export_id: str | None = None,
) -> ExportJob:
    """Insert a queued export and enqueue its job, in the caller's transaction (scope checked: 404)."""
    from portal.lib.ids import new_id
    from portal.lib.jobs import enqueue

    await accounts.get_account_row(actor, account_id, pointer="/account_id")
    export_id = export_id or new_id("exp")
    row = await sql.fetchrow(
        "INSERT INTO report_export (id, business_id, account_id, include_descendants, period_start, "
        "period_end, format, language, progress_total, requested_by_user_id, requested_by_key_id, "
        "requested_by_name, "
        "scope_account_id, schedule_id, created_at) "
        f"VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) RETURNING {EXPORT_COLUMNS}",
        export_id,
        actor.business_id,
        account_id,
        include_descendants,
        start,
        end,
        fmt,
        language,
        progress_total,
        actor.user_id,
        actor.api_key_id,
        actor.name,
        actor.scope_account_id,
        schedule_id,
        clock.now(),
    )
    await enqueue("reports.export", {"export_id": export_id}, dedupe_key=export_id)
    return _export(row)


async def start_export(actor: Actor, r: StatementRequest, fmt: str, *, language: str = "en") -> ExportJob:
    """Queue a background export (row + job + activity entry in one transaction); a format that cannot
    hold the statement is refused first, with nothing started."""
    fmt = validate_format(fmt, FILE_FORMATS)
    header = await statement_header(r)
    check_size(header, fmt)
    async with transaction():
        job = await insert_export(
            actor,
            account_id=r.account.id,
            include_descendants=r.include_descendants,
            start=r.start,
            end=r.end,
            fmt=fmt,
            language=language,
            progress_total=header.entry_count,
        )
        await _audit_export(actor, r, fmt, "background export", job.id)
    return job


async def get_export(actor: Actor, export_id: str) -> ExportJob:
    """An export of the actor's business whose account is in the actor's scope, else NotFound."""
    actor.require("reports", "view")
    row = await sql.fetchrow(
        f"SELECT {EXPORT_COLUMNS} FROM report_export WHERE id = $1 AND business_id = $2",
        export_id,
        actor.business_id,
    )
    if row is None:
        raise NotFound(gettext("There is no such export."))
    job = _export(row)
    try:
        await accounts.get_account_row(actor, job.account_id)
    except NotFound:
        raise NotFound(gettext("There is no such export.")) from None
    return job


async def list_exports(actor: Actor, limit: int = 10) -> list[ExportJob]:
    actor.require("reports", "view")
    rows = await sql.fetch(
        f"SELECT {EXPORT_COLUMNS} FROM report_export WHERE business_id = $1 "
        "AND (requested_by_user_id IS NOT DISTINCT FROM $2) ORDER BY created_at DESC, id DESC LIMIT $3",
        actor.business_id,
        actor.user_id,
        limit,
    )
    return [_export(r) for r in rows]


def _export_actor(job: ExportJob) -> Actor:
    """The rights of the business, narrowed to the scope the export was requested under."""
    from portal.lib.actor import system_actor

    base = system_actor(job.business_id)
    return Actor(
        business_id=job.business_id,
        rights=base.rights,
        scope_account_id=job.scope_account_id,
        name=job.requested_by_name or "system",
    )


async def run_export(export_id: str) -> ExportJob | None:
    """Produce the file of a queued export (idempotent: a finished export is left as it is)."""
    row = await sql.fetchrow(f"SELECT {EXPORT_COLUMNS} FROM report_export WHERE id = $1", export_id)
    if row is None:
        return None
    job = _export(row)
    if job.finished:
        return job
    actor = _export_actor(job)
    generated_at = clock.now()
    await sql.execute(
        "UPDATE report_export SET status = 'running', progress_done = 0, generated_at = $2 WHERE id = $1",
        export_id,
        generated_at,
    )
    target = export_path(job.business_id, job.id, job.format)

    async def progress(done: int) -> None:
        await sql.execute("UPDATE report_export SET progress_done = $2 WHERE id = $1", export_id, done)

    try:
        r = await resolve(
            actor,
            job.account_id,
            start=job.period_start,
            end=job.period_end,
            include_descendants=job.include_descendants,
            fmt=job.format,
        )
        async with snapshot(r, generated_at) as snap:
            await sql.execute(
                "UPDATE report_export SET progress_total = $2 WHERE id = $1",
                export_id,
                snap.header.entry_count,
            )
            size = await write_file(snap, job.format, target, language=job.language, on_batch=progress)
    except ValidationFailed as exc:  # the request can no longer be served (e.g. too many entries)
        await sql.execute(
            "UPDATE report_export SET status = 'failed', error = $2, finished_at = $3 WHERE id = $1",
            export_id,
            exc.detail[:500],
            clock.now(),
        )
        return await _reload(export_id)
    async with transaction():
        await sql.execute(
            "UPDATE report_export SET status = 'done', progress_done = progress_total, file_name = $2, "
            "file_size = $3, finished_at = $4 WHERE id = $1",
            export_id,
            file_name(r, job.format),
            size,
            clock.now(),
        )
        done = await _reload(export_id)
        if done.schedule_id:
            from portal.domains.reports.schedules import mail_export_ready

            await mail_export_ready(done)
    return done


async def _reload(export_id: str) -> ExportJob:
    row = await sql.fetchrow(f"SELECT {EXPORT_COLUMNS} FROM report_export WHERE id = $1", export_id)
    assert row is not None
    return _export(row)


async def export_file(actor: Actor, export_id: str) -> tuple[ExportJob, Path]:
    """A finished export's file (NotFound when it is not finished or not the actor's to see)."""
    job = await get_export(actor, export_id)
    path = export_path(job.business_id, job.id, job.format)
    if job.status != "done" or not path.exists():
        raise NotFound(gettext("This export has no file yet."))
    return job, path
