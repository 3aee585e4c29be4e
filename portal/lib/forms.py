"""Input cleaning shared by forms and API payloads: one clear message per bad field."""

from __future__ import annotations

import re
import unicodedata

from portal.lib.errors import FieldError
from portal.lib.i18n import gettext

_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} and ch not in "\t" for ch in value)


def clean_text(
    errors: list[FieldError],
    field: str,
    value: str | None,
    *,
    max_length: int,
    required: bool = True,
    min_length: int = 1,
) -> str:
    """Trimmed text, or an entry in `errors`: empty, too long, NUL or control characters."""
    text = (value or "").strip()
    if "\x00" in text or has_control_characters(text):
        errors.append(FieldError(field, gettext("Remove the control characters from this field."), "control"))
        return text
    if not text:
        if required:
            errors.append(FieldError(field, gettext("This field is required."), "required"))
        return text
    if len(text) > max_length:
        errors.append(
            FieldError(field, gettext("Use at most %(n)d characters.") % {"n": max_length}, "too_long")
        )
    elif len(text) < min_length:
        errors.append(
            FieldError(field, gettext("Use at least %(n)d characters.") % {"n": min_length}, "too_short")
        )
    return text


def clean_email(errors: list[FieldError], field: str, value: str | None, *, required: bool = True) -> str:
    text = clean_text(errors, field, value, max_length=254, required=required)
    if text and not any(e.pointer == field for e in errors) and not _EMAIL_RE.match(text):
        errors.append(FieldError(field, gettext("Enter an e-mail address like name@example.com."), "email"))
    return text.lower() if "@" in text else text


def normalise_mobile(value: str) -> str | None:
    """An Indonesian or international mobile number as E.164 (`+628123456789`), or None."""
    digits = re.sub(r"[\s().-]", "", value)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("08"):
        digits = "+62" + digits[1:]
    elif digits.startswith("62"):
        digits = "+" + digits
    if not re.fullmatch(r"\+[1-9]\d{7,14}", digits):
        return None
    if digits.startswith("+62") and not re.fullmatch(r"\+628\d{7,11}", digits):
        return None  # Indonesian mobiles are 08… (9 to 13 digits nationally)
    return digits


def clean_mobile(
    errors: list[FieldError], field: str, value: str | None, *, required: bool = False
) -> str | None:
    text = clean_text(errors, field, value, max_length=24, required=required)
    if not text or any(e.pointer == field for e in errors):
        return None
    mobile = normalise_mobile(text)
    if mobile is None:
        errors.append(
            FieldError(
                field, gettext("Enter a mobile number like 0812 3456 7890 or +62 812 3456 7890."), "mobile"
            )
        )
    return mobile
