"""Statement files: CSV, MT940 and camt.053 streamed from the snapshot's cursor as they are written (CSV
formatted by PostgreSQL), XLSX and PDF written to a file first; downloads recorded in the activity log.

The format writers (`formats/`) are synchronous and consume an iterable of lines; `_LineFeed` runs a
writer in a worker thread and hands it batches fetched on the event loop, one batch ahead."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

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
from portal.domains.reports.services.periods import FILE_FORMATS, STREAMING_FORMATS, validate_format
from portal.domains.reports.services.snapshot import Snapshot, StatementRequest, snapshot, statement_header
from portal.lib import clock, i18n
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import gettext
from portal.settings import get_settings

# A streamed download yields chunks of at least this size (the first chunk goes out at once).
CHUNK_BYTES = 256 * 1024


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
    checked against the header (`StatementMismatch`, after the rows, before the totals row). A roll-up
    nets its internal transfers (`Snapshot.file_header`) on both paths alike."""
    header = await snap.file_header("csv")
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
                q.csv_rows_query(header.exponent, net=header.nets_internal),
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
    header = await snap.file_header(fmt)
    feed = _LineFeed(snap.batches(net=header.nets_internal), loop)
    chunks = _CHUNK_WRITERS[fmt](header, feed)
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


def kind_labels(language: str) -> Callable[[str], str]:
    """Transaction kinds in words of `language`, as the statement on screen names them (the XLSX and PDF
    files; the CSV keeps its machine-readable codes, identical on its two paths)."""
    from portal.domains.ledger.labels import TRANSACTION_KINDS

    translate = i18n.translations(language).gettext

    def label(kind: str) -> str:
        msgid = TRANSACTION_KINDS.get(kind)
        return translate(msgid) if msgid else kind.replace("_", " ")

    return label


async def write_file(
    snap: Snapshot,
    fmt: str,
    target: Path,
    *,
    language: str = "en",
    on_batch: Callable[[int], Awaitable[None]] | None = None,
) -> int:
    """Write the statement file to `target` (via `<target>.part`, renamed when complete); its size."""
    header = await snap.file_header(fmt)
    check_size(header, fmt)
    if fmt == "csv":
        return await _write_csv_fast(snap, target, on_batch)
    loop = asyncio.get_running_loop()
    feed = _LineFeed(snap.batches(net=header.nets_internal), loop, on_batch)
    part = target.with_name(target.name + ".part")
    kinds = kind_labels(language)
    target.parent.mkdir(parents=True, exist_ok=True)

    def run() -> None:
        if fmt in _CHUNK_WRITERS:
            with part.open("wb") as out:
                for chunk in _CHUNK_WRITERS[fmt](header, feed):
                    out.write(chunk)
        elif fmt == "xlsx":
            write_statement_xlsx(header, feed, part, tmpdir=str(target.parent), kind_label=kinds)
        elif fmt == "pdf":
            write_statement_pdf(header, feed, part, locale=language, kind_label=kinds)
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
    """`Toko-Sinar-Jaya_2026-11-01_2026-11-30.csv`: the account's name and the period (`_subtree` for
    roll-ups); ASCII letters, digits and dashes only (the id when the name has none)."""
    return slug_file_name(r.account.name, r.account.id, r.start, r.end, fmt, subtree=r.include_descendants)


def slug_file_name(
    name: str, account_id: str, start: Any, end: Any, fmt: str, *, subtree: bool = False
) -> str:
    words = "".join(c if c.isascii() and c.isalnum() else " " for c in name).split()
    safe = "-".join(words)[:60] or "".join(c if c.isascii() and c.isalnum() else "-" for c in account_id)
    scope = "_subtree" if subtree else ""
    return f"{safe}{scope}_{start}_{end}.{EXPORT_FORMATS[fmt].extension}"


def content_disposition(name: str) -> str:
    return f'attachment; filename="{name}"'


async def audit_export(
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
    """Check the statement fits the format (specific error otherwise, nothing sent), record the export
    in the activity log, and return the file body. CSV, MT940 and camt.053 stream from the cursor as
    they are written; XLSX and PDF are written to a temporary file first, then streamed from it."""
    fmt = validate_format(fmt, FILE_FORMATS)
    generated_at = clock.now()
    # The whole request is checked (its snapshot opens, the format holds it) before the first byte.
    header = await statement_header(r, generated_at)
    check_size(header, fmt)
    await audit_export(actor, r, fmt, "download")
    return Download(file_name(r, fmt), EXPORT_FORMATS[fmt].media_type, _body(r, fmt, generated_at, language))


async def _body(r: StatementRequest, fmt: str, generated_at: datetime, language: str) -> AsyncIterator[bytes]:
    async with snapshot(r, generated_at) as snap:
        if fmt in STREAMING_FORMATS:
            async for chunk in stream_chunks(snap, fmt):
                yield chunk
            return
        workdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="neraca-stmt-", dir=exports_root()))
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


def exports_root() -> Path:
    root = get_settings().data_dir / "exports"
    root.mkdir(parents=True, exist_ok=True)
    return root
