"""Billing schedules against dateutil's rrule for random schedules over several years (month ends,
leap years, months with five of a weekday), and the bad input the schedule form refuses."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from dateutil.rrule import MONTHLY, WEEKLY, rrule
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.domains.billing import schedule
from portal.domains.billing.schedule import Schedule
from portal.lib.errors import ValidationFailed

TODAY = date(2027, 1, 15)
months = st.sets(st.integers(1, 12), min_size=1).map(lambda s: tuple(sorted(s)))
windows = st.tuples(st.dates(date(2024, 1, 1), date(2032, 12, 31)), st.integers(0, 4 * 366))


def by_rrule(rule: rrule) -> list[date]:
    return [d.date() for d in rule]


@settings(max_examples=300, deadline=None)
@given(day=st.integers(1, 28), chosen=months, window=windows)
def test_date_schedules_match_rrule(day: int, chosen: tuple[int, ...], window: tuple[date, int]) -> None:
    start, length = window
    end = start + timedelta(days=length)
    expected = by_rrule(
        rrule(
            MONTHLY,
            bymonthday=day,
            bymonth=chosen,
            dtstart=datetime.combine(start, datetime.min.time()),
            until=datetime.combine(end, datetime.min.time()),
        )
    )
    assert schedule.occurrences(Schedule("date", day=day, months=chosen), start, end) == expected


@settings(max_examples=300, deadline=None)
@given(
    weekdays=st.sets(st.integers(0, 6), min_size=1).map(lambda s: tuple(sorted(s))),
    chosen=months,
    window=windows,
)
def test_day_schedules_run_on_every_such_weekday_like_rrule(
    weekdays: tuple[int, ...], chosen: tuple[int, ...], window: tuple[date, int]
) -> None:
    start, length = window
    end = start + timedelta(days=length)
    expected = by_rrule(
        rrule(
            WEEKLY,
            byweekday=weekdays,
            bymonth=chosen,
            dtstart=datetime.combine(start, datetime.min.time()),
            until=datetime.combine(end, datetime.min.time()),
        )
    )
    assert schedule.occurrences(Schedule("day", weekdays=weekdays, months=chosen), start, end) == expected


def test_a_month_with_five_mondays_runs_five_times() -> None:
    # December 2025 has five Mondays: 1, 8, 15, 22, 29.
    plan = Schedule("day", weekdays=(0,), months=(12,))
    runs = schedule.occurrences(plan, date(2025, 12, 1), date(2025, 12, 31))
    assert runs == [date(2025, 12, d) for d in (1, 8, 15, 22, 29)]


def test_the_28th_runs_in_february_of_leap_and_common_years() -> None:
    plan = Schedule("date", day=28, months=(2,))
    assert schedule.occurrences(plan, date(2027, 1, 1), date(2028, 12, 31)) == [
        date(2027, 2, 28),
        date(2028, 2, 28),
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.dates(TODAY, date(2030, 12, 31)), min_size=1, max_size=30))
def test_full_dates_are_kept_sorted_and_unique(dates: list[date]) -> None:
    plan = schedule.parse("full_date", {"dates": [d.isoformat() for d in dates]}, today=TODAY)
    assert plan.dates == tuple(sorted(set(dates)))
    assert schedule.occurrences(plan, TODAY, date(2030, 12, 31)) == sorted(set(dates))
    assert Schedule.from_json("full_date", plan.to_json()) == plan


@pytest.mark.parametrize(
    ("kind", "data", "code", "pointer"),
    [
        ("date", {"day": 29, "months": [1]}, "invalid_execute_day", "/day"),
        ("date", {"day": 31, "months": [1]}, "invalid_execute_day", "/day"),
        ("date", {"day": 0, "months": [1]}, "invalid_execute_day", "/day"),
        ("date", {"day": 5, "months": []}, "no_months", "/months"),
        ("date", {"day": 5, "months": [13]}, "invalid_schedule", "/months"),
        ("day", {"weekdays": [0], "months": []}, "no_months", "/months"),
        ("day", {"weekdays": [], "months": [1]}, "no_weekdays", "/weekdays"),
        ("day", {"weekdays": [7], "months": [1]}, "invalid_schedule", "/weekdays"),
        ("full_date", {"dates": ["2027-01-14"]}, "date_in_past", "/dates"),
        ("full_date", {"dates": []}, "no_dates", "/dates"),
        ("full_date", {"dates": ["15/01/2027"]}, "invalid_date", "/dates"),
        ("weekly", {}, "invalid_schedule_type", "/schedule_type"),
    ],
)
def test_bad_schedules_are_refused_with_the_field(kind: str, data: dict, code: str, pointer: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        schedule.parse(kind, data, today=TODAY)
    assert refused.value.code == code
    assert [e.pointer for e in refused.value.errors] == [pointer]


def test_upcoming_stays_within_the_horizon() -> None:
    plan = Schedule("date", day=1, months=schedule.ALL_MONTHS)
    dates = schedule.upcoming(plan, TODAY)
    assert dates[0] == date(2027, 2, 1) and dates[-1] <= TODAY + timedelta(days=schedule.HORIZON_DAYS)
    assert len(dates) == 13
