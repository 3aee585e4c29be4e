"""Scheduled custom reports: a saved report e-mailed daily, weekly or monthly at a time of day (WIB).

A schedule is `{"frequency", "time", "weekday" (weekly, 0 = Monday), "day" (monthly, 1-28), "format"}` on
the report; its occurrences come from a dateutil `rrule` and the next one is kept in `schedule_next_at`.
The job `reports.custom_due` (enqueued for the next occurrence whenever one is set or delivered) takes due
reports with `FOR UPDATE SKIP LOCKED`, claims the occurrence in `report_delivery` (its primary key makes
each occurrence go exactly once however many workers run), runs the export in the scope of whoever set
the schedule and queues one e-mail with the file to every active user of the business who has the
reports right and whose scope covers that scope.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule

from portal.domains.audit.services import record
from portal.lib import clock, sql
from portal.lib.actor import Actor, system_actor
from portal.lib.errors import FieldError, NotFound, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.sql import transaction
from portal.lib.timefmt import WIB

FREQUENCIES = {"daily": DAILY, "weekly": WEEKLY, "monthly": MONTHLY}
FORMATS = ("csv", "xlsx")
TICK_JOB = "reports.custom_due"
MAIL_TEMPLATE = "custom_report"
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _refuse(pointer: str, message: str, field_message: str) -> ValidationFailed:
    return ValidationFailed(message, code="invalid_schedule", errors=[FieldError(pointer, field_message)])


def check_schedule(value: Any) -> dict[str, Any] | None:
    """The schedule with its fields checked (None: no schedule); 422 on the first bad field."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"frequency", "time", "weekday", "day", "format"}:
        raise _refuse(
            "/schedule", N_("A schedule has frequency, time, weekday, day and format."), N_("invalid")
        )
    frequency = value.get("frequency")
    if frequency not in FREQUENCIES:
        raise _refuse(
            "/schedule/frequency", N_("Choose daily, weekly or monthly."), N_("daily, weekly or monthly")
        )
    time = str(value.get("time") or "07:00")
    if not _TIME.match(time):
        raise _refuse("/schedule/time", N_("Give the time of day as HH:MM (WIB)."), N_("HH:MM"))
    fmt = value.get("format") or "csv"
    if fmt not in FORMATS:
        raise _refuse("/schedule/format", N_("Choose CSV or XLSX."), N_("csv or xlsx"))
    out: dict[str, Any] = {"frequency": frequency, "time": time, "format": fmt}
    if frequency == "weekly":
        weekday = value.get("weekday", 0)
        if isinstance(weekday, str) and weekday.isdigit():
            weekday = int(weekday)
        if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
            raise _refuse(
                "/schedule/weekday", N_("Choose a day of the week."), N_("0 (Monday) to 6 (Sunday)")
            )
        out["weekday"] = weekday
    if frequency == "monthly":
        day = value.get("day", 1)
        if isinstance(day, str) and day.isdigit():
            day = int(day)
        if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 28:
            raise _refuse("/schedule/day", N_("Choose a day of the month from 1 to 28."), N_("1 to 28"))
        out["day"] = day
    return out


def next_occurrence(schedule: dict[str, Any], after: datetime) -> datetime:
    """The first occurrence of the schedule strictly after `after` (an aware datetime, in UTC)."""
    hour, minute = (int(p) for p in schedule["time"].split(":"))
    local = after.astimezone(WIB).replace(tzinfo=None)
    rule = rrule(
        FREQUENCIES[schedule["frequency"]],
        dtstart=local.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1),
        byhour=hour,
        byminute=minute,
        bysecond=0,
        byweekday=schedule.get("weekday") if schedule["frequency"] == "weekly" else None,
        bymonthday=schedule.get("day") if schedule["frequency"] == "monthly" else None,
    )
    found = rule.after(local)
    assert found is not None
    return found.replace(tzinfo=WIB).astimezone(UTC)


async def _enqueue_tick(when: datetime) -> None:
    from portal.lib.jobs import enqueue

    # No dedupe key: a duplicate key would abort the caller's transaction, and a spare tick finds nothing due.
    await enqueue(TICK_JOB, {"due": when.isoformat()}, delay=max(timedelta(0), when - clock.now()))


async def set_schedule(actor: Actor, report_id: str, schedule: Any) -> dict[str, Any] | None:
    """Set (or with None, stop) a saved report's e-mail schedule; the report runs in the actor's scope."""
    actor.require("reports", "manage")
    checked = check_schedule(schedule)
    next_at = next_occurrence(checked, clock.now()) if checked else None
    async with transaction():
        name = await sql.fetchval(
            "UPDATE report_definition SET schedule = $3::jsonb, schedule_next_at = $4, "
            "schedule_scope_account_id = $5, schedule_set_by = $6, updated_at = $7 "
            "WHERE business_id = $1 AND id = $2 RETURNING name",
            actor.business_id,
            report_id,
            json.dumps(checked) if checked else None,
            next_at,
            actor.scope_account_id if checked else None,
            actor.name if checked else None,
            clock.now(),
        )
        if name is None:
            raise NotFound(N_("Report %(id)s was not found."), params={"id": report_id}, code="not_found")
        if next_at is not None:
            await _enqueue_tick(next_at)
            summary = f"Scheduled report {name}: {describe(checked)}"
        else:
            summary = f"Stopped the schedule of report {name}"
        await record(actor, "report.scheduled", summary, refs={"report_id": report_id})
    return checked


