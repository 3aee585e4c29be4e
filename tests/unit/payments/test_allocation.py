"""The money arithmetic of payments: MDR per channel, largest-remainder splits and refund take-backs
never create or lose a rupiah."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.domains.payments.services.allocation import (
    FULL,
    Fees,
    Share,
    largest_remainder,
    mdr,
    split,
    take_back,
)


def test_mdr_defaults_match_the_provider() -> None:
    fees = Fees()
    assert mdr(fees, "va", 100_000) == 4_000
    assert mdr(fees, "qris", 100_000) == 700
    assert mdr(fees, "qris", 71) == 0  # 0.497 rounds half up to 0
    assert mdr(fees, "qris", 72) == 1  # 0.504 → 1
    assert mdr(fees, "card", 250_000) == 9_250
    assert mdr(fees, "ewallet", 100_000) == 1_500
    assert mdr(fees, "va", 1_000) == 1_000  # never above the amount


def test_largest_remainder_gives_the_leftover_rupiah_to_the_largest_fractions() -> None:
    # 100 split in thirds: 33.33… each; the one leftover rupiah goes to the first (ties: earlier).
    assert largest_remainder(100, [1, 1, 1], 3) == [34, 33, 33]
    # 10 split 1/6, 5/6: exact 1.67 and 8.33 → floors 1 and 8, leftover to the larger fraction (.67).
    assert largest_remainder(10, [1, 5], 6) == [2, 8]


def test_the_reference_example_60_40() -> None:
    parts, remainder = split(95_000, [Share(percent=6_000), Share(percent=4_000)])
    assert (parts, remainder) == ([57_000, 38_000], 0)
    takes, rest = take_back(100_000, parts, remainder)
    assert (takes, rest) == ([60_000, 40_000], 0)


def test_fixed_and_percent_parts_leave_the_rest_as_remainder() -> None:
    parts, remainder = split(96_003, [Share(percent=3_333), Share(amount=10_000)])
    assert parts == [31_997, 10_000] and remainder == 96_003 - 41_997


destination = st.one_of(
    st.builds(lambda p: Share(percent=p), st.integers(1, FULL)),
    st.builds(lambda a: Share(amount=a), st.integers(1, 5_000_000)),
)


@settings(max_examples=400, deadline=None)
@given(
    payments=st.lists(
        st.tuples(
            st.integers(1, 50_000_000),
            st.sampled_from(["va", "qris", "card", "ewallet"]),
            st.lists(destination, max_size=10),
            st.integers(0, 100),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_destinations_remainder_and_fees_add_up_to_gross(
    payments: list[tuple[int, str, list[Share], int]],
) -> None:
    """Across a batch of random payments, splits and refunds: Σ destinations + remainder + fees + refunds
    = gross, and no destination receives a negative amount."""
    fees = Fees()
    gross_total = paid_out = 0
    for amount, channel, shares, refund_percent in payments:
        fee = mdr(fees, channel, amount)
        total = amount - fee
        # The service refuses splits over the rules; keep the valid ones (Σ % ≤ 100, Σ fixed ≤ total).
        if sum(s.percent or 0 for s in shares) > FULL or sum(s.amount or 0 for s in shares) > total:
            shares = []
        parts, remainder = split(total, shares)
        assert all(p >= 0 for p in parts) and remainder >= 0
        assert sum(parts) + remainder == total
        refund = amount * refund_percent // 100
        takes, rest = take_back(min(refund, total), parts, remainder)
        assert sum(takes) + rest == min(refund, total)
        assert all(0 <= t <= p for t, p in zip(takes, parts, strict=True)) or refund > total
        gross_total += amount
        paid_out += sum(parts) + remainder + fee
    assert paid_out == gross_total
