"""Billing periods and amounts without a database: day 31 in short months, weekly/quarterly/yearly
boundaries, percentages and the tax rounding rule (half up to the minor unit)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domains.invoices.cycles import invoice_amounts, next_boundary, percent_to_bp, period_end, share


def periods(cycle: str, day: int, start: date, count: int) -> list[date]:
    ends, current = [], start
    for _ in range(count):
        current = period_end(cycle, day, start, current, None)
        ends.append(current)
    return ends


def test_day_31_is_the_last_day_of_february_and_of_thirty_day_months() -> None:
    assert periods("monthly", 31, date(2026, 1, 31), 5) == [
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
        date(2026, 6, 30),
    ]
    assert periods("monthly", 30, date(2028, 1, 30), 2) == [date(2028, 2, 29), date(2028, 3, 30)]  # leap year


def test_the_first_period_runs_to_the_first_boundary_after_the_start() -> None:
    assert period_end("monthly", 15, date(2026, 1, 20), date(2026, 1, 20), None) == date(2026, 2, 15)
    assert period_end("monthly", 15, date(2026, 1, 10), date(2026, 1, 10), None) == date(2026, 1, 15)
    assert period_end("monthly", 1, date(2026, 1, 1), date(2026, 1, 1), None) == date(2026, 2, 1)


def test_the_end_date_cuts_the_last_period() -> None:
    end = period_end("monthly", 1, date(2026, 1, 1), date(2026, 3, 1), date(2026, 3, 20))
    assert end == date(2026, 3, 20)


def test_weekly_quarterly_and_yearly_boundaries() -> None:
    # 1 = Monday: 2 March 2026 is a Monday.
    assert periods("weekly", 1, date(2026, 2, 26), 2) == [date(2026, 3, 2), date(2026, 3, 9)]
    assert periods("quarterly", 31, date(2026, 1, 31), 4) == [
        date(2026, 4, 30),
        date(2026, 7, 31),
        date(2026, 10, 31),
        date(2027, 1, 31),
    ]
    assert periods("yearly", 29, date(2028, 2, 29), 2) == [date(2029, 2, 28), date(2030, 2, 28)]
    with pytest.raises(ValueError):
        next_boundary("daily", 1, date(2026, 1, 1), date(2026, 1, 1))


def test_tax_and_percentages_round_half_up_to_the_minor_unit() -> None:
    assert share(100_000, 1100) == 11_000
    assert share(50, 1100) == 6  # 5.5 → 6
    assert share(45, 1100) == 5  # 4.95 → 5
    assert share(40, 1100) == 4  # 4.4 → 4
    amounts = invoice_amounts(
        plan_name="Royalty",
        fixed_amount=0,
        percent_bp=250,
        tax_bp=1100,
        money_in=1_234_567,
        usage=[("API calls", 3, 333)],
    )
    assert [line.amount for line in amounts.lines] == [30_864, 999]  # 30,864.175 → 30,864
    assert amounts.subtotal == 31_863 and amounts.tax == 3_505 and amounts.total == 35_368


def test_percentages_take_at_most_two_decimals() -> None:
    assert percent_to_bp("11") == 1100 and percent_to_bp("2,5") == 250 and percent_to_bp("0.01") == 1
    assert percent_to_bp("1.005") is None and percent_to_bp("abc") is None and percent_to_bp("nan") is None


@given(
    st.sampled_from(["weekly", "monthly", "quarterly", "yearly"]),
    st.integers(1, 31),
    st.dates(date(2024, 1, 1), date(2030, 12, 31)),
)
def test_periods_are_contiguous_and_never_empty(cycle: str, day: int, start: date) -> None:
    cycle_day = (day - 1) % 7 + 1 if cycle == "weekly" else day
    current = start
    for _ in range(6):
        end = period_end(cycle, cycle_day, start, current, None)
        assert end > current
        assert (end - current).days <= {"weekly": 7, "monthly": 31, "quarterly": 92, "yearly": 366}[cycle]
        current = end


@given(st.integers(0, 10**12), st.integers(0, 10_000))
def test_share_is_the_nearest_minor_unit(amount: int, bp: int) -> None:
    exact = amount * bp / 10_000
    assert abs(share(amount, bp) - exact) <= 0.5
