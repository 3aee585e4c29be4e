from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.lib.errors import ValidationFailed
from portal.lib.money import MAX_AMOUNT, check_amount, format_money, parse_amount, to_major


def test_idr_display_in_both_languages() -> None:
    assert format_money(150000, "IDR", "id_ID").replace("\xa0", "") == "Rp150.000"
    assert format_money(150000, "IDR", "en") == "IDR 150,000"


def test_two_decimal_currencies_display_minor_units() -> None:
    assert format_money(1234, "USD", "en") == "USD 12.34"


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [("150000", "IDR", 150000), ("150.000", "IDR", 150000), ("1,500", "IDR", 1500), ("12.50", "USD", 1250)],
)
def test_parse_amount(text: str, currency: str, expected: int) -> None:
    assert parse_amount(text, currency) == expected


@pytest.mark.parametrize("text", ["", "0", "-5", "abc", "1e5", "12.345", "1" * 20])
def test_parse_amount_refuses(text: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_amount(text, "USD")


@pytest.mark.parametrize("amount", [0, -1, MAX_AMOUNT + 1, True, 1.5])
def test_check_amount_refuses(amount: object) -> None:
    with pytest.raises(ValidationFailed):
        check_amount(amount)  # type: ignore[arg-type]


def test_unknown_currency() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_amount("10", "XYZ")
    assert info.value.code == "unsupported_currency"


@given(st.integers(min_value=1, max_value=MAX_AMOUNT), st.sampled_from(["IDR", "USD", "SGD"]))
def test_major_minor_round_trip(amount: int, currency: str) -> None:
    assert parse_amount(str(to_major(amount, currency)), currency) == amount
