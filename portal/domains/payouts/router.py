"""Payout rails, the business-day calendar and the router: pure functions over reference data.

Nothing here reads the database or the clock: services load the rails and the calendar overrides and
pass the moment the instruction is received, so every rule can be tested on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# Imported when the module loads (it brings every country's module, ~0.1 s), not by the first payout
# that asks for a business day: `holidays.country_holidays` would import it then.
from holidays.countries.indonesia import Indonesia

WIB = ZoneInfo("Asia/Jakarta")
WALLETS = ("OVO", "GOPAY", "DANA", "SHOPEEPAY", "LINKAJA")
# A destination is "bank" (any bank account) or one of the e-wallets.
DESTINATIONS = ("bank", *WALLETS)


@dataclass(frozen=True)
class Window:
    """One period a business-day rail accepts instructions: from `opens` until `cutoff` (WIB).

    `settles` is when the clearing of that window settles; None means at once (real time within hours)."""

    opens: time
    cutoff: time
    settles: time | None = None


@dataclass(frozen=True)
class Rail:
    code: str
    name: str
    provider_rail: str  # the provider's name for it: bifast | online | skn | rtgs | ewallet
    destination: str  # bank | OVO | GOPAY | DANA | SHOPEEPAY | LINKAJA
    min_amount: int
    max_amount: int
    fee: int
    always_open: bool  # 24/7 including holidays; otherwise business days within `windows`
    windows: tuple[Window, ...] = ()
    fee_cap: int | None = None
    sort_order: int = 0
    active: bool = True

    def charged_fee(self) -> int:
        """The fee, never above the rail's regulatory cap."""
        return min(self.fee, self.fee_cap) if self.fee_cap is not None else self.fee

    def carries(self, amount: int, destination: str) -> bool:
        return (
            self.active and self.destination == destination and self.min_amount <= amount <= self.max_amount
        )


@dataclass(frozen=True)
class Calendar:
    """Indonesian business days: Monday–Friday that are neither a public holiday nor a government
    (cuti bersama) day, with operator overrides (date → business day or not) taking precedence."""

    overrides: Mapping[date, bool] = field(default_factory=dict)

    def is_business_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        return day.weekday() < 5 and day not in _holidays(day.year)

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def business_days(self, start: date, count: int) -> list[date]:
        """`count` business days from `start` (included when it is one)."""
        days: list[date] = []
        day = start if self.is_business_day(start) else self.next_business_day(start)
        while len(days) < count:
            days.append(day)
            day = self.next_business_day(day)
        return days


@lru_cache(maxsize=16)
def _holidays(year: int) -> holidays.HolidayBase:
    # PUBLIC plus GOVERNMENT (cuti bersama): BI clearing and the banks close on both.
    return Indonesia(years=year, categories=(holidays.PUBLIC, holidays.GOVERNMENT))


def holiday_name(day: date) -> str | None:
    return _holidays(day.year).get(day)


@dataclass(frozen=True)
class Eta:
    """When a payout received at `received_at` on a rail is expected to settle at the beneficiary.

    `scheduled` is True when the rail is closed at receipt: the instruction waits for `processing_day`."""

    received_at: datetime
    settles_at: datetime
    processing_day: date
    scheduled: bool


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=WIB).astimezone(UTC)


