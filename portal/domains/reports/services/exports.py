"""Background exports: a queued row and job per export, produced by `run_export`, fetched by the
person who asked (scope checked)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.reports.formats import EXPORT_FORMATS
from portal.domains.reports.services.periods import FILE_FORMATS, validate_format
from portal.domains.reports.services.snapshot import StatementRequest, resolve, snapshot, statement_header
from portal.domains.reports.services.streaming import (
    audit_export,
    check_size,
    exports_root,
    file_name,
    write_file,
)
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import NotFound, ValidationFailed
from portal.lib.i18n import gettext
from portal.lib.sql import transaction

# The portal downloads at once up to these entry counts; above them the export runs as a job.
IMMEDIATE_LIMITS: dict[str, int] = {
    "csv": 50_000,
    "mt940": 50_000,
    "camt053": 50_000,
    "xlsx": 20_000,
    "pdf": 500,
}


def export_path(business_id: str, export_id: str, fmt: str) -> Path:
    return exports_root() / business_id / f"{export_id}.{EXPORT_FORMATS[fmt].extension}"


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
        await audit_export(actor, r, fmt, "background export", job.id)
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
                (await snap.file_header(job.format)).entry_count,
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
