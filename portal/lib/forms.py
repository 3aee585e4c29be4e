"""Input cleaning shared by forms and API payloads: one clear message per bad field.

`text_error` is the one rule for what text may hold, applied at the edge to every query parameter, path
segment, JSON string and form field (see `portal/server/edge.py`), so nothing PostgreSQL cannot store
(NUL, lone surrogates) and nothing that disguises what is shown (direction overrides, zero-width
characters in references and ids) reaches a service.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from portal.lib.errors import FieldError
from portal.lib.i18n import N_, gettext

_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


# Explicit direction marks and overrides: they make a reference or a name display as something else.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Invisible joiners and spaces: two references that look the same must be the same.
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
# Fields of free text, which may span lines (and hold the joiners of emoji sequences).
FREE_TEXT_FIELDS = frozenset(
    {"description", "reason", "failure_reason", "note", "message", "metadata", "body"}
)
# Single-line fields shown as words (names), which may hold the joiners of emoji sequences.
NAME_FIELDS = frozenset({"name", "holder_name", "display_name", "full_name", "business_name", "q", "data"})
# Dates people may ask about: before it no money moved here; after it is a typing slip.
MIN_DAY = date(2000, 1, 1)
MAX_DAY = date(2100, 12, 31)


def field_kind(name: str) -> str:
    """ "free" (multi-line text), "name" (one line of words) or "token" (ids, references, codes, cursors)."""
    if name in FREE_TEXT_FIELDS:
        return "free"
    if name in NAME_FIELDS or name.endswith("_name"):
        return "name"
    return "token"


def text_error(pointer: str, value: str, kind: str = "token") -> FieldError | None:
    """The first reason `value` cannot be taken as text of this kind, as a FieldError (None when it can)."""
    if value.isascii() and value.isprintable():
        return None  # the common case, in one C-level pass
    for ch in value:
        category = unicodedata.category(ch)
        if category == "Cs":
            return FieldError(pointer, N_("contains characters that are not valid text"), "invalid_text")
        if category == "Cc" and not (kind == "free" and ch in "\t\r\n"):
            return FieldError(pointer, N_("Remove the control characters from this field."), "control")
        if ch in BIDI_CONTROLS:
            return FieldError(pointer, N_("Remove the invisible text-direction marks."), "bidi")
        if ch in ZERO_WIDTH and kind == "token":
            return FieldError(pointer, N_("Remove the invisible characters."), "invisible")
    return None


def day_error(pointer: str, value: date) -> FieldError | None:
    """A date outside MIN_DAY..MAX_DAY as a FieldError (they overflow date arithmetic or mean a slip)."""
    if MIN_DAY <= value <= MAX_DAY:
        return None
    return FieldError(
        pointer,
        N_("Choose a date between %(min)s and %(max)s."),
        "out_of_range",
        params={"min": MIN_DAY.isoformat(), "max": MAX_DAY.isoformat()},
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