def eta(rail: Rail, received_at: datetime, calendar: Calendar) -> Eta:
    """The ETA of an instruction received at `received_at` (aware) on `rail`."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    received_at = received_at.astimezone(UTC)
    local = received_at.astimezone(WIB)
    if rail.always_open or not rail.windows:
        return Eta(received_at, received_at, local.date(), scheduled=False)
    windows = sorted(rail.windows, key=lambda w: w.cutoff)
    today = local.date()
    if calendar.is_business_day(today):
        now = local.time()
        for window in windows:
            if now < window.cutoff:
                opens = _at(today, window.opens)
                starts = max(received_at, opens)
                settles = _at(today, window.settles) if window.settles is not None else starts
                return Eta(received_at, max(settles, starts), today, scheduled=received_at < opens)
    day = calendar.next_business_day(today)
    first = windows[0]
    settles = _at(day, first.settles if first.settles is not None else first.opens)
    return Eta(received_at, max(settles, _at(day, first.opens)), day, scheduled=True)


@dataclass(frozen=True)
class Quote:
    rail: Rail
    amount: int
    fee: int
    eta: Eta


class NoRail(Exception):
    """No rail can carry this payout; `reason` says which rule refused it."""

    def __init__(self, reason: str, rail: Rail | None = None) -> None:
        super().__init__(reason)
        self.reason = (
            reason  # unknown_rail | wrong_destination | below_minimum | above_maximum | inactive | none
        )
        self.rail = rail


def route(
    rails: Iterable[Rail],
    amount: int,
    destination: str,
    received_at: datetime,
    calendar: Calendar,
    *,
    rail_code: str | None = None,
) -> Quote:
    """The rail for a payout: the one asked for when it is eligible, else the cheapest eligible one
    (ties: the earlier ETA, then the operator's order). Raises NoRail when none can carry it."""
    candidates = list(rails)
    if rail_code is not None:
        rail = next((r for r in candidates if r.code == rail_code), None)
        if rail is None:
            raise NoRail("unknown_rail")
        if not rail.active:
            raise NoRail("inactive", rail)
        if rail.destination != destination:
            raise NoRail("wrong_destination", rail)
        if amount < rail.min_amount:
            raise NoRail("below_minimum", rail)
        if amount > rail.max_amount:
            raise NoRail("above_maximum", rail)
        return Quote(rail, amount, rail.charged_fee(), eta(rail, received_at, calendar))
    eligible = [r for r in candidates if r.carries(amount, destination)]
    if not eligible:
        for_destination = [r for r in candidates if r.active and r.destination == destination]
        if not for_destination:
            raise NoRail("wrong_destination")
        if all(amount < r.min_amount for r in for_destination):
            raise NoRail("below_minimum", min(for_destination, key=lambda r: r.min_amount))
        raise NoRail("above_maximum", max(for_destination, key=lambda r: r.max_amount))
    quotes = [Quote(r, amount, r.charged_fee(), eta(r, received_at, calendar)) for r in eligible]
    return min(quotes, key=lambda q: (q.fee, q.eta.settles_at, q.rail.sort_order, q.rail.code))


def _window(opens: str, cutoff: str, settles: str | None = None) -> Window:
    return Window(
        time.fromisoformat(opens),
        time.fromisoformat(cutoff),
        time.fromisoformat(settles) if settles else None,
    )


# The rails as seeded by the migration (operators edit them in `ref_payout_rails` afterwards).
SKN_WINDOWS = (
    _window("08:00", "10:00", "11:00"),
    _window("10:00", "12:00", "13:00"),
    _window("12:00", "14:00", "15:00"),
    _window("14:00", "15:00", "16:30"),
)
RTGS_WINDOWS = (_window("08:00", "14:00"),)
DEFAULT_RAILS: tuple[Rail, ...] = (
    Rail("bifast", "BI-FAST", "bifast", "bank", 1, 250_000_000, 2_500, True, fee_cap=2_500, sort_order=10),
    Rail("online", "Online transfer", "online", "bank", 1, 50_000_000, 6_500, True, sort_order=20),
    Rail("skn", "SKN/LLG", "skn", "bank", 1, 1_000_000_000, 2_900, False, SKN_WINDOWS, sort_order=30),
    Rail(
        "rtgs",
        "BI-RTGS",
        "rtgs",
        "bank",
        100_000_001,
        1_000_000_000_000,
        30_000,
        False,
        RTGS_WINDOWS,
        sort_order=40,
    ),
    Rail("ewallet_ovo", "OVO", "ewallet", "OVO", 10_000, 20_000_000, 1_000, True, sort_order=50),
    Rail("ewallet_gopay", "GoPay", "ewallet", "GOPAY", 10_000, 20_000_000, 1_000, True, sort_order=51),
    Rail("ewallet_dana", "DANA", "ewallet", "DANA", 10_000, 20_000_000, 1_000, True, sort_order=52),
    Rail(
        "ewallet_shopeepay",
        "ShopeePay",
        "ewallet",
        "SHOPEEPAY",
        10_000,
        20_000_000,
        1_000,
        True,
        sort_order=53,
    ),
    Rail("ewallet_linkaja", "LinkAja", "ewallet", "LINKAJA", 10_000, 10_000_000, 1_000, True, sort_order=54),
)
