"""Shared pieces of the billing rules: input cleaning (a card number is refused in every field),
the business's date (WIB), row loading with tenant isolation, the activity log."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

import asyncpg

from portal.domains.audit.services import record
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, NotFound, ValidationFailed
from portal.lib.forms import has_control_characters, normalise_mobile
from portal.lib.i18n import N_
from portal.lib.timefmt import WIB

_REF = re.compile(r"^[A-Za-z0-9._/-]{1,40}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# 13 to 19 digits, possibly split by spaces or dashes: the shape of a card number (PAN).
PAN_CANDIDATE = _PAN_CANDIDATE = re.compile(r"(?<![0-9])(?:[0-9][ -]?){12,18}[0-9](?![0-9])")
_ID = re.compile(r"^[a-z]{2,5}_[0-9a-z]{26}$")


def today() -> date:
    """The business's current date (WIB) on Neraca's clock."""
    return clock.now().astimezone(WIB).date()


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def looks_like_card_number(text: str) -> bool:
    """True when `text` holds a card number (13–19 digits passing the Luhn check, spaces or dashes
    allowed between them). Such text is refused everywhere: cards are typed only on the provider's page."""
    for match in _PAN_CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group(0))
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            return True
    return False


def card_number_refused(pointer: str) -> ValidationFailed:
    # The value itself is never echoed, logged or stored: the message names the field only.
    return ValidationFailed(
        N_("A card number cannot be typed here. Cards are registered on the provider's secure page."),
        code="card_number_refused",
        errors=[FieldError(pointer, N_("looks like a card number"), "card_number_refused")],
    )


def refuse_card_numbers(values: Mapping[str, Any]) -> None:
    """Refuse the whole input when any of its text fields holds a card number (pointer → value)."""
    for pointer, value in values.items():
        if isinstance(value, str) and looks_like_card_number(value):
            raise card_number_refused(pointer)


def text(value: Any, pointer: str, *, max_length: int, required: bool = True) -> str:
    cleaned = " ".join(str(value if value is not None else "").split())
    if looks_like_card_number(cleaned):
        raise card_number_refused(pointer)
    if has_control_characters(cleaned):
        raise ValidationFailed(
            N_("Remove the control characters from this field."),
            code="invalid_field",
            errors=[FieldError(pointer, N_("control characters"), "control")],
        )
    if required and not cleaned:
        raise ValidationFailed(
            N_("This field is required."),
            code="required",
            errors=[FieldError(pointer, N_("required"), "required")],
        )
    if len(cleaned) > max_length:
        raise ValidationFailed(
            N_("Use at most %(n)s characters."),
            params={"n": max_length},
            code="too_long",
            errors=[FieldError(pointer, N_("too long"), "too_long")],
        )
    return cleaned


def reference(value: Any, pointer: str, label: str) -> str:
    """A business's own reference (Customer ID, Billing Number): 1–40 letters, digits, . _ / -."""
    cleaned = str(value if value is not None else "").strip()
    if looks_like_card_number(cleaned):
        raise card_number_refused(pointer)
    if not _REF.match(cleaned):
        raise ValidationFailed(
            N_("%(field)s is 1 to 40 letters, digits, dots, dashes, slashes or underscores."),
            params={"field": label},
            code="invalid_reference",
            errors=[FieldError(pointer, N_("1 to 40 letters, digits, . _ / -"), "invalid_reference")],
        )
    return cleaned


def email(value: Any, pointer: str = "/email") -> str | None:
    cleaned = text(value, pointer, max_length=254, required=False)
    if not cleaned:
        return None
    if not _EMAIL.match(cleaned):
        raise ValidationFailed(
            N_("Enter an e-mail address like name@example.com."),
            code="invalid_email",
            errors=[FieldError(pointer, N_("not an e-mail address"), "email")],
        )
    return cleaned.lower()


def phone(value: Any, pointer: str = "/phone") -> str | None:
    cleaned = text(value, pointer, max_length=20, required=False)
    if not cleaned:
        return None
    normal = normalise_mobile(cleaned)
    if normal is None or not normal.startswith("+628"):
        raise ValidationFailed(
            N_("Enter an Indonesian mobile number (08… or +628…)."),
            code="invalid_phone",
            errors=[FieldError(pointer, N_("not an Indonesian mobile number"), "phone")],
        )
    return "0" + normal[3:]


def amount(value: Any, pointer: str = "/amount") -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1_000_000_000_000:
        raise ValidationFailed(
            N_("The amount must be a whole number of rupiah above zero."),
            code="invalid_amount",
            errors=[FieldError(pointer, N_("must be a positive whole number"), "invalid_amount")],
        )
    return value


def valid_id(value: Any, prefix: str) -> bool:
    return isinstance(value, str) and value.startswith(prefix + "_") and bool(_ID.match(value))


def not_found(kind: str, object_id: Any, pointer: str | None = None) -> NotFound:
    shown = str(object_id)[:40]
    if looks_like_card_number(shown):
        shown = "-"
    return NotFound(
        N_("%(kind)s %(id)s was not found."),
        params={"kind": kind, "id": shown},
        errors=[FieldError(pointer, N_("not found"))] if pointer else [],
    )


def scope_clause(actor: Actor, args: list[Any], column: str = "account_id") -> str:
    """`AND …` limiting rows to the actor's account subtree (empty for the whole business)."""
    if actor.scope_account_id is None:
        return ""
    args.append(f"%/{actor.scope_account_id}/%")
    return f" AND {column} IN (SELECT id FROM account WHERE business_id = $1 AND path LIKE ${len(args)})"


async def audit(actor: Actor, action: str, summary: str, refs: dict[str, str]) -> None:
    await record(actor, action, summary, refs=refs)


def record_dict(row: asyncpg.Record | None) -> dict[str, Any] | None:
    return dict(row) if row is not None else None


__all__ = ["sql"]
