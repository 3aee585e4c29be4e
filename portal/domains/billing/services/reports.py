"""All Report and the billing dashboard: one filter and one set of queries for both, so the dashboard's
tiles are the report's totals over the same period (a test checks they agree)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields
from datetime import date, timedelta
from typing import Any

import asyncpg

from portal.domains.billing.services import common
from portal.lib import sql
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor

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
)
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
        """The filters in use, as (name, value) — shown above the results."""
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value not in ("", None):
                shown.append((f.name, value.isoformat() if isinstance(value, date) else str(value)))
        return shown


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
        add("bt.file_name ILIKE ?", "%" + flt.file_name.replace("%", "\\%") + "%")
    if flt.holder_name:
        add("c.name ILIKE ?", "%" + flt.holder_name.replace("%", "\\%") + "%")
    if flt.holder_phone:
        add("c.phone LIKE ?", "%" + re.sub(r"\D", "", flt.holder_phone)[-10:] + "%")
    if flt.error_code:
        add("ch.error_message ILIKE ?", "%" + flt.error_code.replace("%", "\\%") + "%")
    if flt.card_no:
        match = _MASKED.match(flt.card_no)
        first, last = (match.group(1), match.group(2)) if match else (None, None)
        if first and not last and len(first) == 4:
            first, last = None, first  # four digits alone are the last four
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
    page_args = list(args)
    position = decode_cursor(after)
    cursor_clause = ""
    if position is not None:
        page_args.append(str(position))
        cursor_clause = f" AND ch.id < ${len(page_args)}"
    page_args.append(size + 1)
    rows = await sql.fetch(
        "SELECT "
        + _COLUMNS
        + _FROM
        + where
        + cursor_clause
        + f" ORDER BY ch.id DESC LIMIT ${len(page_args)}",
        *page_args,
    )
    more = len(rows) > size
    rows = rows[:size]
    assert totals is not None
    return ReportPage(
        list(rows),
        int(totals["n"]),
        int(totals["total"]),
        encode_cursor(rows[-1]["id"]) if more and rows else None,
    )


async def iterate_report(actor: Actor, flt: ReportFilter, batch: int = 1000) -> AsyncIterator[asyncpg.Record]:
    """Every matching charge, in pages (for the streamed export)."""
    after: str | None = None
    while True:
        page = await report(actor, flt, limit=min(batch, 100), after=after)
        for row in page.rows:
            yield row
        if page.next_cursor is None:
            return
        after = page.next_cursor


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
    """The billing dashboard's tiles, from the same filter and query as All Report over the period."""
    actor.require("billing")
    period = period if period in ("weekly", "monthly") else "weekly"
    start, end = period_bounds(period, common.today())
    flt = ReportFilter(start=start, end=end)
    where, args = _where(actor, flt)
    base = _FROM + where + " AND ch.kind <> 'reminder'"
    totals = await sql.fetchrow(
        "SELECT count(*) AS n, count(DISTINCT ch.billing_number) AS unique_numbers, "
        "coalesce(sum(ch.amount) FILTER (WHERE ch.status IN ('paid', 'refunded', "
        "'partially_refunded')), 0) AS ok, "
        "count(*) FILTER (WHERE ch.kind = 'single' AND ch.status IN ('paid', 'refunded', "
        "'partially_refunded')) "
        "AS single_ok, count(*) FILTER (WHERE ch.kind = 'single' AND ch.status = 'failed') AS single_failed"
        + base,
        *args,
    )
    chart = await sql.fetch(
        "SELECT ch.execute_date AS day, count(*) FILTER (WHERE ch.status IN ('paid', 'refunded', "
        "'partially_refunded')) AS ok, count(*) FILTER (WHERE ch.status IN ('failed', 'retry')) AS failed"
        + base
        + " GROUP BY 1 ORDER BY 1",
        *args,
    )
    messages = await sql.fetch(
        "SELECT coalesce(ch.response_code || ' ', '') || coalesce(ch.error_message, '') AS message, "
        "count(*) AS n"
        + base
        + " AND ch.status IN ('failed', 'retry') GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        *args,
    )
    issuers = await sql.fetch(
        "SELECT ch.issuer, count(*) AS n"
        + base
        + " AND ch.issuer IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
        *args,
    )
    registered = await sql.fetchrow(
        "SELECT count(*) FILTER (WHERE status = 'active') AS active, count(*) FILTER (WHERE status = "
        "'inactive') "
        "AS inactive FROM billing WHERE business_id = $1 AND kind = 'recurring'",
        actor.business_id,
    )
    assert totals is not None and registered is not None
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
        recurring_active=int(registered["active"]),
        recurring_inactive=int(registered["inactive"]),
        top_issuers=[(r["issuer"], int(r["n"])) for r in issuers],
    )
