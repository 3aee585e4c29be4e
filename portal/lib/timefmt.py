"""Business time is Asia/Jakarta (WIB); everything is stored in UTC."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

WIB = ZoneInfo("Asia/Jakarta")


def to_wib(value: datetime) -> datetime:
    return value.astimezone(WIB)


def format_wib_datetime(value: datetime | None, locale: str = "en") -> str:
    if value is None:
        return ""
    return format_datetime(to_wib(value), "d MMM yyyy HH:mm", tzinfo=WIB, locale=locale) + " WIB"


def format_wib_date(value: date | datetime | None, locale: str = "en") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_wib(value).date()
    return format_date(value, "d MMM yyyy", locale=locale)
