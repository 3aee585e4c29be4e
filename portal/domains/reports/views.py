"""Reports → statements in the portal: the picker page, the paginated HTML statement, downloads (at once
when small, else a background export with a progress bar), stored exports and scheduled statements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.response import Stream

from portal.domains.accounts import services as accounts
from portal.domains.reports import schedules, services
from portal.domains.reports.api import download_response
from portal.domains.reports.custom import schedule as report_schedule
from portal.domains.reports.custom import services as custom
from portal.domains.reports.labels import FREQUENCIES
from portal.lib import i18n
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, NotFound, ValidationFailed
from portal.lib.forms import day_error
from portal.lib.i18n import N_, gettext
from portal.server.forms import check_text, field_errors, handle_form, leave_page, pages_router, see_other
from portal.server.guards import ACTOR_DEPENDENCY, requires
from portal.server.templating import page, wants_fragment

Day = date  # the form has a field named `date`
PERIOD_KINDS = (
    ("month", N_("Calendar month")),
    ("week", N_("ISO week")),
    ("day", N_("Day")),
    ("custom", N_("Date range")),
)
FORMAT_LABELS = (
    ("csv", "CSV"),
    ("xlsx", "Excel (XLSX)"),
    ("pdf", "PDF"),
    ("mt940", "MT940"),
    ("camt053", "ISO 20022 camt.053"),
)
FREQUENCY_LABELS = tuple(FREQUENCIES.items())


@dataclass
class StatementForm:
    """The picker's fields as typed (strings), kept to re-render the form."""

    account_id: str = ""
    scope: str = "account"
    period: str = "month"
    date: str = ""
    start: str = ""
    end: str = ""
    format: str = "csv"

    @classmethod
    def from_mapping(cls, data: Any) -> StatementForm:
        get_value = data.get
        return cls(
            account_id=str(get_value("account_id") or ""),
            scope="subtree" if get_value("scope") == "subtree" else "account",
            period=str(get_value("period") or "month"),
            date=str(get_value("date") or ""),
            start=str(get_value("start") or ""),
            end=str(get_value("end") or ""),
            format=str(get_value("format") or "csv"),
        )

    @property
    def include_descendants(self) -> bool:
        return self.scope == "subtree"

    def period_dates(self) -> tuple[Day | str, Day | str]:
        """(start, end) for the service: presets are the period containing `date`, cut at today."""
        if self.period == "custom":
            return self.start, self.end
        if self.period not in ("day", "week", "month"):
            raise ValidationFailed(
                gettext("Choose a period."), errors=[FieldError("period", gettext("Choose a period."))]
            )
        try:
            anchor = Day.fromisoformat(self.date) if self.date else services.today_wib()
        except ValueError:
            raise ValidationFailed(
                gettext("Enter a date like 2026-11-30."),
                code="invalid_period",
                errors=[FieldError("date", gettext("Enter a date like 2026-11-30."))],
            ) from None
        problem = day_error("date", anchor)
        if problem is not None:
            raise ValidationFailed(
                problem.msgid, params=problem.params, code="invalid_period", errors=[problem]
            )
        first, last = services.period_bounds(self.period, anchor)
        today = services.today_wib()
        if first <= today < last:
            last = today  # the period so far
        return first, last

    def query(self, **extra: str) -> str:
        values = {
            "account_id": self.account_id,
            "scope": self.scope,
            "period": self.period,
            "date": self.date,
            "start": self.start,
            "end": self.end,
            "format": self.format,
            **extra,
        }
        return urlencode({k: v for k, v in values.items() if v})


