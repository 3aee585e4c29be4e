"""Per-merchant test clocks and Indonesian business days.

A merchant's clock is real time plus an offset it can only move forward (or reset to zero). Everything
that depends on a merchant's time — pay-in expiry, payout completion, business days, settlement — reads
it, so advancing it makes due work happen without waiting.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import asyncpg
import holidays

# Imported when the module loads (it brings every country's module, ~0.1 s), not by the first payout
# that asks for a business day: `holidays.country_holidays` would import it then.
from holidays.countries.indonesia import Indonesia

from portal.simulator.errors import invalid

WIB = ZoneInfo("Asia/Jakarta")


async def offset(conn: asyncpg.Connection, merchant_id: str) -> int:
    value = await conn.fetchval("SELECT offset_s FROM sim_clocks WHERE merchant_id = $1", merchant_id)
    return int(value or 0)


async def now(conn: asyncpg.Connection, merchant_id: str) -> datetime:
    """The merchant's current time (UTC)."""
    return datetime.now(UTC) + timedelta(seconds=await offset(conn, merchant_id))


async def advance(conn: asyncpg.Connection, merchant_id: str, seconds: int) -> datetime:
    """Move the merchant's clock forward by `seconds`; what falls due meanwhile happens at once."""
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds <= 0 or seconds > 400 * 86_400:
        raise invalid("/seconds", "seconds must be a whole number between 1 and 34560000.")
    await conn.execute(
        "INSERT INTO sim_clocks (merchant_id, offset_s) VALUES ($1, $2) "
        "ON CONFLICT (merchant_id) DO UPDATE SET offset_s = sim_clocks.offset_s + EXCLUDED.offset_s",
        merchant_id,
        seconds,
    )
    return await now(conn, merchant_id)


async def reset(conn: asyncpg.Connection, merchant_id: str) -> datetime:
    """Back to real time (work already done stays done)."""
    await conn.execute("DELETE FROM sim_clocks WHERE merchant_id = $1", merchant_id)
    return datetime.now(UTC)


@lru_cache(maxsize=32)
def _holidays(year: int) -> holidays.HolidayBase:
    # PUBLIC days plus GOVERNMENT ones (cuti bersama): banks and BI clearing close on both.
    return Indonesia(years=year, categories=(holidays.PUBLIC, holidays.GOVERNMENT))


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def next_business_day(day: date) -> date:
    """`day` itself when it is a business day, else the first business day after it."""
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def add_business_days(day: date, count: int) -> date:
    for _ in range(count):
        day = next_business_day(day + timedelta(days=1))
    return day


def business_date(moment: datetime) -> date:
    """The business day a moment counts for: its WIB date, rolled forward past weekends and holidays."""
    return next_business_day(moment.astimezone(WIB).date())


def wib(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=WIB).astimezone(UTC)
