"""Geometry of the server-rendered money in/out bar chart (inline SVG, no script, no style attributes):
bars, a nice y-axis with compact amounts, WIB day labels. The template only places what this computes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_compact_currency

from portal.domains.dashboard.services import CurrencyFlow
from portal.lib.money import exponent

WIDTH = 720
HEIGHT = 260
LEFT = 88  # room for the y-axis labels
RIGHT = 8
TOP = 12
BOTTOM = 30  # room for the x-axis labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str  # "in" | "out" | "internal"
    amount: int
    label: str  # the bar's day, for its <title>


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class DayLabel:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: float
    top: int
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    days: list[DayLabel]


def nice_step(peak: int, ticks: int = 4) -> int:
    """A round step (1, 2, 2.5 or 5 × 10ⁿ minor units) so that `ticks` steps cover `peak`."""
    if peak <= 0:
        return 1
    raw = peak / ticks
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        step = int(factor * magnitude)
        if step >= raw:
            return max(step, 1)
    return 10 * magnitude


def compact_amount(amount: int, currency: str, locale: str) -> str:
    """`Rp150 jt` / `IDR150M`: axis labels (the data table and tooltips carry the exact amounts)."""
    value = Decimal(amount).scaleb(-exponent(currency))
    if amount == 0:
        value = Decimal(0)
    return format_compact_currency(value, currency, locale=locale, fraction_digits=1)


def build(flow: CurrencyFlow, locale: str) -> Chart:
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_h
    step = nice_step(flow.peak)
    top_value = step * 4
    ticks = [
        Tick(round(baseline - plot_h * i / 4, 1), compact_amount(step * i, flow.currency, locale))
        for i in range(5)
    ]
    n = len(flow.days)
    slot = plot_w / max(n, 1)
    gap = slot * (0.3 if n <= 10 else 0.22)
    bar_w = (slot - gap) / 3
    bars: list[Bar] = []
    days: list[DayLabel] = []
    every = 1 if n <= 10 else 5
    for i, day in enumerate(flow.days):
        x0 = LEFT + i * slot + gap / 2
        label = format_date(day.day, "EEE d MMM yyyy", locale=locale)
        series = (("in", day.money_in), ("out", day.money_out), ("internal", day.internal))
        for j, (name, amount) in enumerate(series):
            h = plot_h * amount / top_value if top_value else 0
            if amount and h < 1.5:
                h = 1.5  # a visible sliver for small but non-zero days
            bars.append(
                Bar(
                    round(x0 + j * bar_w, 2),
                    round(baseline - h, 2),
                    round(bar_w, 2),
                    round(h, 2),
                    name,
                    amount,
                    label,
                )
            )
        if (n - 1 - i) % every == 0:
            pattern = "EEE d" if n <= 10 else "d MMM"
            days.append(
                DayLabel(round(LEFT + (i + 0.5) * slot, 1), format_date(day.day, pattern, locale=locale))
            )
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP, baseline, bars, ticks, days)
