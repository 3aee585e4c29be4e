"""All Report and the billing dashboard: one filter and one set of queries for both, so the dashboard's
tiles are the report's totals over the same period (a test checks they agree)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import asyncpg

from portal.domains.billing import labels
from portal.domains.billing.services import common
from portal.lib import sql
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import N_, gettext
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor, invalid_cursor
from portal.lib.timefmt import WIB

BATCH_TYPES = ("recurring", "reminder", "registration", "transaction")
STATUSES = (
    "paid",
    "failed",
    "retry",
    "pending",
    "charging",
    "reminded",
    "voided",
    "refunded",
    "partially_refunded",
    "cancelled",
)
# A charge that was paid (a refund later does not undo the sale) and one the bank declined (a retry
# may be scheduled): the dashboard's tiles and All Report's Payment Status sum the same statuses.
SUCCESS = ("paid", "refunded", "partially_refunded")
FAILED = ("failed", "retry")
# The form's label of each filter, shown in the criteria line.
CRITERIA_LABELS = {
    "billing_number": N_("Billing Number"),
    "invoice_number": N_("Invoice Number"),
    "file_name": N_("CSV File Name"),
    "amount": N_("Amount"),
    "card_no": N_("Card No"),
    "holder_name": N_("Card Holder Name"),
    "holder_phone": N_("Card Holder Phone"),
    "start": N_("Start Date"),
    "end": N_("End Date"),
    "batch_type": N_("Batch Type"),
    "status": N_("Payment Status"),
    "response_code": N_("Payment Response Code"),
    "approval_code": N_("Payment Approval Code"),
    "error_code": N_("Payment Error Code"),
}
BATCH_TYPE_LABELS = {
    "recurring": N_("Recurring"),
    "reminder": N_("Reminder"),
    "registration": N_("Registration"),
    "transaction": N_("Batch Transaction"),
}
_MASKED = re.compile(r"^\s*([0-9]{1,6})?[\s*xX•.-]*([0-9]{4})?\s*$")


@dataclass(frozen=True)
class ReportFilter:
    """Every filter of All Report (empty = not used)."""

    billing_number: str = ""
    invoice_number: str = ""
    file_name: str = ""
    amount: str = ""
    card_no: str = ""
    holder_name: str = ""
    holder_phone: str = ""
    start: date | None = None
    end: date | None = None
    batch_type: str = ""
    status: str = ""
    response_code: str = ""
    approval_code: str = ""
    error_code: str = ""

    def criteria(self) -> list[tuple[str, str]]:
        """The filters in use as (label, value), in the current language — shown above the results:
        the form's labels, values as typed, a card as stored (masked), a choice by its label."""
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value in ("", None):
                continue
            if isinstance(value, date):
                text = value.isoformat()
            elif f.name == "card_no":
                first, last = _card_parts(value)
                text = f"{first or ''}••••••{last or ''}"
            elif f.name == "batch_type":
                text = gettext(BATCH_TYPE_LABELS[value])
            elif f.name == "status":
                text = labels.billing_status(value)
            else:
                text = str(value)
            shown.append((gettext(CRITERIA_LABELS[f.name]), text))
        return shown


def _card_parts(card_no: str) -> tuple[str | None, str | None]:
    """A searched card's first six and last four digits (four digits alone are the last four)."""
    match = _MASKED.match(card_no)
    first, last = (match.group(1), match.group(2)) if match else (None, None)
    if first and not last and len(first) == 4:
        first, last = None, first
    return first, last


def parse_filter(params: dict[str, str]) -> ReportFilter:
    """The report's query string checked: dates, amount, a masked card number (never a full one)."""
    values = {
        k: str(params.get(k) or "").strip()[:60]
        for k in (f.name for f in fields(ReportFilter))
        if k != "extra"
    }
    common.refuse_card_numbers({f"/{k}": v for k, v in values.items()})
    dates: dict[str, date | None] = {}
    for name in ("start", "end"):
        text = values.pop(name)
        try:
            dates[name] = date.fromisoformat(text) if text else None
        except ValueError:
            raise ValidationFailed(
                N_("Dates are written YYYY-MM-DD."),
                code="invalid_date",
                errors=[FieldError(f"/{name}", N_("not a date"), "invalid_date")],
            ) from None
    if values["amount"] and not values["amount"].replace(".", "").replace(",", "").isdigit():
        raise ValidationFailed(
            N_("The amount must be a whole number of rupiah above zero."),
            code="invalid_amount",
            errors=[FieldError("/amount", N_("must be a positive whole number"), "invalid_amount")],
        )
    if values["card_no"] and not _MASKED.match(values["card_no"]):
        raise ValidationFailed(
            N_("Search a card by its first 6 and/or last 4 digits (e.g. 411111******1111)."),
            code="invalid_card_search",
            errors=[FieldError("/card_no", N_("first 6 and/or last 4 digits"), "invalid_card_search")],
        )
    if values["batch_type"] and values["batch_type"] not in BATCH_TYPES:
        values["batch_type"] = ""
    if values["status"] and values["status"] not in STATUSES:
        values["status"] = ""
    return ReportFilter(start=dates["start"], end=dates["end"], **values)