def _statement_errors(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The picker shows a period error on `date` too (presets have no start field)."""
    if "start" in errors and "date" not in errors:
        errors["date"] = errors["start"]
    return errors


async def _resolve(actor: Actor, form: StatementForm, fmt: str) -> services.StatementRequest:
    start, end = form.period_dates()
    return await services.resolve(
        actor,
        form.account_id,
        start=start,
        end=end,
        include_descendants=form.include_descendants,
        fmt=fmt,
    )


def _presets(form: StatementForm) -> list[tuple[str, str]]:
    """Quick periods: This month, Last month, Last week (links that show the statement at once)."""
    today = services.today_wib()
    first_this = today.replace(day=1)
    last_month = (first_this - timedelta(days=1)).replace(day=1)
    last_week = today - timedelta(days=7)
    presets = [
        (gettext("This month"), ("month", first_this)),
        (gettext("Last month"), ("month", last_month)),
        (gettext("Last week"), ("week", last_week)),
    ]
    base = StatementForm(account_id=form.account_id, scope=form.scope, format=form.format)
    return [
        (label, "/reports?" + base.query(period=period, date=day.isoformat(), view="1"))
        for label, (period, day) in presets
    ]


async def _page_context(actor: Actor, form: StatementForm) -> dict[str, Any]:
    options = await accounts.list_for_picker(actor)
    if not form.account_id and len(options) == 1:
        form.account_id = options[0][0]  # a partner's only account
    return {
        "form": form,
        "presets": _presets(form),
        "account_options": options,
        "period_kinds": [(k, gettext(label)) for k, label in PERIOD_KINDS],
        "format_options": FORMAT_LABELS,
        "frequency_options": [(k, gettext(label)) for k, label in FREQUENCY_LABELS],
        "exports": await services.list_exports(actor),
        "schedules": await schedules.list_schedules(actor),
        "can_schedule": actor.can("reports", "manage"),
        "today": services.today_wib().isoformat(),
    }


def _render_statements(
    request: Request[Any, Any, Any],
    context: dict[str, Any],
    *,
    status_code: int = 200,
    block: str = "content",
    toast: tuple[str, str] | None = None,
) -> Response[str]:
    return page(
        request, "reports/statements.html", context, status_code=status_code, block=block, toast=toast
    )


async def _shown(statement: services.StatementPage, *, totals: bool = True) -> dict[str, Any]:
    """The page's lines as people read them, and the roll-up's external/internal totals."""
    r = statement.request
    extra: dict[str, Any] = {"shown": await services.shown_lines(r, statement.lines)}
    if totals and r.include_descendants:
        extra["totals"] = await services.subtree_totals(r)
    return extra


@get(
    "/reports",
    guards=[requires("reports")],
)
async def statements_page(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    """Reports → statements: choose an account or subtree, a period and a format."""
    form = StatementForm.from_mapping(request.query_params)
    context = await _page_context(actor, form)
    if form.account_id and request.query_params.get("view"):
        try:
            context["statement"] = await services.statement_page(await _resolve(actor, form, "json"))
            context.update(await _shown(context["statement"]))
        except ValidationFailed as exc:
            context["errors"] = _statement_errors(field_errors(exc.errors, exc.detail))
            return _render_statements(request, context, status_code=422)
    return _render_statements(request, context)


@get(
    "/reports/statement",
    guards=[requires("reports")],
)
async def statement_view(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    """The HTML statement (htmx: the statement panel; `after=` → the next rows only)."""
    form = StatementForm.from_mapping(request.query_params)
    after = request.query_params.get("after")
    try:
        r = await _resolve(actor, form, "json")
        statement = await services.statement_page(r, after=after)
    except ValidationFailed as exc:
        context = await _page_context(actor, form)
        context["errors"] = _statement_errors(field_errors(exc.errors, exc.detail))
        return _render_statements(request, context, status_code=422, block="statement_panel")
    context = {"statement": statement, "form": form, **await _shown(statement, totals=not after)}
    if after and wants_fragment(request):
        return page(request, "reports/statements.html", context, block="statement_rows")
    if wants_fragment(request):
        return page(request, "reports/statements.html", context, block="statement_panel")
    full = await _page_context(actor, form)
    full.update(context)
    return _render_statements(request, full)


@post(
    "/reports/statements/export",
    guards=[requires("reports")],
    status_code=200,
)
async def export_statement(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    """Small statements download at once (a redirect to the file); larger ones start a background
    export and show its progress. Bad input re-renders the form with the message; nothing starts."""

    async def export(data: dict[str, str]) -> str:
        form = StatementForm.from_mapping(data)
        fmt = services.validate_format(form.format, services.FILE_FORMATS)
        r = await _resolve(actor, form, fmt)
        header = await services.statement_header(r)
        services.check_size(header, fmt)
        if services.use_background(fmt, header.entry_count):
            job = await services.start_export(actor, r, fmt, language=i18n.current_language.get())
            return f"/reports/exports/{job.id}"
        return "/reports/statements/file?" + form.query()

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        context = await _page_context(actor, StatementForm.from_mapping(data))
        context["errors"] = _statement_errors(errors)
        return _render_statements(request, context, block="picker")

    return await handle_form(
        request, export, render=render, success=lambda target: leave_page(request, target)
    )


@get(
    "/reports/statements/file",
    guards=[requires("reports")],
)
async def statement_file(request: Request[Any, Any, Any], actor: Actor) -> Stream:
    """The statement file, streamed (the activity log records the export)."""
    form = StatementForm.from_mapping(request.query_params)
    fmt = services.validate_format(form.format, services.FILE_FORMATS)
    r = await _resolve(actor, form, fmt)
    return download_response(
        await services.open_download(actor, r, fmt, language=i18n.current_language.get())
    )


@get(
    "/reports/exports/{export_id:str}",
    guards=[requires("reports")],
)
async def export_progress(request: Request[Any, Any, Any], actor: Actor, export_id: str) -> Response[str]:
    """A background export: a progress bar that htmx polls until the file is ready, then its link."""
    job = await services.get_export(actor, export_id)
    name = await accounts.get_account_row(actor, job.account_id)
    context = {"job": job, "account": name}
    if wants_fragment(request):
        return page(request, "reports/export.html", context, block="progress")
    return page(request, "reports/export.html", context)


@get(
    "/reports/exports/{export_id:str}/file",
    guards=[requires("reports")],
)
async def export_download(actor: Actor, export_id: str) -> Response[Any]:
    """The stored file of a finished export."""
    import asyncio

    from litestar.response import File

    from portal.domains.reports.formats import EXPORT_FORMATS

    job, path = await services.export_file(actor, export_id)
    media_type = EXPORT_FORMATS[job.format].media_type.partition("; charset=")[0]
    exists = await asyncio.to_thread(path.exists)
    if not exists:  # pragma: no cover - checked by export_file
        raise NotFound(gettext("This export has no file yet."))
    return File(
        path,
        filename=job.file_name or path.name,
        media_type=media_type,
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff"},
    )


@post(
    "/reports/schedules",
    guards=[requires("reports", "manage")],
    status_code=200,
)
async def create_schedule(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    """Ask for a daily, weekly or monthly statement e-mailed to an address."""

    async def schedule(data: dict[str, str]) -> None:
        form = StatementForm.from_mapping(data)
        await schedules.create_schedule(
            actor,
            account_id=form.account_id,
            include_descendants=form.include_descendants,
            frequency=data.get("frequency", ""),
            fmt=form.format,
            email=data.get("email", ""),
            language=i18n.current_language.get(),
        )

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        context = await _page_context(actor, StatementForm.from_mapping(data))
        context["schedule_errors"] = errors
        context["schedule_email"] = data.get("email", "")
        return _render_statements(request, context, block="schedules")

    async def saved(_: None) -> str | Response[Any]:
        if not wants_fragment(request):
            return "/reports"
        context = await _page_context(actor, StatementForm())
        toast = ("success", gettext("Scheduled statement saved."))
        return _render_statements(request, context, block="schedules", toast=toast)

    return await handle_form(request, schedule, render=render, success=saved)


@post(
    "/reports/schedules/{schedule_id:str}/cancel",
    guards=[requires("reports", "manage")],
    status_code=200,
)
async def cancel_schedule(request: Request[Any, Any, Any], actor: Actor, schedule_id: str) -> Response[Any]:
    await schedules.cancel_schedule(actor, schedule_id)
    if wants_fragment(request):
        context = await _page_context(actor, StatementForm())
        return _render_statements(
            request, context, block="schedules", toast=("success", gettext("Scheduled statement cancelled."))
        )
    return see_other(request, "/reports")


# --- custom reports ------------------------------------------------------------------------------

FILTER_ROWS = 3


async def _form_lists(request: Request[Any, Any, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    data = await request.form()
    single = {k: str(v) for k, v in data.items() if isinstance(v, str)}
    multi = {
        k: [str(v) for v in data.getall(k) if isinstance(v, str)] if k in data else []
        for k in ("columns", "group_by")
    }
    check_text(single)
    for values in multi.values():
        for value in values:
            check_text({"columns": value})
    return single, multi


def spec_from_form(single: dict[str, str], multi: dict[str, list[str]]) -> dict[str, Any]:
    """The report spec the builder's form describes (checked by the service like any other)."""
    filters = []
    for i in range(FILTER_ROWS):
        field = single.get(f"filter_field_{i}", "").strip()
        if field:
            filters.append(
                {
                    "field": field,
                    "op": single.get(f"filter_op_{i}", "eq"),
                    "value": single.get(f"filter_value_{i}", ""),
                }
            )
    spec: dict[str, Any] = {
        "dataset": single.get("dataset", "transfers"),
        "columns": multi.get("columns", []),
        "filters": filters,
        "group_by": [g for g in multi.get("group_by", []) if g],
        "sort": [{"field": single["sort_field"], "direction": single.get("sort_direction", "asc")}]
        if single.get("sort_field")
        else [],
    }
    if single.get("as_of"):
        spec["params"] = {"as_of": single["as_of"]}
    return spec


async def _builder(
    request: Request[Any, Any, Any],
    actor: Actor,
    spec: dict[str, Any],
    *,
    result: Any = None,
    errors: dict[str, list[str]] | None = None,
    name: str = "",
    status_code: int = 200,
) -> Response[str]:
    datasets = custom.datasets()
    current = next((d for d in datasets if d["key"] == spec.get("dataset")), datasets[0])
    context = {
        "datasets": datasets,
        "dataset": current,
        "spec": spec,
        "selected": spec.get("columns") or current["default_columns"],
        "filter_rows": [
            (spec.get("filters") or [])[i] if i < len(spec.get("filters") or []) else {}
            for i in range(FILTER_ROWS)
        ],
        "groups": ["account", "subtree", "channel", "day", "week", "month"],
        "result": result,
        "errors": errors or {},
        "name": name,
        "reports": await custom.list_reports(actor),
        "can_manage": actor.can("reports", "manage"),
    }
    return page(request, "reports/custom.html", context, status_code=status_code)


@get("/reports/custom", operation_id="custom_reports", guards=[requires("reports")])
async def custom_reports(
    request: Request[Any, Any, Any], actor: Actor, dataset: str = "transfers", preset: str | None = None
) -> Response[str]:
    spec = (
        custom.preset(preset)
        if preset
        else {"dataset": dataset if dataset in custom.DATASETS else "transfers"}
    )
    return await _builder(request, actor, spec)


@post("/reports/custom/run", operation_id="custom_report_run", guards=[requires("reports")])
async def custom_report_run(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    single, multi = await _form_lists(request)
    spec = spec_from_form(single, multi)
    try:
        result = await custom.run(actor, spec)
    except (ValidationFailed, NotFound) as exc:
        if not exc.errors and exc.status != 422:
            raise
        return await _builder(
            request, actor, spec, errors=field_errors(exc.errors, exc.detail), status_code=422
        )
    return await _builder(request, actor, spec, result=result, name=single.get("name", ""))


@post("/reports/custom", operation_id="custom_report_save", guards=[requires("reports", "manage")])
async def custom_report_save(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    single, multi = await _form_lists(request)
    spec = spec_from_form(single, multi)
    try:
        saved = await custom.save_report(actor, name=single.get("name", ""), spec=spec)
    except (ValidationFailed, NotFound) as exc:
        if not exc.errors and exc.status != 422:
            raise
        return await _builder(
            request,
            actor,
            spec,
            errors=field_errors(exc.errors, exc.detail),
            name=single.get("name", ""),
            status_code=422,
        )
    return see_other(request, f"/reports/custom/{saved['id']}")


@get("/reports/custom/{report_id:str}", operation_id="custom_report", guards=[requires("reports")])
async def custom_report(
    request: Request[Any, Any, Any], actor: Actor, report_id: str, page_number: int = 1
) -> Response[str]:
    return await _report_page(request, actor, report_id, page_number)


WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)


async def _report_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    report_id: str,
    page_number: int = 1,
    *,
    schedule_form: dict[str, str] | None = None,
    schedule_errors: dict[str, list[str]] | None = None,
) -> Response[str]:
    report = await custom.get_report(actor, report_id)
    result = await custom.run(actor, report["spec"], page=max(1, page_number))
    chart = None
    if result.columns and result.columns[0].type == "date":
        money = [i for i, c in enumerate(result.columns) if c.type == "money"]
        if money:
            values = [(str(r[0]), int(r[money[0]] or 0)) for r in result.rows]
            peak = max((abs(v) for _, v in values), default=0) or 1
            chart = {
                "label": gettext(result.columns[money[0]].label),
                "bars": [(k, v, round(abs(v) * 100 / peak)) for k, v in values],
            }
    context = {
        "report": report,
        "result": result,
        "chart": chart,
        "can_manage": actor.can("reports", "manage"),
        "schedule_form": schedule_form or {k: str(v) for k, v in (report["schedule"] or {}).items()},
        "schedule_errors": schedule_errors or {},
        "frequency_options": [("", gettext("Not scheduled"))]
        + [(k, gettext(v)) for k, v in FREQUENCIES.items()],
        "weekday_options": [(str(i), gettext(d)) for i, d in enumerate(WEEKDAYS)],
    }
    return page(request, "reports/custom_report.html", context, status_code=422 if schedule_errors else 200)


@post(
    "/reports/custom/{report_id:str}/schedule",
    operation_id="custom_report_schedule",
    guards=[requires("reports", "manage")],
)
async def custom_report_schedule(
    request: Request[Any, Any, Any], actor: Actor, report_id: str
) -> Response[Any]:
    """Set or stop the report's e-mail schedule (no frequency: stopped)."""
    form = {k: str(v) for k, v in (await request.form()).items() if k != "_csrf_token"}
    wanted = (
        {k: form[k] for k in ("frequency", "time", "weekday", "day", "format") if form.get(k)}
        if form.get("frequency")
        else None
    )
    try:
        await report_schedule.set_schedule(actor, report_id, wanted)
    except ValidationFailed as exc:
        return await _report_page(
            request,
            actor,
            report_id,
            schedule_form=form,
            schedule_errors=field_errors(exc.errors, exc.detail),
        )
    return see_other(request, f"/reports/custom/{report_id}")


@get(
    "/reports/custom/{report_id:str}/download",
    operation_id="custom_report_download",
    guards=[requires("reports")],
)
async def custom_report_download(
    request: Request[Any, Any, Any], actor: Actor, report_id: str, format: str = "csv"
) -> Response[bytes]:
    report = await custom.get_report(actor, report_id)
    name, content_type, content = await custom.export(actor, report["spec"], format, title=report["name"])
    return Response(
        content, media_type=content_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@post(
    "/reports/custom/{report_id:str}/delete",
    operation_id="custom_report_delete",
    guards=[requires("reports", "manage")],
)
async def custom_report_delete(
    request: Request[Any, Any, Any], actor: Actor, report_id: str
) -> Response[Any]:
    await custom.delete_report(actor, report_id)
    return see_other(request, "/reports/custom")


ROUTES = [
    pages_router(
        ACTOR_DEPENDENCY,
        [
            custom_reports,
            custom_report_run,
            custom_report_save,
            custom_report,
            custom_report_download,
            custom_report_delete,
            custom_report_schedule,
            statements_page,
            statement_view,
            export_statement,
            statement_file,
            export_progress,
            export_download,
            create_schedule,
            cancel_schedule,
        ],
    )
]
