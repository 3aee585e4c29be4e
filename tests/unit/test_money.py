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
    ("text", "currency", "locale", "expected"),
    [
        ("150000", "IDR", "id_ID", 150000),
        ("150.000", "IDR", "id_ID", 150000),
        ("150.000,00", "IDR", "id_ID", 150000),
        ("Rp150.000", "IDR", "id_ID", 150000),
        ("Rp 150.000", "IDR", "id_ID", 150000),
        ("1,00", "IDR", "id_ID", 1),
        ("12,50", "USD", "id_ID", 1250),
        ("150,000", "IDR", "en", 150000),
        ("150,000.00", "IDR", "en", 150000),
        ("IDR 150,000", "IDR", "en", 150000),
        ("1,500", "IDR", "en", 1500),
        ("12.50", "USD", "en", 1250),
        ("$12.34", "USD", "en", 1234),
    ],
)
def test_parse_amount_as_written_in_the_locale(text: str, currency: str, locale: str, expected: int) -> None:
    assert parse_amount(text, currency, locale=locale) == expected


@pytest.mark.parametrize(
    ("text", "currency", "locale", "code"),
    [
        ("1,500", "IDR", "id_ID", "ambiguous"),  # 1,5 here; 1.500 in English
        ("150,000", "IDR", "id_ID", "ambiguous"),
        ("150.000", "IDR", "en", "ambiguous"),  # 150 here; 150.000 in Indonesian
        ("1.500", "USD", "en", "ambiguous"),
        ("150.000,50", "IDR", "id_ID", "too_precise"),
        ("12.50", "IDR", "en", "too_precise"),
        ("0.505", "USD", "en", "too_precise"),
        ("150,000.00", "IDR", "id_ID", "invalid"),  # English grouping in Indonesian
        ("150.000,00", "IDR", "en", "invalid"),
        ("1,00", "IDR", "en", "invalid"),
        ("１５０", "IDR", "id_ID", "invalid"),  # full-width digits
        ("١٥٠", "IDR", "en", "invalid"),  # Arabic-Indic digits
        ("US$5", "IDR", "id_ID", "invalid"),  # another currency's sign
        ("", "IDR", "id_ID", "required"),
    ],
)
def test_parse_amount_refuses_with_a_reason(text: str, currency: str, locale: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_amount(text, currency, locale=locale, pointer="amount")
    assert info.value.errors[0].code == code
    assert info.value.errors[0].pointer == "amount"


def test_ambiguous_message_shows_the_amount_as_read() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_amount("1,500", "IDR", locale="id_ID")
    assert "IDR 1,5" in info.value.detail and "1.500" in info.value.detail


@pytest.mark.parametrize("locale", ["id_ID", "en"])
@pytest.mark.parametrize("text", ["0", "-5", "abc", "1e5", "0.001", "1" * 20])
def test_parse_amount_refuses(text: str, locale: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_amount(text, "USD", locale=locale)


@pytest.mark.parametrize("amount", [0, -1, MAX_AMOUNT + 1, True, 1.5])
def test_check_amount_refuses(amount: object) -> None:
    with pytest.raises(ValidationFailed):
        check_amount(amount)  # type: ignore[arg-type]


def test_unknown_currency() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_amount("10", "XYZ")
    assert info.value.code == "unsupported_currency"


LOCALES = st.sampled_from(["id_ID", "en"])
CURRENCY = st.sampled_from(["IDR", "USD", "SGD"])


@given(st.integers(min_value=1, max_value=MAX_AMOUNT), CURRENCY, LOCALES)
def test_parse_reads_back_what_format_shows(amount: int, currency: str, locale: str) -> None:
    assert parse_amount(format_money(amount, currency, locale), currency, locale=locale) == amount


@given(st.integers(min_value=1, max_value=MAX_AMOUNT), CURRENCY, LOCALES)
def test_plain_major_units_round_trip(amount: int, currency: str, locale: str) -> None:
    major = to_major(amount, currency)
    text = str(major) if locale == "en" else str(major).replace(".", ",")
    assert parse_amount(text, currency, locale=locale) == amount


@given(
    st.integers(min_value=1, max_value=999_999),
    st.integers(min_value=0, max_value=999),
    st.sampled_from([".", ","]),
    CURRENCY,
    LOCALES,
)
def test_one_separator_before_three_digits_is_never_taken_as_decimals(
    whole: int, tail: int, separator: str, currency: str, locale: str
) -> None:
    """`1.500` and `1,500` are thousands in one convention and decimals in the other: either they read
    as thousands in this locale, or they are refused. Never 1.5."""
    text = f"{whole}{separator}{tail:03d}"
    try:
        value = parse_amount(text, currency, locale=locale)
    except ValidationFailed:
        return
    assert value == (whole * 1000 + tail) * 10 ** (0 if currency == "IDR" else 2)


@given(st.text(alphabet="0123456789.,", min_size=1, max_size=12), CURRENCY)
def test_a_text_read_in_both_locales_means_the_same(text: str, currency: str) -> None:
    """Whatever both conventions accept, they read the same way (nothing is ambiguous once accepted)."""
    values = []
    for locale in ("id_ID", "en"):
        try:
            values.append(parse_amount(text, currency, locale=locale))
        except ValidationFailed:
            return
    assert values[0] == values[1], text