def describe(schedule: dict[str, Any] | None) -> str:
    """A one-line English summary for the activity log."""
    if not schedule:
        return ""
    when = {
        "daily": "every day",
        "weekly": f"every {DAYS[schedule.get('weekday', 0)]}",
        "monthly": f"on day {schedule.get('day', 1)} of every month",
    }[schedule["frequency"]]
    return f"{when} at {schedule['time']} WIB as {schedule['format'].upper()}"


async def recipients(business_id: str, scope_account_id: str | None) -> list[tuple[str, str]]:
    """(address, language) of the business's active users with the reports right whose scope covers the
    schedule's scope (a whole-business report goes only to users with the whole business)."""
    rows = await sql.fetch(
        "SELECT u.email, u.language FROM app_user u WHERE u.business_id = $1 AND u.status = 'active' "
        "AND u.rights && ARRAY['reports:view', 'reports:manage'] AND (u.scope_account_id IS NULL OR "
        "($2::text IS NOT NULL AND EXISTS (SELECT 1 FROM account a WHERE a.business_id = $1 AND a.id = $2 "
        "AND a.path LIKE '%/' || u.scope_account_id || '/%'))) ORDER BY u.email",
        business_id,
        scope_account_id,
    )
    return [(r["email"], r["language"]) for r in rows]


async def _deliver_one(now: datetime) -> bool:
    """Take one due report occurrence, claim it and queue its e-mails; False when nothing is due."""
    from portal.domains.identity import mail
    from portal.domains.reports.custom import services as custom

    async with transaction():
        row = await sql.fetchrow(
            "SELECT business_id, id, name, spec, schedule, schedule_next_at, schedule_scope_account_id, "
            "schedule_set_by FROM report_definition WHERE schedule_next_at <= $1 "
            "ORDER BY schedule_next_at, id FOR UPDATE SKIP LOCKED LIMIT 1",
            now,
        )
        if row is None:
            return False
        schedule = json.loads(row["schedule"]) if isinstance(row["schedule"], str) else dict(row["schedule"])
        occurrence = row["schedule_next_at"]
        following = next_occurrence(schedule, max(now, occurrence))
        await sql.execute(
            "UPDATE report_definition SET schedule_next_at = $3 WHERE business_id = $1 AND id = $2",
            row["business_id"],
            row["id"],
            following,
        )
        await _enqueue_tick(following)
        actor = Actor(
            business_id=row["business_id"],
            rights=system_actor(row["business_id"]).rights,
            scope_account_id=row["schedule_scope_account_id"],
            name=f"Scheduled report ({row['schedule_set_by'] or 'system'})",
        )
        spec = json.loads(row["spec"]) if isinstance(row["spec"], str) else dict(row["spec"])
        to = await recipients(row["business_id"], row["schedule_scope_account_id"])
        file_name = f"{row['name']}.{schedule['format']}"
        claimed = await sql.fetchval(
            "INSERT INTO report_delivery (business_id, report_id, occurrence, recipients, file_name, "
            "created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING occurrence",
            row["business_id"],
            row["id"],
            occurrence,
            len(to),
            file_name,
            now,
        )
        if claimed is None:
            return True  # this occurrence went already
        # A failed export (a report past its time limit) rolls back the claim: the job tries again.
        file_name, content_type, content = await custom.export(
            actor, spec, schedule["format"], title=row["name"]
        )
        await sql.execute(
            "UPDATE report_delivery SET file_name = $4 WHERE business_id = $1 AND report_id = $2 "
            "AND occurrence = $3",
            row["business_id"],
            row["id"],
            occurrence,
            file_name,
        )
        # identity's outbox renders only the templates it knows; custom reports add theirs.
        mail.TEMPLATES.add(MAIL_TEMPLATE)
        for address, language in to:
            await mail.queue(
                MAIL_TEMPLATE,
                to=address,
                language=language,
                business_id=row["business_id"],
                context={
                    "report_name": row["name"],
                    "occurrence": occurrence.astimezone(WIB).strftime("%Y-%m-%d %H:%M"),
                    "format": schedule["format"].upper(),
                    "file_name": file_name,
                },
                attachment=(file_name, content_type, content),
            )
    return True


async def run_due(now: datetime | None = None) -> int:
    """Deliver every due occurrence of every scheduled report; returns how many this call took."""
    taken = 0
    while await _deliver_one(now or clock.now()):
        taken += 1
    return taken
