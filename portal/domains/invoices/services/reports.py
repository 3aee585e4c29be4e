"""Invoice reports (in the actor's scope): receivables by account and age, invoices by plan and period,
billed against collected per month; and their CSV, XLSX and PDF exports."""

from __future__ import annotations

import csv
import io
from dataclasses import astuple, dataclass, fields
from datetime import date
from typing import Any

from portal.domains.invoices.services.shared import invalid, parse_day, scope_clause, today, whole_number
from portal.lib import sql
from portal.lib.actor import Actor
from portal.lib.errors import N_
from portal.lib.spreadsheet import escape_text

REPORTS = ("receivables", "plans", "monthly")
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


MAX_MONTHS = 36


@dataclass(frozen=True)
class Filters:
    """The reports' filters, shared by the pages, the exports and the API: receivables `as_of` a WIB
    day (default today), invoices by plan whose period starts between `start` and `end` (both included,
    open-ended when absent), billed against collected over the last `months` WIB months (1–36)."""

    as_of: date | None = None
    start: date | None = None
    end: date | None = None
    months: int = 12


def filters(*, as_of: Any = None, start: Any = None, end: Any = None, months: Any = None) -> Filters:
    """Filters from query parameters (strings; empty means absent); 422 on the offending field."""
    chosen = Filters(
        as_of=parse_day(as_of, "/as_of") if as_of not in (None, "") else None,
        start=parse_day(start, "/start") if start not in (None, "") else None,
        end=parse_day(end, "/end") if end not in (None, "") else None,
        months=whole_number(months, "/months", low=1, high=MAX_MONTHS) if months not in (None, "") else 12,
    )
    if chosen.start and chosen.end and chosen.end < chosen.start:
        raise invalid(
            N_("The end of the period is before its start."),
            "end_before_start",
            "/end",
            N_("before the start"),
        )
    return chosen


@dataclass(frozen=True)
class Receivable:
    """What an account still owes, by days past the due date (current = not yet due)."""

    account_id: str
    account_name: str
    currency: str
    current: int
    days_1_30: int
    days_31_60: int
    days_61_90: int
    over_90: int
    total: int


@dataclass(frozen=True)
class PlanPeriod:
    """Invoices of one plan whose period starts in one month."""

    plan_id: str
    plan_name: str
    currency: str
    month: date
    invoices: int
    billed: int
    collected: int
    open: int
    written_off: int
    credited: int


@dataclass(frozen=True)
class Month:
    """Billed (issued that month, voids excluded) and collected (net of credit notes) in one WIB month."""

    month: date
    currency: str
    billed: int
    collected: int


async def receivables(actor: Actor, *, as_of: date | None = None) -> list[Receivable]:
    """Open invoices' amounts still due, per account, in the age buckets current, 1–30, 31–60, 61–90 and
    over 90 days past due (as of today, WIB)."""
    actor.require("invoices", "view")
    args: list[Any] = [as_of or today()]
    where = scope_clause(actor, args)
    rows = await sql.fetch(
        "SELECT i.account_id, a.name, i.currency, "
        "sum(d) FILTER (WHERE $1 - i.due_on <= 0) AS current, "
        "sum(d) FILTER (WHERE $1 - i.due_on BETWEEN 1 AND 30) AS d1, "
        "sum(d) FILTER (WHERE $1 - i.due_on BETWEEN 31 AND 60) AS d31, "
        "sum(d) FILTER (WHERE $1 - i.due_on BETWEEN 61 AND 90) AS d61, "
        "sum(d) FILTER (WHERE $1 - i.due_on > 90) AS d90, sum(d) AS total "
        "FROM (SELECT i.*, i.total - i.paid_amount AS d FROM invoice i) i "
        "JOIN account a ON a.business_id = i.business_id AND a.id = i.account_id "
        f"WHERE {where} AND i.status = 'open' GROUP BY 1, 2, 3 ORDER BY total DESC, 1",
        *args,
    )
    return [
        Receivable(
            r["account_id"],
            r["name"],
            r["currency"],
            *(int(r[k] or 0) for k in ("current", "d1", "d31", "d61", "d90", "total")),
        )
        for r in rows
    ]


async def by_plan(actor: Actor, *, start: date | None = None, end: date | None = None) -> list[PlanPeriod]:
    """Invoices per plan and month of their period's start, between `start` and `end` (both included)."""
    actor.require("invoices", "view")
    args: list[Any] = []
    where = scope_clause(actor, args)
    if start:
        args.append(start)
        where += f" AND i.period_start >= ${len(args)}"
    if end:
        args.append(end)
        where += f" AND i.period_start <= ${len(args)}"
    rows = await sql.fetch(
        "SELECT i.plan_id, p.name, i.currency, date_trunc('month', i.period_start)::date AS month, "
        "count(*) FILTER (WHERE i.status <> 'void') AS n, "
        "coalesce(sum(i.total) FILTER (WHERE i.status <> 'void'), 0) AS billed, "
        "coalesce(sum(i.paid_amount - i.credited_amount), 0) AS collected, "
        "coalesce(sum(i.total - i.paid_amount) FILTER (WHERE i.status = 'open'), 0) AS open, "
        "coalesce(sum(i.written_off_amount), 0) AS written_off, "
        "coalesce(sum(i.credited_amount), 0) AS credited "
        "FROM invoice i JOIN invoice_plan p ON p.business_id = i.business_id AND p.id = i.plan_id "
        f"WHERE {where} GROUP BY 1, 2, 3, 4 ORDER BY 4 DESC, 2",
        *args,
    )
    return [
        PlanPeriod(
            r["plan_id"],
            r["name"],
            r["currency"],
            r["month"],
            int(r["n"]),
            *(int(r[k]) for k in ("billed", "collected", "open", "written_off", "credited")),
        )
        for r in rows
    ]


