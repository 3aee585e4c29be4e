"""Pure money arithmetic of payments: the provider's fee (MDR) and the split of a settlement amount.

Splitting never creates or loses a rupiah: fixed amounts are taken exactly; percentage parts use the
largest-remainder method (each part is floored, then the rupiah left over go one by one to the parts
with the largest fractional remainders, ties to the earlier destination), and whatever no destination
takes is the remainder for the default settlement account. So Σ parts + remainder = the amount, always.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Rates are in hundredths of a percent: 10,000 = 100 %.
FULL = 10_000
MAX_DESTINATIONS = 10


@dataclass(frozen=True)
class Fees:
    """A business's MDR per channel (defaults: the sandbox provider's)."""

    va_flat: int = 4_000
    qris_rate: int = 70
    card_rate: int = 290
    card_flat: int = 2_000
    ewallet_rate: int = 150


def _rate(amount: int, rate: int) -> int:
    """amount × rate / 10,000, rounded half up to a whole rupiah."""
    return (amount * rate + FULL // 2) // FULL


def mdr(fees: Fees, channel: str, amount: int) -> int:
    """The provider's fee on one payment of `amount` on `channel` (never above the amount)."""
    if channel == "va":
        fee = fees.va_flat
    elif channel == "qris":
        fee = _rate(amount, fees.qris_rate)
    elif channel == "card":
        fee = _rate(amount, fees.card_rate) + fees.card_flat
    else:
        fee = _rate(amount, fees.ewallet_rate)
    return min(fee, amount)


@dataclass(frozen=True)
class Share:
    """One destination's instruction: `percent` in hundredths of a percent, or a fixed `amount`."""

    percent: int | None = None
    amount: int | None = None


def largest_remainder(total: int, weights: Sequence[int], denominator: int) -> list[int]:
    """Split `total × Σweights / denominator` (floored) among the weights by largest remainder.

    Each part is total × weight / denominator floored; the rupiah left to reach the floored target go to
    the largest fractional remainders (ties: the earlier weight)."""
    if not weights:
        return []
    target = total * sum(weights) // denominator
    exact = [total * w for w in weights]
    parts = [e // denominator for e in exact]
    left = target - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] % denominator), i))
    for i in order[:left]:
        parts[i] += 1
    return parts


def split(amount: int, shares: Sequence[Share]) -> tuple[list[int], int]:
    """Each destination's part of `amount` and the remainder (Σ parts + remainder = amount).

    Fixed amounts are taken as they are; percentages apply to `amount`. The caller has checked the rules
    (Σ % ≤ 100, Σ fixed ≤ amount); if fixed and percentage parts together exceed the amount, the
    percentage parts are scaled down to what is left so nothing is invented."""
    parts = [0] * len(shares)
    fixed_total = 0
    for i, share in enumerate(shares):
        if share.amount is not None:
            parts[i] = share.amount
            fixed_total += share.amount
    assert fixed_total <= amount, "fixed parts above the amount are refused before splitting"
    percent_idx = [i for i, s in enumerate(shares) if s.percent is not None]
    weights = [int(shares[i].percent or 0) for i in percent_idx]
    computed = largest_remainder(amount, weights, FULL)
    room = amount - fixed_total
    if sum(computed) > room:
        computed = largest_remainder(room, weights, sum(weights))
    for i, value in zip(percent_idx, computed, strict=True):
        parts[i] = value
    return parts, amount - sum(parts)


def take_back(refund: int, received: Sequence[int], remainder: int) -> tuple[list[int], int]:
    """How much of a refund each destination gives back, in proportion to what it received from the
    payment (the reference's example: 60/40 → 60 % and 40 % of the refund), and the remainder's share.
    Σ = refund."""
    weights = [*received, remainder]
    base = sum(weights)
    if base <= 0:
        return [0] * len(received), refund
    parts = largest_remainder(refund, weights, base)
    leftover = refund - sum(parts)
    return parts[:-1], parts[-1] + leftover
