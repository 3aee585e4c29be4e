"""Money: integers in minor units everywhere; Decimal and Babel only at the display edge."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency

from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import gettext

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


_AMOUNT_RE = re.compile(r"^\d+(\.\d+)?$")


def parse_amount(text: str, currency: str, *, pointer: str = "amount") -> int:
    """Parse a human-entered amount in major units ("150000", "150.000", "12.50") into minor units.

    Indonesian thousands separators (dots) are accepted for IDR; anything that would lose precision is
    refused rather than rounded.
    """
    raw = (text or "").strip().replace(" ", "").replace("_", "")
    exp = exponent(currency)
    # IDR has no decimals, so dots and commas are thousands separators; otherwise only commas are.
    raw = raw.replace(".", "").replace(",", "") if exp == 0 else raw.replace(",", "")
    if not raw:
        raise ValidationFailed(gettext("Enter an amount."), errors=[FieldError(pointer, gettext("required"))])
    if not _AMOUNT_RE.match(raw):
        raise ValidationFailed(
            gettext("%(text)r is not an amount.") % {"text": text},
            errors=[FieldError(pointer, gettext("must be a positive number"))],
        )
    try:
        value = Decimal(raw).scaleb(exp)
    except InvalidOperation:
        raise ValidationFailed(
            gettext("%(text)r is not an amount.") % {"text": text},
            errors=[FieldError(pointer, gettext("invalid"))],
        ) from None
    if value != value.to_integral_value():
        raise ValidationFailed(
            gettext("%(currency)s amounts have at most %(places)d decimal places.")
            % {"currency": currency, "places": exp},
            errors=[FieldError(pointer, gettext("at most %(places)d decimal places") % {"places": exp})],
        )
    return check_amount(int(value), pointer=pointer)


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
