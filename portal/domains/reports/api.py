"""Statements JSON API: `GET /api/v1/accounts/{id}/statement` (JSON pages, or a file with `format=`)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Response, delete, get, post
from litestar.params import QueryParameter
from litestar.response import Stream

from portal.domains.reports import services
from portal.domains.reports.custom import services as custom
from portal.domains.reports.schemas import (
    ReportColumnOut,
    ReportList,
    ReportOut,
    ReportRows,
    ReportRunIn,
    ReportSave,
    ReportSpec,
    StatementPage,
    StatementPeriod,
    entry_out,
)
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, ValidationFailed
from portal.lib.i18n import gettext
from portal.server.guards import ACTOR_DEPENDENCY, requires


def parse_bool(value: str | None, pointer: str) -> bool:
    text = (value or "false").strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise ValidationFailed(
        gettext("%(field)s is true or false.") % {"field": pointer.lstrip("/")},
        errors=[FieldError(pointer, gettext("true or false"), "invalid")],
    )


def parse_limit(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationFailed(
            gettext("limit is a whole number from 1 to 100."),
            errors=[FieldError("/limit", gettext("1 to %(max)d") % {"max": 100}, "invalid")],
        ) from None


def download_response(download: services.Download) -> Stream:
    # Litestar adds "; charset=<encoding>" to text/* types itself.
    media_type, _, charset = download.media_type.partition("; charset=")
    return Stream(
        download.body,
        media_type=media_type,
        encoding=charset or "utf-8",
        headers={
            "Content-Disposition": services.content_disposition(download.filename),
            "X-Content-Type-Options": "nosniff",
        },
    )


@get(
    "/api/v1/accounts/{account_id:str}/statement",
    operation_id="get_account_statement",
    guards=[requires("reports")],
    dependencies={"actor": ACTOR_DEPENDENCY},
    tags=["statements"],
)
async def account_statement(
    actor: Actor,
    account_id: str,
    start: str | None = None,
    end: str | None = None,
    include_descendants: str | None = None,
    fmt: Annotated[str | None, QueryParameter(name="format")] = None,
    limit: str | None = None,
    after: str | None = None,
) -> Response[Any]:
    """The account's statement over WIB calendar days `start`..`end` (both inclusive): JSON pages of
    entries with the period's opening and closing balances and totals, or a file (`format=csv`, `xlsx`,
    `pdf`, `mt940`, `camt053`) streamed as it is produced. Add `include_descendants=true` for the roll-up
    of the account's subtree."""
    fmt_value = services.validate_format(fmt)
    descendants = parse_bool(include_descendants, "/include_descendants")
    size = parse_limit(limit)
    r = await services.resolve(
        actor, account_id, start=start, end=end, include_descendants=descendants, fmt=fmt_value
    )
    if fmt_value != "json":
        return download_response(await services.open_download(actor, r, fmt_value))
    page = await services.statement_page(r, limit=size, after=after)
    h = page.header
    body = StatementPage(
        account_id=r.account.id,
        include_descendants=r.include_descendants,
        data=[entry_out(line) for line in page.lines],
        has_more=page.has_more,
        next_cursor=page.next_cursor,
        opening_balance=h.opening_balance,
        closing_balance=h.closing_balance,
        total_debits=h.total_debits,
        total_credits=h.total_credits,
        entry_count=h.entry_count,
        currency=h.currency,
        period=StatementPeriod(start=r.start, end=r.end),
    )
    return Response(body)


# --- custom reports ------------------------------------------------------------------------------

CUSTOM: dict[str, Any] = {
    "guards": [requires("reports")],
    "dependencies": {"actor": ACTOR_DEPENDENCY},
    "tags": ["reports"],
}
CUSTOM_MANAGE: dict[str, Any] = {**CUSTOM, "guards": [requires("reports", "manage")]}


def _report_out(report: dict[str, Any]) -> ReportOut:
    return ReportOut(**report)


def _rows(result: custom.Result) -> ReportRows:
    return ReportRows(
        columns=[ReportColumnOut(c.name, gettext(c.label), c.type) for c in result.columns],
        rows=result.rows,
        page=result.page,
        has_more=result.has_more,
        totals=result.totals,
        row_count=result.row_count,
    )


def _spec(spec: ReportSpec) -> dict[str, Any]:
    return msgspec.to_builtins(spec)


@get("/api/v1/report_datasets", operation_id="list_report_datasets", **CUSTOM)
async def list_report_datasets(actor: Actor) -> list[dict[str, Any]]:
    """The datasets a custom report is built on, with their columns."""
    actor.require("reports")
    return custom.datasets()


@get("/api/v1/reports", operation_id="list_reports", **CUSTOM)
async def list_reports(actor: Actor) -> ReportList:
    """The business's saved custom reports."""
    return ReportList([_report_out(r) for r in await custom.list_reports(actor)])


@post("/api/v1/reports", operation_id="create_report", **CUSTOM_MANAGE)
async def create_report(actor: Actor, data: ReportSave) -> ReportOut:
    """Save a named custom report, shared with the business's team."""
    return _report_out(await custom.save_report(actor, name=data.name, spec=_spec(data.spec)))


@post("/api/v1/reports/run", operation_id="run_report_spec", status_code=200, **CUSTOM)
async def run_report_spec(actor: Actor, data: ReportRunIn) -> ReportRows:
    """Run an unsaved report: one page of rows and the totals."""
    return _rows(await custom.run(actor, _spec(data.spec), page=data.page))


@get("/api/v1/reports/{report_id:str}", operation_id="retrieve_report", **CUSTOM)
async def retrieve_report(actor: Actor, report_id: str) -> ReportOut:
    """One saved report."""
    return _report_out(await custom.get_report(actor, report_id))


@delete("/api/v1/reports/{report_id:str}", operation_id="delete_report", **CUSTOM_MANAGE)
async def delete_report(actor: Actor, report_id: str) -> None:
    """Delete a saved report."""
    await custom.delete_report(actor, report_id)


@get("/api/v1/reports/{report_id:str}/run", operation_id="run_report", **CUSTOM)
async def run_report(actor: Actor, report_id: str, page: int = 1) -> ReportRows:
    """One page of a saved report's rows (50 a page) and its totals."""
    report = await custom.get_report(actor, report_id)
    return _rows(await custom.run(actor, report["spec"], page=page))


@get("/api/v1/reports/{report_id:str}/download", operation_id="download_report", **CUSTOM)
async def download_report(actor: Actor, report_id: str, format: str = "csv") -> Response[bytes]:
    """The whole report as a file: `format` = csv, xlsx or pdf."""
    report = await custom.get_report(actor, report_id)
    name, content_type, content = await custom.export(actor, report["spec"], format, title=report["name"])
    return Response(
        content,
        media_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


ROUTES = [
    account_statement,
    list_report_datasets,
    list_reports,
    create_report,
    run_report_spec,
    retrieve_report,
    delete_report,
    run_report,
    download_report,
]