def _containing(text: str) -> str:
    """An ILIKE pattern for `text` anywhere, its own `%`, `_` and `\\` taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _where(actor: Actor, flt: ReportFilter) -> tuple[str, list[Any]]:
    args: list[Any] = [actor.business_id]
    clauses = [""]

    def add(sql_text: str, value: Any) -> None:
        args.append(value)
        clauses.append(sql_text.replace("?", f"${len(args)}"))

    for column, value in (
        ("ch.billing_number", flt.billing_number),
        ("ch.invoice_number", flt.invoice_number),
        ("ch.response_code", flt.response_code),
        ("ch.approval_code", flt.approval_code),
        ("ch.status", flt.status),
    ):
        if value:
            add(f"{column} = ?", value)
    if flt.amount:
        add("ch.amount = ?", int(flt.amount.replace(".", "").replace(",", "")))
    if flt.file_name:
        add("bt.file_name ILIKE ?", _containing(flt.file_name))
    if flt.holder_name:
        add("c.name ILIKE ?", _containing(flt.holder_name))
    if flt.holder_phone:
        # Stored as 08…: the typed number's last ten digits (+62/0 aside); no digits at all find nothing.
        digits = re.sub(r"\D", "", flt.holder_phone)[-10:]
        add("c.phone LIKE ?", "%" + digits + "%" if digits else "")
    if flt.error_code:
        add("ch.error_message ILIKE ?", _containing(flt.error_code))
    if flt.card_no:
        first, last = _card_parts(flt.card_no)
        if first:
            add("ch.card_first6 LIKE ?", first + "%")
        if last:
            add("ch.card_last4 = ?", last)
    if flt.start:
        add("ch.execute_date >= ?", flt.start)
    if flt.end:
        add("ch.execute_date <= ?", flt.end)
    if flt.batch_type in ("recurring", "reminder"):
        add("ch.kind = ?", flt.batch_type)
    elif flt.batch_type == "transaction":
        add("ch.kind = ?", "single")
    elif flt.batch_type == "registration":
        clauses.append("bt.kind = 'registration'")
    scope = common.scope_clause(actor, args, "ch.account_id")
    return "".join(" AND " + c for c in clauses if c) + scope, args


_FROM = (
    " FROM billing_charge ch JOIN billing_customer c ON c.business_id = ch.business_id AND c.id = "
    "ch.customer_id"
    " LEFT JOIN billing_batch bt ON bt.business_id = ch.business_id AND bt.id = ch.batch_id"
    " WHERE ch.business_id = $1"
)
_COLUMNS = "ch.*, c.customer_ref, c.name AS holder_name, c.phone AS holder_phone, bt.file_name"


@dataclass(frozen=True)
class ReportPage:
    rows: list[asyncpg.Record]
    total_data: int
    total_amount: int
    next_cursor: str | None


async def report(
    actor: Actor, flt: ReportFilter, *, limit: int | None = None, after: str | None = None
) -> ReportPage:
    """All Report: the matching charges, newest first, with Total Data and Total Amount of all of them."""
    actor.require("billing")
    where, args = _where(actor, flt)
    totals = await sql.fetchrow(
        "SELECT count(*) AS n, coalesce(sum(ch.amount), 0) AS total" + _FROM + where, *args
    )
    size = clamp_limit(limit, default=50)
    rows = await _rows(where, args, size + 1, _position(after) if after else None)
    more = len(rows) > size
    rows = rows[:size]
    assert totals is not None
    last = rows[-1] if more and rows else None
    return ReportPage(
        rows,
        int(totals["n"]),
        int(totals["total"]),
        encode_cursor(f"{_micros(last['created_at'])}:{last['id']}") if last else None,
    )


async def _rows(
    where: str, args: list[Any], limit: int, after: tuple[datetime, str] | None
) -> list[asyncpg.Record]:
    """Up to `limit` matching charges after a position, newest first (created_at, then id)."""
    page_args = list(args)
    cursor_clause = ""
    if after is not None:
        page_args += list(after)
        cursor_clause = f" AND (ch.created_at, ch.id) < (${len(page_args) - 1}, ${len(page_args)})"
    page_args.append(limit)
    return list(
        await sql.fetch(
            "SELECT "
            + _COLUMNS
            + _FROM
            + where
            + cursor_clause
            + f" ORDER BY ch.created_at DESC, ch.id DESC LIMIT ${len(page_args)}",
            *page_args,
        )
    )


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _position(after: str) -> tuple[datetime, str]:
    """A page cursor's (created_at, id): newest first, a batch's charges (one created_at) by id."""
    position = decode_cursor(after)
    micros, _, charge_id = str(position).partition(":")
    if not micros.isdigit() or not charge_id:
        raise invalid_cursor()
    return _EPOCH + timedelta(microseconds=int(micros)), charge_id


async def iterate_report(actor: Actor, flt: ReportFilter, batch: int = 1000) -> AsyncIterator[asyncpg.Record]:
    """Every matching charge, newest first, `batch` rows a query (for the streamed exports; no totals)."""
    actor.require("billing")
    where, args = _where(actor, flt)
    after: tuple[datetime, str] | None = None
    while True:
        rows = await _rows(where, args, batch, after)
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = (rows[-1]["created_at"], rows[-1]["id"])


@dataclass(frozen=True)
class Dashboard:
    period: str
    start: date
    end: date
    total_success_amount: int
    total_data: int
    total_unique_billing_numbers: int
    chart: list[tuple[date, int, int]]  # day, success, failed
    failed_messages: list[tuple[str, int]]
    single_success: int
    single_failed: int
    recurring_active: int
    recurring_inactive: int
    top_issuers: list[tuple[str, int]]


def period_bounds(period: str, today: date) -> tuple[date, date]:
    """This week (Monday to today) or this month (the 1st to today), WIB."""
    if period == "monthly":
        return today.replace(day=1), today
    return today - timedelta(days=today.weekday()), today


async def dashboard(actor: Actor, period: str = "weekly") -> Dashboard:
    """The billing dashboard's tiles over the week or month: the charge tiles are All Report's rows with
    Start/End Date = the period (every kind, reminders too: the same rows the report link shows);
    Registration Recurring counts the recurring billings registered (created) in the period, by their
    status now. Both within the actor's scope."""
    actor.require("billing")
    period = period if period in ("weekly", "monthly") else "weekly"
    start, end = period_bounds(period, common.today())
    where, args = _where(actor, ReportFilter(start=start, end=end))
    base = _FROM + where
    ok, failed = _status_list(SUCCESS), _status_list(FAILED)
    totals = await sql.fetchrow(
        "SELECT count(*) AS n, count(DISTINCT ch.billing_number) AS unique_numbers, "
        f"coalesce(sum(ch.amount) FILTER (WHERE ch.status IN ({ok})), 0) AS ok, "
        f"count(*) FILTER (WHERE ch.kind = 'single' AND ch.status IN ({ok})) AS single_ok, "
        f"count(*) FILTER (WHERE ch.kind = 'single' AND ch.status IN ({failed})) AS single_failed" + base,
        *args,
    )
    chart = await sql.fetch(
        f"SELECT ch.execute_date AS day, count(*) FILTER (WHERE ch.status IN ({ok})) AS ok, "
        f"count(*) FILTER (WHERE ch.status IN ({failed})) AS failed"
        + base
        + f" AND ch.status IN ({ok}, {failed}) GROUP BY 1 ORDER BY 1",
        *args,
    )
    messages = await sql.fetch(
        "SELECT coalesce(ch.response_code || ' ', '') || coalesce(ch.error_message, '') AS message, "
        "count(*) AS n" + base + f" AND ch.status IN ({failed}) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        *args,
    )
    issuers = await sql.fetch(
        "SELECT ch.issuer, count(*) AS n"
        + base
        + " AND ch.issuer IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
        *args,
    )
    registered = await _registered(actor, start, end)
    assert totals is not None
    return Dashboard(
        period=period,
        start=start,
        end=end,
        total_success_amount=int(totals["ok"]),
        total_data=int(totals["n"]),
        total_unique_billing_numbers=int(totals["unique_numbers"]),
        chart=[(r["day"], int(r["ok"]), int(r["failed"])) for r in chart],
        failed_messages=[(r["message"].strip() or "-", int(r["n"])) for r in messages],
        single_success=int(totals["single_ok"]),
        single_failed=int(totals["single_failed"]),
        recurring_active=registered.get("active", 0),
        recurring_inactive=registered.get("inactive", 0),
        top_issuers=[(r["issuer"], int(r["n"])) for r in issuers],
    )


def _status_list(statuses: tuple[str, ...]) -> str:
    return ", ".join(f"'{s}'" for s in statuses)  # our own constants, never input


async def _registered(actor: Actor, start: date, end: date) -> dict[str, int]:
    """Recurring billings registered from `start` to `end` (WIB days) in the actor's scope, by status."""
    args: list[Any] = [actor.business_id, _wib_midnight(start), _wib_midnight(end + timedelta(days=1))]
    rows = await sql.fetch(
        "SELECT status, count(*) AS n FROM billing WHERE business_id = $1 AND kind = 'recurring' "
        "AND created_at >= $2 AND created_at < $3"
        + common.scope_clause(actor, args, "account_id")
        + " GROUP BY status",
        *args,
    )
    return {r["status"]: int(r["n"]) for r in rows}


def _wib_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=WIB)
