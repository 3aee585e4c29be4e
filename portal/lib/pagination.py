"""Opaque cursors for keyset pagination (`?limit=&after=`)."""

from __future__ import annotations

import base64
import json
from typing import Any

from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import gettext


def encode_cursor(value: Any) -> str:
    raw = json.dumps(value, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed(
            gettext("The cursor is not valid."),
            errors=[FieldError("after", gettext("not a cursor from this list"))],
        ) from None


def clamp_limit(limit: int | None, *, default: int = 20, maximum: int = 100) -> int:
    if limit is None:
        return default
    if limit < 1 or limit > maximum:
        raise ValidationFailed(
            gettext("limit must be between 1 and %(max)d.") % {"max": maximum},
            errors=[FieldError("limit", gettext("1 to %(max)d") % {"max": maximum})],
        )
    return limit
