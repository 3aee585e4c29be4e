"""Reading a JSON body field by field: every refusal is a 422 naming the field (a JSON pointer)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from portal.simulator.errors import invalid

_DIGITS = re.compile(r"^[0-9]+$")


def text(body: dict[str, Any], name: str, *, required: bool = True, max_length: int = 255) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise invalid(f"/{name}", f"{name} is required.")
        return None
    if not isinstance(value, str) or len(value) > max_length or not value.strip():
        raise invalid(f"/{name}", f"{name} must be text of at most {max_length} characters.")
    return value.strip()


def required_text(body: dict[str, Any], name: str, *, max_length: int = 255) -> str:
    value = text(body, name, max_length=max_length)
    assert value is not None
    return value


def choice(
    body: dict[str, Any], name: str, options: tuple[str, ...] | set[str], *, required: bool = True
) -> str | None:
    value = text(body, name, required=required, max_length=40)
    if value is not None and value not in options:
        raise invalid(f"/{name}", f"{name} must be one of {', '.join(sorted(options))}.")
    return value


def amount(body: dict[str, Any], name: str = "amount") -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0 or value > 10**15:
        raise invalid(f"/{name}", f"{name} must be a positive whole number of minor units.")
    return value


def currency(body: dict[str, Any]) -> str:
    value = body.get("currency", "IDR")
    if value != "IDR":
        raise invalid("/currency", "currency must be IDR.")
    return "IDR"


def digits(
    body: dict[str, Any], name: str, *, min_length: int, max_length: int, required: bool = True
) -> str | None:
    value = text(body, name, required=required, max_length=max_length)
    if value is not None and (not _DIGITS.match(value) or len(value) < min_length):
        raise invalid(f"/{name}", f"{name} must be {min_length} to {max_length} digits.")
    return value


def phone(body: dict[str, Any], name: str = "phone", *, required: bool = True) -> str | None:
    value = text(body, name, required=required, max_length=16)
    if value is None:
        return None
    normal = "0" + value[3:] if value.startswith("+62") else value
    if not _DIGITS.match(normal) or not normal.startswith("08") or not 10 <= len(normal) <= 13:
        raise invalid(f"/{name}", f"{name} must be an Indonesian mobile number (08… or +628…).")
    return normal


def moment(body: dict[str, Any], name: str, *, required: bool = True) -> datetime | None:
    value = text(body, name, required=required, max_length=40)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise invalid(f"/{name}", f"{name} must be an ISO 8601 time with its offset.") from None
    if parsed.tzinfo is None:
        raise invalid(f"/{name}", f"{name} must be an ISO 8601 time with its offset.")
    return parsed


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
