"""Custom reports: run a spec (or a saved report) on the read-only connection with a time limit, save
named reports shared with the business's team, and export them as CSV, XLSX or PDF."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from portal.db import replica
from portal.domains.accounts import services as accounts
from portal.domains.audit.services import record
from portal.domains.reports.custom.datasets import DATASETS, PRESETS
from portal.domains.reports.custom.query import PAGE_SIZE, OutputColumn, Query, build, check_spec
from portal.domains.reports.formats.escape import escape_text
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, Forbidden, NotFound, ValidationFailed
from portal.lib.i18n import N_, gettext
from portal.lib.ids import new_id
from portal.lib.sql import transaction
from portal.lib.timefmt import WIB
from portal.settings import get_settings

EXPORT_ROWS = 50000
FORMATS = ("csv", "xlsx", "pdf")
REPORT_COLUMNS = "id, name, spec, created_by, created_at, updated_at, schedule, schedule_next_at"


@dataclass(frozen=True)
class Result:
    columns: list[OutputColumn]
    rows: list[list[Any]]
    page: int
    has_more: bool
    totals: dict[str, int]
    row_count: int


def today_wib() -> date:
    return clock.now().astimezone(WIB).date()


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(WIB).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


async def _fetch(query: Query, timeout_ms: int, *, totals: bool = True) -> tuple[list[asyncpg.Record], Any]:
    try:
        async with replica.read_connection() as conn, conn.transaction(readonly=True):
            await conn.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
            rows = await conn.fetch(query.sql, *query.args)
            total = await conn.fetchrow(query.totals_sql, *query.args) if totals else None
    except asyncpg.QueryCanceledError:
        raise ValidationFailed(
            N_("The report ran longer than %(seconds)s seconds and was stopped; narrow its filters."),
            params={"seconds": max(1, timeout_ms // 1000)},
            code="report_timeout",
        ) from None
    return rows, total


async def _check_accounts(actor: Actor, spec: dict[str, Any]) -> None:
    """Accounts named in filters must be ones the actor may see (404 on the value otherwise): a filter
    narrows the actor's rows, it never names another business's or another subtree's account."""
    dataset = DATASETS[spec["dataset"]]
    account_columns = set(dataset.scope_columns) | (
        {dataset.account_column} if dataset.account_column else set()
    )
    for i, item in enumerate(spec["filters"]):
        if item["field"] in account_columns and item.get("op", "eq") in ("eq", "in"):
            values = item.get("value") if isinstance(item.get("value"), list) else [item.get("value")]
            for value in values:
                await accounts.get_account_row(actor, str(value), pointer=f"/filters/{i}/value")


async def run(
    actor: Actor, spec: Any, *, page: int = 1, size: int = PAGE_SIZE, timeout_ms: int | None = None
) -> Result:
    """One page of a report spec's rows (in the actor's business and scope) with its totals, stopped by
    PostgreSQL at `timeout_ms` (NERACA_REPORT_TIMEOUT_MS, 15 s by default)."""
    actor.require("reports")
    checked = check_spec(spec)
    if not isinstance(page, int) or page < 1 or page > 100000:
        raise ValidationFailed(
            N_("The page must be a whole number from 1."),
            code="invalid_page",
            errors=[FieldError("/page", N_("invalid"))],
        )
    await _check_accounts(actor, checked)
    query = build(actor, checked, today=today_wib(), page=page, size=size)
    rows, total = await _fetch(query, timeout_ms or get_settings().report_timeout_ms)
    names = [c.name for c in query.columns]
    shown = [[_cell(r[n]) for n in names] for r in rows[:size]]
    totals = {k: int(v) for k, v in dict(total or {}).items() if k != "rows"}
    return Result(query.columns, shown, page, len(rows) > size, totals, int((total or {"rows": 0})["rows"]))


def _name(value: Any) -> str:
    text = str(value or "").strip()
    if not 1 <= len(text) <= 100 or any(ord(c) < 32 for c in text):
        raise ValidationFailed(
            N_("A report's name has 1 to 100 characters."),
            code="invalid_name",
            errors=[FieldError("/name", N_("1 to 100 characters"))],
        )
    return text