def first_month(months: int) -> date:
    """The first day of the earliest of the last `months` WIB months (this month included)."""
    first = today().replace(day=1)
    for _ in range(months - 1):
        first = (first - date.resolution).replace(day=1)
    return first


async def monthly(actor: Actor, *, months: int = 12) -> list[Month]:
    """Billed and collected per WIB month over the last `months` months, oldest first."""
    actor.require("invoices", "view")
    first = first_month(months)
    args: list[Any] = [first]
    where = scope_clause(actor, args)
    rows = await sql.fetch(
        "WITH billed AS (SELECT i.currency, "
        "date_trunc('month', i.issued_at AT TIME ZONE 'Asia/Jakarta')::date AS m, "
        "sum(i.total) AS amount FROM invoice i "
        f"WHERE {where} AND i.status <> 'void' AND i.issued_at AT TIME ZONE 'Asia/Jakarta' >= $1 "
        "GROUP BY 1, 2), "
        "collected AS (SELECT i.currency, date_trunc('month', s.at AT TIME ZONE 'Asia/Jakarta')::date AS m, "
        "sum(CASE WHEN s.kind = 'credited' THEN -s.amount ELSE s.amount END) AS amount "
        "FROM invoice_step s JOIN invoice i ON i.business_id = s.business_id AND i.id = s.invoice_id "
        f"WHERE {where} AND s.kind IN ('collected', 'credited') AND s.at AT TIME ZONE 'Asia/Jakarta' >= $1 "
        "GROUP BY 1, 2) "
        "SELECT coalesce(b.m, c.m) AS m, coalesce(b.currency, c.currency) AS currency, "
        "coalesce(b.amount, 0) AS billed, coalesce(c.amount, 0) AS collected "
        "FROM billed b FULL JOIN collected c ON c.m = b.m AND c.currency = b.currency ORDER BY 2, 1",
        *args,
    )
    return [Month(r["m"], r["currency"], int(r["billed"]), int(r["collected"])) for r in rows]


@dataclass(frozen=True)
class ReceivablesReport:
    """Receivables by account and age as of a WIB day."""

    as_of: date
    data: list[Receivable]


@dataclass(frozen=True)
class PlansReport:
    """Invoices by plan and period; `start`/`end` bound the period's start (null: open-ended)."""

    start: date | None
    end: date | None
    data: list[PlanPeriod]


@dataclass(frozen=True)
class MonthlyReport:
    """Billed against collected per WIB month, from the first day of `start`'s month."""

    start: date
    months: int
    data: list[Month]


async def receivables_report(actor: Actor, chosen: Filters) -> ReceivablesReport:
    """The receivables report as the page, its exports and the API show it."""
    as_of = chosen.as_of or today()
    return ReceivablesReport(as_of, await receivables(actor, as_of=as_of))


async def plans_report(actor: Actor, chosen: Filters) -> PlansReport:
    """The invoices-by-plan report as the page, its exports and the API show it."""
    return PlansReport(chosen.start, chosen.end, await by_plan(actor, start=chosen.start, end=chosen.end))


async def monthly_report(actor: Actor, chosen: Filters) -> MonthlyReport:
    """The billed-against-collected report as the page, its exports and the API show it."""
    return MonthlyReport(
        first_month(chosen.months), chosen.months, await monthly(actor, months=chosen.months)
    )


def _check(report: str, fmt: str) -> None:
    if report not in REPORTS:
        raise invalid(
            N_("Unknown report %(report)s."),
            "invalid_report",
            "/report",
            N_("unknown report"),
            {"report": report[:20]},
        )
    if fmt not in FORMATS:
        raise invalid(
            N_("Unknown format %(format)s: use csv, xlsx or pdf."),
            "invalid_format",
            "/format",
            N_("unknown format"),
            {"format": fmt[:10]},
        )


async def rows_of(actor: Actor, report: str, chosen: Filters) -> list[Any]:
    if report == "receivables":
        return list((await receivables_report(actor, chosen)).data)
    if report == "plans":
        return list((await plans_report(actor, chosen)).data)
    return list((await monthly_report(actor, chosen)).data)


def _cells(row: Any) -> list[Any]:
    return [value.isoformat() if isinstance(value, date) else value for value in astuple(row)]


def _columns(report: str) -> list[str]:
    kind = {"receivables": Receivable, "plans": PlanPeriod, "monthly": Month}[report]
    return [f.name for f in fields(kind)]


async def export(
    actor: Actor, report: str, fmt: str, chosen: Filters | None = None
) -> tuple[str, str, bytes]:
    """(file name, media type, content) of a report as CSV, XLSX or PDF; amounts in minor units."""
    _check(report, fmt)
    rows = await rows_of(actor, report, chosen or Filters())
    columns = _columns(report)
    name = f"invoices-{report}-{today().isoformat()}.{fmt}"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([escape_text(v) if isinstance(v, str) else v for v in _cells(row)])
        return name, FORMATS[fmt], out.getvalue().encode()
    if fmt == "xlsx":
        import xlsxwriter

        buffer = io.BytesIO()
        workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
        sheet = workbook.add_worksheet(report)
        for c, column in enumerate(columns):
            sheet.write_string(0, c, column)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(_cells(row)):
                if isinstance(value, int):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, str(value))
        workbook.close()
        return name, FORMATS[fmt], buffer.getvalue()
    from portal.domains.invoices.pdf import report_pdf

    return name, FORMATS[fmt], report_pdf(report, columns, [_cells(row) for row in rows])
