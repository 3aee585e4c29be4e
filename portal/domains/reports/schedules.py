"""Scheduled statements: "e-mail the statement of this account every day / week / month".

A schedule remembers the first day of the next period to deliver (`next_period_start`). A period is due
`GRACE` after it ends (00:05 WIB of the next day, so transfers committed around midnight are in). The
job `reports.schedules_due` (enqueued with a delay for the next due time whenever a schedule is created
or delivered) runs `run_due()`, which takes due schedules with `FOR UPDATE SKIP LOCKED` and records a
`report_schedule_run` row per (schedule, period) — its primary key makes every due statement happen
exactly once however many workers run. The statement is produced by a background export; when the file
is ready an e-mail with a link to it goes to the schedule's address (identity's mail outbox and job).
The link opens the portal: the reader signs in, and the export is only shown to users whose scope
includes the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.reports import services
from portal.lib import clock, sql
from portal.lib.actor import Actor, system_actor
from portal.lib.errors import FieldError, NotFound, ValidationFailed
from portal.lib.forms import clean_email
from portal.lib.i18n import LANGUAGE_CODES, gettext
from portal.lib.ids import new_id
from portal.lib.sql import transaction

FREQUENCIES = ("daily", "weekly", "monthly")
_PERIOD_KIND = {"daily": "day", "weekly": "week", "monthly": "month"}
GRACE = timedelta(minutes=5)
TICK_JOB = "reports.schedules_due"
MAIL_TEMPLATE = "statement_ready"

SCHEDULE_COLUMNS = (
    "id, business_id, account_id, include_descendants, frequency, format, email, language, active, "
    "next_period_start, created_by_user_id, created_by_name, scope_account_id, created_at, updated_at"
)


@dataclass(frozen=True)
class Schedule:
    id: str
    business_id: str
    account_id: str
    include_descendants: bool
    frequency: str
    format: str
    email: str
    language: str
    active: bool
    next_period_start: date
    created_by_user_id: str | None
    created_by_name: str
    scope_account_id: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def next_period(self) -> tuple[date, date]:
        return period_of(self.frequency, self.next_period_start)

    @property
    def next_due_at(self) -> datetime:
        return due_at(self.frequency, self.next_period_start)


def _schedule(row: Any) -> Schedule:
    return Schedule(**dict(row))


def period_of(frequency: str, start: date) -> tuple[date, date]:
    return services.period_bounds(_PERIOD_KIND[frequency], start)


def due_at(frequency: str, start: date) -> datetime:
    """When the statement of the period starting `start` is produced (GRACE after it ends, WIB)."""
    _, end = period_of(frequency, start)
    return services.wib_midnight(end + timedelta(days=1)) + GRACE


async def _enqueue_tick(when: datetime) -> None:
    from portal.lib.jobs import enqueue

    delay = max(timedelta(0), when - clock.now())
    await enqueue(
        TICK_JOB, {"due": when.isoformat()}, delay=delay, dedupe_key=f"{TICK_JOB}:{when.isoformat()}"
    )


async def create_schedule(
    actor: Actor,
    *,
    account_id: str,
    include_descendants: bool,
    frequency: str,
    fmt: str,
    email: str,
    language: str = "en",
) -> Schedule:
    """A new schedule; its first statement is the current (unfinished) period's, due when it ends."""
    from portal.domains.audit.services import record

    actor.require("reports", "manage")
    errors: list[FieldError] = []
    address = clean_email(errors, "email", email)
    if frequency not in FREQUENCIES:
        errors.append(FieldError("frequency", gettext("Choose daily, weekly or monthly."), "invalid"))
    if fmt not in services.FILE_FORMATS:
        errors.append(
            FieldError(
                "format", gettext("Choose one of %(f)s.") % {"f": ", ".join(services.FILE_FORMATS)}, "invalid"
            )
        )
    if errors:
        raise ValidationFailed(errors[0].detail, errors=errors)
    account = await accounts.get_account_row(actor, account_id, pointer="account_id")
    first, _ = period_of(frequency, services.today_wib())
    schedule_id = new_id("sch")
    now = clock.now()
    async with transaction():
        row = await sql.fetchrow(
            "INSERT INTO report_schedule (id, business_id, account_id, include_descendants, frequency, "
            "format, email, language, next_period_start, created_by_user_id, created_by_name, "
            "scope_account_id, "
            "created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$13) "
            f"RETURNING {SCHEDULE_COLUMNS}",
            schedule_id,
            actor.business_id,
            account.id,
            include_descendants,
            frequency,
            fmt,
            address,
            language if language in LANGUAGE_CODES else "en",
            first,
            actor.user_id,
            actor.name,
            actor.scope_account_id,
            now,
        )
        await _enqueue_tick(due_at(frequency, first))
        await record(
            actor,
            "statement_schedule.created",
            f"{frequency.capitalize()} {fmt.upper()} statement of {account.name} to {address}",
            refs={"schedule_id": schedule_id, "account_id": account.id, "email": address},
        )
    return _schedule(row)