def report_dict(row: asyncpg.Record) -> dict[str, Any]:
    spec = row["spec"]
    return {
        "id": row["id"],
        "name": row["name"],
        "spec": json.loads(spec) if isinstance(spec, str) else dict(spec),
        "created_by": row["created_by"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "schedule": _json(row["schedule"]),
        "schedule_next_at": row["schedule_next_at"],
    }


def _json(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else dict(value)


async def save_report(
    actor: Actor, *, name: Any, spec: Any, report_id: str | None = None, schedule: Any = None
) -> dict[str, Any]:
    """Save a named report (shared with everyone in the business); with `report_id`, replace it. A new
    report may come with its e-mail schedule (docs/reports.md)."""
    from portal.domains.reports.custom import schedule as schedules

    actor.require("reports", "manage")
    clean_name = _name(name)
    checked = check_spec(spec)
    checked_schedule = schedules.check_schedule(schedule)
    await _check_accounts(actor, checked)
    stored = {k: checked[k] for k in ("dataset", "columns", "filters", "group_by", "sort", "params")}
    async with transaction():
        now = clock.now()
        if report_id is None:
            row = await sql.fetchrow(
                "INSERT INTO report_definition (business_id, id, name, spec, created_by, created_at, "
                "updated_at) "
                f"VALUES ($1, $2, $3, $4::jsonb, $5, $6, $6) RETURNING {REPORT_COLUMNS}",
                actor.business_id,
                new_id("rpt"),
                clean_name,
                json.dumps(stored),
                actor.name,
                now,
            )
        else:
            row = await sql.fetchrow(
                "UPDATE report_definition SET name = $3, spec = $4::jsonb, updated_at = $5 "
                f"WHERE business_id = $1 AND id = $2 RETURNING {REPORT_COLUMNS}",
                actor.business_id,
                report_id,
                clean_name,
                json.dumps(stored),
                now,
            )
            if row is None:
                raise _not_found(report_id)
        assert row is not None
        await record(actor, "report.saved", f"Saved report {clean_name}", refs={"report_id": row["id"]})
        if checked_schedule is not None:
            await schedules.set_schedule(actor, row["id"], checked_schedule)
            row = await sql.fetchrow(
                f"SELECT {REPORT_COLUMNS} FROM report_definition WHERE business_id = $1 AND id = $2",
                actor.business_id,
                row["id"],
            )
            assert row is not None
    return report_dict(row)


def _not_found(report_id: str) -> NotFound:
    return NotFound(N_("Report %(id)s was not found."), params={"id": report_id}, code="not_found")


async def get_report(actor: Actor, report_id: str) -> dict[str, Any]:
    """A saved report of the business."""
    actor.require("reports")
    row = await sql.fetchrow(
        f"SELECT {REPORT_COLUMNS} FROM report_definition WHERE business_id = $1 AND id = $2",
        actor.business_id,
        report_id,
    )
    if row is None:
        raise _not_found(report_id)
    return report_dict(row)


async def find_report(actor: Actor, report_id: str) -> None:
    """NotFound unless the report is the actor's business's."""
    await get_report(actor, report_id)


async def list_reports(actor: Actor) -> list[dict[str, Any]]:
    """The business's saved reports, by name."""
    actor.require("reports")
    rows = await sql.fetch(
        f"SELECT {REPORT_COLUMNS} FROM report_definition WHERE business_id = $1 ORDER BY lower(name), id",
        actor.business_id,
    )
    return [report_dict(r) for r in rows]


async def delete_report(actor: Actor, report_id: str) -> None:
    """Delete a saved report: it is the whole team's, so only a user with the whole business may."""
    actor.require("reports", "manage")
    if actor.scope_account_id is not None:
        raise Forbidden(N_("Only a user with access to the whole business can delete a shared report."))
    async with transaction():
        deleted = await sql.fetchval(
            "DELETE FROM report_definition WHERE business_id = $1 AND id = $2 RETURNING name",
            actor.business_id,
            report_id,
        )
        if deleted is None:
            raise _not_found(report_id)
        await record(actor, "report.deleted", f"Deleted report {deleted}", refs={"report_id": report_id})


def preset(name: str) -> dict[str, Any]:
    """A preset spec ("financial_performance" per account or per subtree)."""
    if name not in PRESETS:
        raise NotFound(N_("Report %(id)s was not found."), params={"id": name}, code="not_found")
    return dict(PRESETS[name])


def datasets() -> list[dict[str, Any]]:
    """The registry as the builder shows it."""
    return [
        {
            "key": d.key,
            "label": gettext(d.label),
            "columns": [{"name": n, "label": gettext(c.label), "type": c.type} for n, c in d.columns.items()],
            "default_columns": list(d.default_columns),
            "takes_date": d.takes_date,
        }
        for d in DATASETS.values()
    ]


async def export(actor: Actor, spec: Any, fmt: str, *, title: str = "report") -> tuple[str, str, bytes]:
    """All rows of a report (up to 50,000) as CSV, XLSX or PDF: (filename, content type, content)."""
    if fmt not in FORMATS:
        raise ValidationFailed(
            N_("Unknown format %(format)s: use csv, xlsx or pdf."),
            params={"format": str(fmt)[:10]},
            code="invalid_format",
            errors=[FieldError("/format", N_("csv, xlsx or pdf"))],
        )
    result = await run(actor, spec, size=EXPORT_ROWS)
    labels = [gettext(c.label) if c.name != "count" else gettext("Count") for c in result.columns]
    slug = "".join(ch if ch.isalnum() else "-" for ch in title.lower()).strip("-")[:60] or "report"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(labels)
        for row in result.rows:
            writer.writerow(
                [v if isinstance(v, int) else escape_text(None if v is None else str(v)) for v in row]
            )
        return f"{slug}.csv", "text/csv; charset=utf-8", ("\ufeff" + buf.getvalue()).encode()
    if fmt == "xlsx":
        import xlsxwriter

        out = io.BytesIO()
        workbook = xlsxwriter.Workbook(out, {"in_memory": True})
        sheet = workbook.add_worksheet("Report")
        bold = workbook.add_format({"bold": True})
        for j, label in enumerate(labels):
            sheet.write_string(0, j, label, bold)
        for i, row in enumerate(result.rows, start=1):
            for j, value in enumerate(row):
                if isinstance(value, int) and not isinstance(value, bool):
                    sheet.write_number(i, j, value)
                elif value is not None:
                    sheet.write_string(i, j, str(value))
        workbook.close()
        return (
            f"{slug}.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            out.getvalue(),
        )
    from weasyprint import HTML

    from portal.server.templating import environment

    html = (
        environment()
        .get_template("reports/custom_pdf.html")
        .render(title=title, labels=labels, rows=result.rows, totals=result.totals, columns=result.columns)
    )
    return f"{slug}.pdf", "application/pdf", HTML(string=html).write_pdf()
