"""Statement pages for JSON and HTML: keyset pages with a signed cursor carrying the running balance."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from portal.domains.reports import sql as q
from portal.domains.reports.formats import StatementHeader, StatementLine
from portal.domains.reports.services.snapshot import StatementRequest, snapshot
from portal.lib import clock
from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import gettext
from portal.settings import get_settings

PAGE_DEFAULT = 50
PAGE_MAX = 100


def _cursor_key() -> bytes:
    return hashlib.sha256(b"statement-cursor|" + get_settings().secret_key.encode()).digest()


def encode_page_cursor(r: StatementRequest, at: datetime, seq: int, side: int, balance: int) -> str:
    body = json.dumps([at.isoformat(), seq, side, balance, r.identity()], separators=(",", ":")).encode()
    mac = hmac.new(_cursor_key(), body, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(body + mac).decode().rstrip("=")


def decode_page_cursor(r: StatementRequest, cursor: str) -> tuple[datetime, int, int, int]:
    bad = ValidationFailed(
        gettext("The cursor is not valid for this statement."),
        code="invalid_cursor",
        errors=[FieldError("/after", gettext("not a cursor from this statement"), "invalid")],
    )
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError:
        raise bad from None
    body, mac = raw[:-16], raw[-16:]
    if len(raw) <= 16 or not hmac.compare_digest(
        mac, hmac.new(_cursor_key(), body, hashlib.sha256).digest()[:16]
    ):
        raise bad
    try:
        at, seq, side, balance, identity = json.loads(body)
        when = datetime.fromisoformat(at)
    except ValueError:
        raise bad from None
    if identity != r.identity():
        raise bad
    return when, int(seq), int(side), int(balance)


def validate_limit(limit: int | None, default: int = PAGE_DEFAULT) -> int:
    if limit is None:
        return default
    if not 1 <= limit <= PAGE_MAX:
        raise ValidationFailed(
            gettext("limit must be between 1 and %(max)d.") % {"max": PAGE_MAX},
            code="invalid_limit",
            errors=[FieldError("/limit", gettext("1 to %(max)d") % {"max": PAGE_MAX}, "range")],
        )
    return limit


@dataclass(frozen=True)
class StatementPage:
    header: StatementHeader
    lines: list[StatementLine]
    next_cursor: str | None
    request: StatementRequest

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


async def statement_page(
    r: StatementRequest,
    *,
    limit: int | None = None,
    after: str | None = None,
    generated_at: datetime | None = None,
) -> StatementPage:
    """One page of entries (keyset on `(created_at, seq, side)`; the signed cursor carries the running
    balance)."""
    size = validate_limit(limit)
    position = decode_page_cursor(r, after) if after else None
    async with snapshot(r, generated_at or clock.now()) as snap:
        ids = list(r.account_ids)
        if position is None:
            rows = await snap.conn.fetch(q.entries_query(limit=True), ids, r.start_at, r.end_at, size + 1)
            balance = snap.header.opening_balance
        else:
            at, seq, side, balance = position
            rows = await snap.conn.fetch(
                q.entries_query(after=True, limit=True), ids, r.start_at, r.end_at, at, seq, side, size + 1
            )
        more = len(rows) > size
        rows = rows[:size]
        lines, end_balance = await snap.to_lines(rows, balance)
        next_cursor = (
            encode_page_cursor(r, rows[-1]["created_at"], rows[-1]["seq"], rows[-1]["side"], end_balance)
            if more and rows
            else None
        )
        return StatementPage(snap.header, lines, next_cursor, r)