async def list_schedules(actor: Actor) -> list[Schedule]:
    actor.require("reports", "view")
    rows = await sql.fetch(
        f"SELECT {SCHEDULE_COLUMNS} FROM report_schedule WHERE business_id = $1 AND active "
        "ORDER BY created_at DESC, id DESC",
        actor.business_id,
    )
    out = []
    for row in rows:
        schedule = _schedule(row)
        try:
            await accounts.get_account_row(actor, schedule.account_id)
        except NotFound:
            continue
        out.append(schedule)
    return out


async def cancel_schedule(actor: Actor, schedule_id: str) -> None:
    from portal.domains.audit.services import record

    actor.require("reports", "manage")
    schedules = {s.id: s for s in await list_schedules(actor)}
    schedule = schedules.get(schedule_id)
    if schedule is None:
        raise NotFound(gettext("There is no such schedule."))
    async with transaction():
        await sql.execute(
            "UPDATE report_schedule SET active = false, updated_at = $2 WHERE id = $1",
            schedule_id,
            clock.now(),
        )
        await record(
            actor,
            "statement_schedule.cancelled",
            f"{schedule.frequency.capitalize()} statement to {schedule.email} cancelled",
            refs={"schedule_id": schedule_id, "account_id": schedule.account_id},
        )


async def _deliver_one(now: datetime) -> bool:
    """Take one due schedule period and queue its export; False when nothing is due."""
    today = now.astimezone(services.WIB).date()
    async with transaction():
        rows = await sql.fetch(
            f"SELECT {SCHEDULE_COLUMNS} FROM report_schedule WHERE active AND next_period_start <= $1 "
            "ORDER BY next_period_start, id FOR UPDATE SKIP LOCKED LIMIT 20",
            today,
        )
        schedule = next((s for s in map(_schedule, rows) if s.next_due_at <= now), None)
        if schedule is None:
            return False
        first, last = schedule.next_period
        following = last + timedelta(days=1)
        await sql.execute(
            "UPDATE report_schedule SET next_period_start = $2, updated_at = $3 WHERE id = $1",
            schedule.id,
            following,
            now,
        )
        await _enqueue_tick(due_at(schedule.frequency, following))
        export_id = new_id("exp")
        claimed = await sql.fetchval(
            "INSERT INTO report_schedule_run (schedule_id, period_start, period_end, export_id, created_at) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING export_id",
            schedule.id,
            first,
            last,
            export_id,
            now,
        )
        if claimed is None:
            return True  # delivered already (this period was taken by another run)
        actor = Actor(
            business_id=schedule.business_id,
            rights=system_actor(schedule.business_id).rights,
            scope_account_id=schedule.scope_account_id,
            name=f"Scheduled statement ({schedule.created_by_name or 'system'})",
        )
        try:
            await services.insert_export(
                actor,
                export_id=export_id,
                account_id=schedule.account_id,
                include_descendants=schedule.include_descendants,
                start=first,
                end=last,
                fmt=schedule.format,
                language=schedule.language,
                schedule_id=schedule.id,
            )
        except NotFound:
            # The account left the creator's scope or the business: stop the schedule.
            await sql.execute("UPDATE report_schedule SET active = false WHERE id = $1", schedule.id)
            await sql.execute(
                "DELETE FROM report_schedule_run WHERE schedule_id = $1 AND period_start = $2",
                schedule.id,
                first,
            )
    return True


async def run_due(now: datetime | None = None) -> int:
    """Deliver every due (schedule, period); returns how many were taken by this call."""
    taken = 0
    while await _deliver_one(now or clock.now()):
        taken += 1
    return taken


async def mail_export_ready(export: services.ExportJob) -> None:
    """E-mail the schedule's address a link to the finished export (inside the caller's transaction)."""
    from portal.domains.identity import mail
    from portal.settings import get_settings

    row = await sql.fetchrow(
        f"SELECT {SCHEDULE_COLUMNS} FROM report_schedule WHERE id = $1", export.schedule_id
    )
    if row is None:
        return
    schedule = _schedule(row)
    name = await sql.fetchval("SELECT name FROM account WHERE id = $1", export.account_id)
    # identity's outbox renders only the templates it knows; statements add theirs.
    mail.TEMPLATES.add(MAIL_TEMPLATE)
    await mail.queue(
        MAIL_TEMPLATE,
        to=schedule.email,
        language=schedule.language,
        business_id=export.business_id,
        context={
            "account_name": name or export.account_id,
            "frequency": schedule.frequency,
            "period_start": export.period_start.isoformat(),
            "period_end": export.period_end.isoformat(),
            "format": export.format.upper(),
            "link": f"{get_settings().base_url}/reports/exports/{export.id}",
            "file_name": export.file_name or "",
        },
    )
