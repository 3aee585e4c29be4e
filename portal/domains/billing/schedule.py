"""Billing schedules: which dates a billing runs on (pure functions, no database).

Three types, as the business picks them:
- `date`: a day of the month 1–28 (every month has it) in the chosen months;
- `day`: one or more weekdays in the chosen months, every occurrence (a month with five Mondays runs
  five times);
- `full_date`: an explicit list of dates.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import N_

TYPES = ("date", "day", "full_date")
ALL_MONTHS = tuple(range(1, 13))
MAX_FULL_DATES = 366
# Execute dates are materialised this far ahead (and shown); the daily run extends the window.
HORIZON_DAYS = 400


@dataclass(frozen=True)
class Schedule:
    type: str
    day: int | None = None
    weekdays: tuple[int, ...] = ()  # 0 = Monday … 6 = Sunday
    months: tuple[int, ...] = ()
    dates: tuple[date, ...] = ()

    def to_json(self) -> dict[str, Any]:
        if self.type == "date":
            return {"day": self.day, "months": list(self.months)}
        if self.type == "day":
            return {"weekdays": list(self.weekdays), "months": list(self.months)}
        return {"dates": [d.isoformat() for d in self.dates]}

    @classmethod
    def from_json(cls, schedule_type: str, data: dict[str, Any]) -> Schedule:
        if schedule_type == "date":
            return cls("date", day=int(data["day"]), months=tuple(data["months"]))
        if schedule_type == "day":
            return cls("day", weekdays=tuple(data["weekdays"]), months=tuple(data["months"]))
        return cls("full_date", dates=tuple(date.fromisoformat(d) for d in data["dates"]))


def _invalid(
    pointer: str, message: str, detail: str, code: str, params: dict[str, Any] | None = None
) -> ValidationFailed:
    return ValidationFailed(message, params=params, code=code, errors=[FieldError(pointer, detail, code)])


def _int_list(value: Any, pointer: str, low: int, high: int) -> tuple[int, ...]:
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",") if v.strip()]
    if not isinstance(value, list | tuple):
        value = [value] if value not in (None, "") else []
    numbers = set()
    for item in value:
        text = str(item).strip()
        if not text.isdigit() or not low <= int(text) <= high:
            raise _invalid(
                pointer,
                N_("Pick values between %(low)s and %(high)s."),
                N_("out of range"),
                "invalid_schedule",
                {"low": low, "high": high},
            )
        numbers.add(int(text))
    return tuple(sorted(numbers))


def parse(schedule_type: Any, data: dict[str, Any], *, today: date, prefix: str = "") -> Schedule:
    """Validate a schedule typed by a user or sent by the API (`today` is the business's date, WIB).

    Refused: a day of the month outside 1–28, a Day schedule without weekdays or months, a Date
    schedule without months, a full date in the past or an empty list of dates. `prefix` is put before
    the field pointers (`/schedule` when the schedule is nested in a larger body)."""
    try:
        return _parse(schedule_type, data, today=today)
    except ValidationFailed as exc:
        for error in exc.errors:
            error.pointer = prefix + error.pointer
        raise


def _parse(schedule_type: Any, data: dict[str, Any], *, today: date) -> Schedule:
    kind = str(schedule_type or "").strip().lower()
    if kind not in TYPES:
        raise _invalid(
            "/schedule_type",
            N_("The schedule type is Date, Day or Full Date."),
            N_("unknown schedule type"),
            "invalid_schedule_type",
        )
    if kind == "date":
        raw = str(data.get("day") if data.get("day") is not None else "").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 28:
            raise _invalid(
                "/day",
                N_("The execute date is a day from 1 to 28: every month has it."),
                N_("a day from 1 to 28"),
                "invalid_execute_day",
            )
        months = _int_list(data.get("months"), "/months", 1, 12)
        if not months:
            raise _invalid("/months", N_("Pick at least one month."), N_("no month chosen"), "no_months")
        return Schedule("date", day=int(raw), months=months)
    if kind == "day":
        weekdays = _int_list(data.get("weekdays"), "/weekdays", 0, 6)
        if not weekdays:
            raise _invalid(
                "/weekdays", N_("Pick at least one day of the week."), N_("no day chosen"), "no_weekdays"
            )
        months = _int_list(data.get("months"), "/months", 1, 12)
        if not months:
            raise _invalid("/months", N_("Pick at least one month."), N_("no month chosen"), "no_months")
        return Schedule("day", weekdays=weekdays, months=months)
    raw_dates = data.get("dates")
    if isinstance(raw_dates, str):
        raw_dates = [d for d in raw_dates.replace(";", ",").replace("\n", ",").split(",") if d.strip()]
    if not isinstance(raw_dates, list | tuple) or not raw_dates:
        raise _invalid("/dates", N_("Pick at least one date."), N_("no date chosen"), "no_dates")
    dates = set()
    for item in raw_dates:
        try:
            day = item if isinstance(item, date) else date.fromisoformat(str(item).strip())
        except ValueError:
            raise _invalid(
                "/dates", N_("Dates are written YYYY-MM-DD."), N_("not a date"), "invalid_date"
            ) from None
        if day < today:
            raise _invalid(
                "/dates",
                N_("A full date cannot be in the past."),
                N_("date in the past"),
                "date_in_past",
            )
        dates.add(day)
    if len(dates) > MAX_FULL_DATES:
        raise _invalid("/dates", N_("At most 366 dates."), N_("too many dates"), "too_many_dates")
    return Schedule("full_date", dates=tuple(sorted(dates)))


def occurrences(schedule: Schedule, start: date, end: date) -> list[date]:
    """Every execute date of the schedule from `start` to `end`, both included, in order."""
    if end < start:
        return []
    if schedule.type == "full_date":
        return [d for d in schedule.dates if start <= d <= end]
    found: list[date] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        if month in schedule.months:
            if schedule.type == "date":
                assert schedule.day is not None
                candidates = [date(year, month, schedule.day)]
            else:
                first_weekday, days = calendar.monthrange(year, month)
                candidates = [
                    date(year, month, d)
                    for d in range(1, days + 1)
                    if (first_weekday + d - 1) % 7 in schedule.weekdays
                ]
            found.extend(d for d in candidates if start <= d <= end)
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return found


def upcoming(schedule: Schedule, today: date, count: int | None = None) -> list[date]:
    """The execute dates from `today` within the materialisation horizon (the first `count` of them)."""
    dates = occurrences(schedule, today, today + timedelta(days=HORIZON_DAYS))
    return dates[:count] if count is not None else dates
