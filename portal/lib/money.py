"""Money: integers in minor units everywhere; Decimal and Babel only at the display edge."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_currency_symbol,
    get_decimal_symbol,
    parse_decimal,
)

from portal.lib.errors import Amount, FieldError, ValidationFailed
from portal.lib.i18n import N_, gettext

# ISO 4217 minor-unit exponents for the currencies Neraca holds.
EXPONENTS: dict[str, int] = {"IDR": 0, "USD": 2, "SGD": 2}
MAX_AMOUNT = 10**15 - 1
CURRENCIES = tuple(EXPONENTS)


def exponent(currency: str) -> int:
    try:
        return EXPONENTS[currency]
    except KeyError:
        raise ValidationFailed(
            gettext("Unsupported currency %(currency)r; use one of %(currencies)s.")
            % {"currency": currency, "currencies": ", ".join(CURRENCIES)},
            code="unsupported_currency",
            errors=[FieldError("/currency", gettext("unsupported currency"))],
        ) from None


def to_major(amount: int, currency: str) -> Decimal:
    """Minor units → Decimal in major units (display and file formats only)."""
    return Decimal(amount).scaleb(-exponent(currency))


_NUMBER_RE = re.compile(r"^[0-9.,]+$")
_PREFIX_RE = re.compile(r"^([^\d\s.,-]*)\s*")
# Written decimals of a currency without minor units ("Rp150.000,00") are accepted when they are zeros.
MIN_WRITTEN_DECIMALS = 2


def _refuse(pointer: str, msgid: str, code: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(
        msgid, params=params, code=code, errors=[FieldError(pointer, msgid, code, params)]
    )


def _strip_currency(text: str, currency: str, locale: str) -> str | None:
    """The number without a leading currency sign or code ("Rp150.000", "IDR 150,000"); None when the
    sign is another currency's or not a currency at all."""
    match = _PREFIX_RE.match(text)
    assert match is not None
    sign = match.group(1)
    if not sign:
        return text
    known = {currency, *(get_currency_symbol(currency, name) for name in (locale, "en", "id_ID"))}
    if currency == "IDR":
        known.add("Rp")
    if sign.casefold() not in {k.casefold() for k in known}:
        return None
    return text[match.end() :]


def parse_amount(text: str, currency: str, *, locale: str = "id_ID", pointer: str = "amount") -> int:
    """A human-entered amount in major units, written the way `locale` writes numbers, as minor units.

    Indonesian: `150.000`, `150.000,00`, `Rp150.000`; English: `150,000`, `150,000.00`, `IDR 150,000`.
    Strict (Babel): separators in the wrong place, digits other than 0-9, decimals the currency does not
    have and anything that reads two ways (`1.500` in English, `1,500` in Indonesian) are refused with a
    message showing how the amount was read; nothing is rounded.
    """
    exp = exponent(currency)
    raw = (text or "").strip().replace("\xa0", " ")
    if not raw:
        raise _refuse(pointer, N_("Enter an amount."), "required")
    shown = raw[:40]
    number = _strip_currency(raw, currency, locale)
    example = format_money(150000 * 10**exp, currency, locale)
    if number is None or not number or not _NUMBER_RE.match(number):
        msgid = N_("%(text)s is not an amount: use the digits 0-9, like %(example)s.")
        raise _refuse(pointer, msgid, "invalid", text=shown, example=example)
    decimal_sign = get_decimal_symbol(locale)
    try:
        value = parse_decimal(number, locale, strict=True)
    except NumberFormatError:
        msgid = N_("%(text)s is not written as an amount here: write it like %(example)s.")
        raise _refuse(pointer, msgid, "invalid", text=shown, example=example) from None
    whole, _, decimals = number.rpartition(decimal_sign) if decimal_sign in number else (number, "", "")
    if (
        len(decimals) == 3
        and number.count(decimal_sign) == 1
        and not any(c in whole for c in ".,")
        and whole != "0"
    ):
        # One separator and three digits after it: thousands in one convention, decimals in the other.
        raise _refuse(
            pointer,
            N_(
                "%(text)s is ambiguous: here it reads as %(understood)s. "
                "Write %(thousands)s if you meant that."
            ),
            "ambiguous",
            text=shown,
            understood=f"{currency} {format_decimal(value, locale=locale)}",
            thousands=format_money(int(whole + decimals) * 10**exp, currency, locale),
        )
    minor = value.scaleb(exp)
    if len(decimals) > max(exp, MIN_WRITTEN_DECIMALS) or minor != minor.to_integral_value():
        raise _refuse(
            pointer,
            N_("%(text)s reads as %(understood)s, but %(currency)s amounts have %(places)d decimal places."),
            "too_precise",
            text=shown,
            understood=f"{currency} {format_decimal(value, locale=locale)}",
            currency=currency,
            places=exp,
        )
    if minor > MAX_AMOUNT:
        raise _refuse(
            pointer, N_("The amount may be at most %(max)s."), "too_large", max=Amount(MAX_AMOUNT, currency)
        )
    return check_amount(int(minor), pointer=pointer)


def check_amount(amount: int, *, pointer: str = "amount") -> int:
    """Refuse zero, negative and over-limit amounts with a specific message."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationFailed(
            gettext("Amounts are whole numbers of minor units."),
            errors=[FieldError(pointer, gettext("integer"))],
        )
    if amount <= 0:
        raise ValidationFailed(
            gettext("The amount must be greater than zero."),
            errors=[FieldError(pointer, gettext("must be greater than zero"))],
        )
    if amount > MAX_AMOUNT:
        raise ValidationFailed(
            gettext("The amount may be at most %(max)d.") % {"max": MAX_AMOUNT},
            errors=[FieldError(pointer, gettext("must be at most %(max)d") % {"max": MAX_AMOUNT})],
        )
    return amount


MINUS = "\u2212"


def format_signed(amount: int | None, currency: str = "IDR", locale: str = "id_ID") -> str:
    """The portal's one convention for money in and out: `+IDR 5,000` in, `−IDR 5,000` out (a true minus
    sign before the currency), no sign for zero or an internal movement shown unsigned by the caller."""
    if amount is None:
        return ""
    sign = "+" if amount > 0 else (MINUS if amount < 0 else "")
    return sign + format_money(abs(amount), currency, locale)


def format_money(amount: int | None, currency: str = "IDR", locale: str = "id_ID") -> str:
    """`Rp150.000` in id_ID, `IDR 150,000` in English."""
    if amount is None:
        return ""
    value = to_major(amount, currency)
    if locale.startswith("en"):
        digits = exponent(currency)
        return f"{currency} {value:,.{digits}f}"
    # Our exponent, not CLDR's (which gives IDR two decimals): Rp150.000, US$12,34.
    pattern = "¤#,##0" if exponent(currency) == 0 else "¤#,##0.00"
    return format_currency(value, currency, format=pattern, locale=locale, currency_digits=False)
