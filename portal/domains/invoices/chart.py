"""Geometry of the billed-against-collected bar chart (inline SVG like the dashboard's, no script): two
bars per month, a round y-axis with compact amounts. The template only places what this computes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_compact_currency

from portal.domains.invoices.services.reports import Month
from portal.lib.money import exponent

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 720, 240, 88, 8, 12, 30


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: str  # "billed" | "collected"
    amount: int
    label: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    currency: str
    width: int
    height: int
    left: int
    right: float
    baseline: float
    bars: list[Bar]
    ticks: list[Tick]
    months: list[tuple[float, str]]


def _step(peak: int) -> int:
    if peak <= 0:
        return 1
    raw = peak / 4
    magnitude = 10 ** (len(str(int(raw))) - 1)
    return next((int(f * magnitude) for f in (1, 2, 2.5, 5, 10) if f * magnitude >= raw), 10 * magnitude)


def build(months: list[Month], locale: str) -> list[Chart]:
    """One chart per currency."""
    charts = []
    for currency in sorted({m.currency for m in months}):
        rows = [m for m in months if m.currency == currency]
        step = _step(max(max(m.billed, m.collected) for m in rows))
        top = step * 4
        baseline = HEIGHT - BOTTOM
        span = baseline - TOP
        slot = (WIDTH - LEFT - RIGHT) / max(len(rows), 1)
        width = max(min(slot * 0.35, 28), 2)
        bars, labels = [], []
        for i, m in enumerate(rows):
            label = format_date(m.month, "MMM yyyy", locale=locale)
            left = LEFT + i * slot + slot / 2 - width
            for j, (series, amount) in enumerate((("billed", m.billed), ("collected", m.collected))):
                height = span * max(amount, 0) / top
                bars.append(
                    Bar(
                        round(left + j * width, 1),
                        round(baseline - height, 1),
                        round(width, 1),
                        round(height, 1),
                        series,
                        amount,
                        label,
                    )
                )
            labels.append((round(LEFT + i * slot + slot / 2, 1), label))
        ticks = []
        for k in range(5):
            value = Decimal(step * k).scaleb(-exponent(currency))
            ticks.append(
                Tick(
                    round(baseline - span * k / 4, 1),
                    format_compact_currency(value, currency, locale=locale, fraction_digits=1),
                )
            )
        charts.append(Chart(currency, WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, baseline, bars, ticks, labels))
    return charts
