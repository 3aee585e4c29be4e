"""Statement periods: WIB calendar days, period kinds, and the validation of a requested period and format."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from portal.domains.reports.formats import EXPORT_FORMATS
from portal.lib import clock
from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.forms import day_error
from portal.lib.i18n import gettext
from portal.lib.timefmt import WIB

FILE_FORMATS: tuple[str, ...] = tuple(EXPORT_FORMATS)  # csv, xlsx, pdf, mt940, camt053
STATEMENT_FORMATS: tuple[str, ...] = ("json", *FILE_FORMATS)
STREAMING_FORMATS = frozenset(name for name, spec in EXPORT_FORMATS.items() if spec.streams)
# File formats other than CSV cover at most this many days (CSV and JSON have no limit).
MAX_FILE_DAYS = 366


def today_wib() -> date:
    return clock.now().astimezone(WIB).date()


def wib_midnight(day: date) -> datetime:
    """00:00 WIB of `day` as an aware datetime (UTC)."""
    return datetime.combine(day, time.min, tzinfo=WIB).astimezone(UTC)


def period_bounds(kind: str, anchor: date) -> tuple[date, date]:
    """The day, ISO week (Monday–Sunday) or calendar month containing `anchor` (a day of the sane
    range, `portal.lib.forms.MIN_DAY`..`MAX_DAY`: 422 on `/date` otherwise)."""
    problem = day_error("/date", anchor)
    if problem is not None:
        raise ValidationFailed(problem.msgid, params=problem.params, code="invalid_period", errors=[problem])
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
        return _in_range(value, pointer, errors)
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        errors.append(
            FieldError(pointer, gettext("Enter the %(label)s date.") % {"label": label}, "required")
        )
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors.append(
            FieldError(
                pointer, gettext("%(value)r is not a date like 2026-11-30.") % {"value": text[:40]}, "invalid"
            )
        )
        return None
    return _in_range(day, pointer, errors)


def _in_range(day: date, pointer: str, errors: list[FieldError]) -> date | None:
    problem = day_error(pointer, day)
    if problem is not None:
        errors.append(problem)
        return None
    return day


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
