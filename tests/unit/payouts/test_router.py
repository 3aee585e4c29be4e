"""The payout router: eligible rails, the cheapest one, and the ETA over Indonesian business days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domains.payouts.router import (
    DEFAULT_RAILS,
    WIB,
    Calendar,
    NoRail,
    eta,
    route,
)

RAILS = {rail.code: rail for rail in DEFAULT_RAILS}
CALENDAR = Calendar()


def wib(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WIB)


def test_skn_on_friday_afternoon_before_a_holiday_monday_settles_on_tuesday() -> None:
    # 17 August 2026 (Independence Day) is a Monday.
    result = eta(RAILS["skn"], wib(2026, 8, 14, 16), CALENDAR)
    assert result.scheduled
    assert result.processing_day == date(2026, 8, 18)
    assert result.settles_at.astimezone(WIB).date() == date(2026, 8, 18)


def test_rtgs_after_the_cutoff_moves_to_the_next_business_day() -> None:
    result = eta(RAILS["rtgs"], wib(2026, 8, 12, 14, 1), CALENDAR)
    assert result.scheduled
    assert result.processing_day == date(2026, 8, 13)
    assert result.settles_at == wib(2026, 8, 13, 8).astimezone(UTC)


def test_rtgs_before_the_cutoff_goes_at_once() -> None:
    received = wib(2026, 8, 12, 13, 59)
    result = eta(RAILS["rtgs"], received, CALENDAR)
    assert not result.scheduled
    assert result.settles_at == received


def test_bifast_on_a_holiday_goes_at_once() -> None:
    received = wib(2026, 8, 17, 10)
    result = eta(RAILS["bifast"], received, CALENDAR)
    assert not result.scheduled
    assert result.settles_at == received
    assert result.processing_day == date(2026, 8, 17)


def test_skn_inside_a_clearing_window_settles_with_that_window() -> None:
    result = eta(RAILS["skn"], wib(2026, 8, 12, 10, 30), CALENDAR)
    assert not result.scheduled
    assert result.settles_at == wib(2026, 8, 12, 13).astimezone(UTC)


def test_cuti_bersama_is_not_a_business_day() -> None:
    # 16 March 2027 is no holiday, but the Eid joint leave of 15 March 2027 is a government day off.
    assert not CALENDAR.is_business_day(date(2027, 3, 15))


def test_an_override_wins_over_the_library_both_ways() -> None:
    calendar = Calendar({date(2026, 8, 17): True, date(2026, 8, 18): False})
    assert calendar.is_business_day(date(2026, 8, 17))
    assert not calendar.is_business_day(date(2026, 8, 18))
    result = eta(RAILS["skn"], wib(2026, 8, 14, 16), calendar)
    assert result.processing_day == date(2026, 8, 17)


def test_business_days_skip_weekends_and_holidays() -> None:
    assert CALENDAR.business_days(date(2026, 8, 14), 3) == [
        date(2026, 8, 14),
        date(2026, 8, 18),
        date(2026, 8, 19),
    ]


def test_router_picks_the_cheapest_eligible_bank_rail() -> None:
    now = wib(2026, 8, 12, 9)
    assert route(DEFAULT_RAILS, 1_000_000, "bank", now, CALENDAR).rail.code == "bifast"
    assert route(DEFAULT_RAILS, 300_000_000, "bank", now, CALENDAR).rail.code == "skn"
    assert route(DEFAULT_RAILS, 2_000_000_000, "bank", now, CALENDAR).rail.code == "rtgs"
    assert route(DEFAULT_RAILS, 50_000, "DANA", now, CALENDAR).rail.code == "ewallet_dana"


def test_router_honours_the_rail_asked_for_or_says_why_not() -> None:
    now = wib(2026, 8, 12, 9)
    assert route(DEFAULT_RAILS, 1_000_000, "bank", now, CALENDAR, rail_code="online").fee == 6_500
    with pytest.raises(NoRail) as over:
        route(DEFAULT_RAILS, 60_000_000, "bank", now, CALENDAR, rail_code="online")
    assert over.value.reason == "above_maximum"
    with pytest.raises(NoRail) as below:
        route(DEFAULT_RAILS, 1_000_000, "bank", now, CALENDAR, rail_code="rtgs")
    assert below.value.reason == "below_minimum"
    with pytest.raises(NoRail) as wrong:
        route(DEFAULT_RAILS, 1_000_000, "OVO", now, CALENDAR, rail_code="bifast")
    assert wrong.value.reason == "wrong_destination"
    with pytest.raises(NoRail) as unknown:
        route(DEFAULT_RAILS, 1_000_000, "bank", now, CALENDAR, rail_code="swift")
    assert unknown.value.reason == "unknown_rail"


def test_router_refuses_an_amount_no_rail_carries() -> None:
    now = wib(2026, 8, 12, 9)
    with pytest.raises(NoRail) as over:
        route(DEFAULT_RAILS, 30_000_000, "LINKAJA", now, CALENDAR)
    assert over.value.reason == "above_maximum"
    with pytest.raises(NoRail) as below:
        route(DEFAULT_RAILS, 5_000, "OVO", now, CALENDAR)
    assert below.value.reason == "below_minimum"


def test_the_bifast_fee_never_exceeds_its_cap() -> None:
    from dataclasses import replace

    assert replace(RAILS["bifast"], fee=9_000).charged_fee() == 2_500


moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(WIB)
)


@given(moment=moments, amount=st.integers(min_value=1, max_value=1_000_000_000_000))
def test_a_routed_bank_payout_is_eligible_cheapest_and_never_settles_before_receipt(
    moment: datetime, amount: int
) -> None:
    quote = route(DEFAULT_RAILS, amount, "bank", moment, CALENDAR)
    assert quote.rail.carries(amount, "bank")
    assert all(quote.fee <= r.charged_fee() for r in DEFAULT_RAILS if r.carries(amount, "bank"))
    assert quote.eta.settles_at >= moment


@given(moment=moments, code=st.sampled_from(["skn", "rtgs"]))
def test_a_business_day_rail_settles_on_a_business_day_within_its_hours(moment: datetime, code: str) -> None:
    rail = RAILS[code]
    result = eta(rail, moment, CALENDAR)
    settles = result.settles_at.astimezone(WIB)
    assert CALENDAR.is_business_day(result.processing_day)
    assert settles.date() == result.processing_day
    assert result.processing_day >= moment.date()
    assert settles.time() >= min(w.opens for w in rail.windows)
    # Scheduled exactly when the instruction arrives while the rail is closed.
    open_now = CALENDAR.is_business_day(moment.date()) and any(
        w.opens <= moment.time() < w.cutoff for w in rail.windows
    )
    gap = (result.processing_day - moment.date()) > timedelta(0)
    assert result.scheduled == (not open_now and (gap or moment.time() < rail.windows[0].opens))
    assert time(0) <= settles.time()
