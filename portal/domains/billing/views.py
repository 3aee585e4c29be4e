"""Billing pages (menu Billing): Manage Recurring (search by Customer ID or Billing Number, add customers
and billings), a billing's page (Edit Date, Inactivate/Activate, Change Type, Delete, delete an execute
date with the authenticator code, the card on the provider's hosted page, its charges) and the void and
refund search. Thin controllers over billing.services."""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Stream

from portal.domains.accounts import services as accounts
from portal.domains.billing import labels, services
from portal.domains.billing.services import batches, common, reports
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, NeracaError, NotFound, ValidationFailed
from portal.lib.i18n import N_, gettext
from portal.lib.spreadsheet import escape_text
from portal.server.forms import field_errors, handle_form, pages_router, query, see_other
from portal.server.guards import ACTOR_DEPENDENCY, requires
from portal.server.templating import page

VIEW = [requires("billing")]
MANAGE = [requires("billing", "manage")]


def _schedule_from(data: dict[str, str]) -> dict[str, Any]:
    return {
        "schedule_type": data.get("schedule_type", ""),
        "day": data.get("day", ""),
        "weekdays": [d for d in range(7) if data.get(f"weekday_{d}")],
        "months": [m for m in range(1, 13) if data.get(f"month_{m}")],
        "dates": data.get("dates", ""),
    }


async def _accounts(actor: Actor) -> list[tuple[str, str]]:
    """The accounts a billing can be for (without the accounts right: the default one only)."""
    if not actor.can("accounts", "view"):
        return []
    return [(r.id, r.name) for r in await accounts.subtree_rows(actor) if r.kind != "system"]


async def _index_context(actor: Actor, search: str | None, after: str | None) -> dict[str, Any]:
    search_errors: dict[str, list[str]] = {}
    listing = None
    try:
        listing = await services.list_billings(actor, search=search, after=after)
    except ValidationFailed as exc:
        # A card number typed into the search: the error is shown, the value never sent back.
        search_errors, search = field_errors(exc.errors, exc.detail), None
    can_manage = actor.can("billing", "manage")
    return {
        "billings": listing.data if listing else [],
        "search": search or "",
        "search_errors": search_errors,
        "next_url": query("/billing", search=search, after=listing.next_cursor)
        if listing and listing.next_cursor
        else None,
        "can_manage": can_manage,
        "can_add_customers": can_manage and actor.scope_account_id is None,
        "accounts": await _accounts(actor) if can_manage else [],
        "form": {},
        "customer_form": {},
        "errors": {},
        "customer_errors": {},
        "labels": labels,
    }


@get("/billing", guards=VIEW, name="billing_index")
async def billing_index(
    request: Request[Any, Any, Any], actor: Actor, search: str | None = None, after: str | None = None
) -> Response[str]:
    """Manage Recurring: billings found by Customer ID or Billing Number."""
    context = await _index_context(actor, search, after)
    return page(request, "billing/index.html", context, status_code=422 if context["search_errors"] else 200)


@post("/billing/customers", guards=MANAGE, name="billing_customer_create")
async def billing_customer_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    async def create(data: dict[str, str]) -> Any:
        return await services.create_customer(
            actor,
            customer_id=data.get("customer_id", ""),
            name=data.get("name", ""),
            email=data.get("email") or None,
            phone=data.get("phone") or None,
        )

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        context = await _index_context(actor, None, None)
        context.update(customer_form=_without_card_numbers(data), customer_errors=errors, message=message)
        return page(request, "billing/index.html", context)

    return await handle_form(
        request, create, render=render, success=lambda c: query("/billing", search=c.customer_id)
    )


def _without_card_numbers(data: dict[str, str]) -> dict[str, str]:
    """The form shown again never carries a card number back to the browser."""
    return {k: ("" if common.looks_like_card_number(v) else v) for k, v in data.items()}


@post("/billing/billings", guards=MANAGE, name="billing_create")
async def billing_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    async def create(data: dict[str, str]) -> Any:
        schedule = _schedule_from(data) if data.get("schedule_type") else None
        return await services.create_billing(
            actor,
            customer_id=data.get("customer_id", ""),
            billing_number=data.get("billing_number", ""),
            amount=data.get("amount", "").replace(".", "").replace(",", "").strip(),
            account_id=data.get("account_id") or None,
            description=data.get("description") or None,
            type=data.get("type", "recurring"),
            schedule=schedule,
        )

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        context = await _index_context(actor, None, None)
        context.update(form=_without_card_numbers(data), errors=errors, message=message)
        return page(request, "billing/index.html", context)

    return await handle_form(request, create, render=render, success=lambda b: f"/billing/billings/{b.id}")


async def _billing_context(actor: Actor, billing_id: str) -> dict[str, Any]:
    billing = await services.get_billing(actor, billing_id)
    charges = await services.list_charges(actor, billing_number=billing.billing_number, limit=50)
    customer = await services.get_customer(actor, billing.customer_id)
    return {
        "billing": billing,
        "customer": customer,
        "charges": charges.data,
        "upcoming": await services.next_dates(actor.business_id, billing.id, 12),
        "can_manage": actor.can("billing", "manage"),
        "needs_code": actor.kind == "user",
        "form": {},
        "errors": {},
        "labels": labels,
    }


@get("/billing/billings/{billing_id:str}", guards=VIEW, name="billing_detail")
async def billing_detail(request: Request[Any, Any, Any], actor: Actor, billing_id: str) -> Response[str]:
    """One billing: schedule, next execute dates, card, charges and the Manage Recurring actions."""
    return page(request, "billing/billing.html", await _billing_context(actor, billing_id))


async def _billing_form(
    request: Request[Any, Any, Any], actor: Actor, billing_id: str, action: Any, toast: str
) -> Response[Any]:
    await services.find_billing(actor, billing_id)

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        context = await _billing_context(actor, billing_id)
        context.update(form=_without_card_numbers(data), errors=errors, message=message)
        return page(request, "billing/billing.html", context)

    async def done(result: Any) -> Response[Any]:
        if result is None:
            return see_other(request, "/billing")
        return page(
            request,
            "billing/billing.html",
            await _billing_context(actor, billing_id),
            toast=("success", toast),
        )

    return await handle_form(request, action, render=render, success=done)


@post("/billing/billings/{billing_id:str}/schedule", guards=MANAGE, name="billing_schedule")
async def billing_schedule(request: Request[Any, Any, Any], actor: Actor, billing_id: str) -> Response[Any]:
    async def action(data: dict[str, str]) -> Any:
        return await services.set_schedule(actor, billing_id, _schedule_from(data))

    return await _billing_form(request, actor, billing_id, action, gettext("Schedule saved."))


@post("/billing/billings/{billing_id:str}/status", guards=MANAGE, name="billing_status")
async def billing_status(request: Request[Any, Any, Any], actor: Actor, billing_id: str) -> Response[Any]:
    async def action(data: dict[str, str]) -> Any:
        return await services.set_active(actor, billing_id, data.get("active") == "1")

    return await _billing_form(request, actor, billing_id, action, gettext("Billing updated."))


@post("/billing/billings/{billing_id:str}/type", guards=MANAGE, name="billing_type")
async def billing_type(request: Request[Any, Any, Any], actor: Actor, billing_id: str) -> Response[Any]:
    async def action(data: dict[str, str]) -> Any:
        return await services.change_type(actor, billing_id, data.get("type", ""))

    return await _billing_form(request, actor, billing_id, action, gettext("Billing updated."))


@post("/billing/billings/{billing_id:str}/delete", guards=MANAGE, name="billing_delete")
async def billing_delete(request: Request[Any, Any, Any], actor: Actor, billing_id: str) -> Response[Any]:
    async def action(data: dict[str, str]) -> None:
        await services.delete_billing(actor, billing_id)

    return await _billing_form(request, actor, billing_id, action, "")


@post("/billing/billings/{billing_id:str}/execute-dates/delete", guards=MANAGE, name="billing_date_delete")
async def billing_date_delete(
    request: Request[Any, Any, Any], actor: Actor, billing_id: str
) -> Response[Any]:
    async def action(data: dict[str, str]) -> Any:
        return await services.delete_execute_date(
            actor, billing_id, data.get("execute_date", ""), data.get("otp")
        )

    return await _billing_form(request, actor, billing_id, action, gettext("Execute date deleted."))


@post("/billing/billings/{billing_id:str}/card", guards=MANAGE, name="billing_card")
async def billing_card(request: Request[Any, Any, Any], actor: Actor, billing_id: str) -> Response[Any]:
    """Open a registration on the provider's hosted page; the page then links to it."""
    return_url = str(request.base_url).rstrip("/") + f"/billing/billings/{billing_id}/card"

    async def action(data: dict[str, str]) -> Any:
        return await services.start_card_registration(actor, billing_id, return_url)

    return await _billing_form(
        request, actor, billing_id, action, gettext("Card page ready: open it for the customer.")
    )


@get("/billing/billings/{billing_id:str}/card", guards=MANAGE, name="billing_card_return")
async def billing_card_return(
    request: Request[Any, Any, Any], actor: Actor, billing_id: str
) -> Response[Any]:
    """Where the hosted page sends the customer back: read the registration's result."""
    await services.complete_card_registration(actor, billing_id)
    return see_other(request, f"/billing/billings/{billing_id}")


@get("/billing/charges", guards=VIEW, name="billing_charges")
async def billing_charges(
    request: Request[Any, Any, Any],
    actor: Actor,
    billing_number: str | None = None,
    invoice_number: str | None = None,
    approval_code: str | None = None,
    after: str | None = None,
) -> Response[str]:
    """Void and refund: charges found by Billing Number, Invoice Number or Approval Code."""
    filters = {
        "billing_number": billing_number,
        "invoice_number": invoice_number,
        "approval_code": approval_code,
    }
    listing = await services.list_charges(
        actor,
        billing_number=billing_number,
        invoice_number=invoice_number,
        approval_code=approval_code,
        after=after,
    )
    return page(
        request,
        "billing/charges.html",
        {
            "charges": listing.data,
            "filters": {k: v or "" for k, v in filters.items()},
            "next_url": query("/billing/charges", after=listing.next_cursor, **filters)
            if listing.next_cursor
            else None,
            "can_manage": actor.can("billing", "manage"),
            "errors": {},
            "labels": labels,
        },
    )


@post("/billing/charges/{charge_id:str}/void", guards=MANAGE, name="billing_charge_void")
async def billing_charge_void(request: Request[Any, Any, Any], actor: Actor, charge_id: str) -> Response[Any]:
    await services.find_charge(actor, charge_id)

    async def action(data: dict[str, str]) -> Any:
        return await services.void_charge(actor, charge_id)

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        return await _charge_page(request, actor, charge_id, errors, message)

    return await handle_form(request, action, render=render, success=lambda c: f"/billing/charges/{c.id}")


@post("/billing/charges/{charge_id:str}/refund", guards=MANAGE, name="billing_charge_refund")
async def billing_charge_refund(
    request: Request[Any, Any, Any], actor: Actor, charge_id: str
) -> Response[Any]:
    await services.find_charge(actor, charge_id)

    async def action(data: dict[str, str]) -> Any:
        amount = data.get("amount", "").replace(".", "").replace(",", "").strip() or None
        return await services.refund_charge(actor, charge_id, amount, data.get("reason") or None)

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        return await _charge_page(request, actor, charge_id, errors, message)

    return await handle_form(request, action, render=render, success=lambda c: f"/billing/charges/{c.id}")


async def _charge_page(
    request: Request[Any, Any, Any], actor: Actor, charge_id: str, errors: dict[str, list[str]], message: str
) -> Response[str]:
    charge = await services.get_charge(actor, charge_id)
    return page(
        request,
        "billing/charge.html",
        {
            "charge": charge,
            "can_manage": actor.can("billing", "manage"),
            "errors": errors,
            "message": message,
            "labels": labels,
        },
    )


@get("/billing/charges/{charge_id:str}", guards=VIEW, name="billing_charge_detail")
async def billing_charge_detail(
    request: Request[Any, Any, Any], actor: Actor, charge_id: str
) -> Response[str]:
    """One charge with the bank's answer, and void or refund."""
    return await _charge_page(request, actor, charge_id, {}, "")


async def _batches_context(actor: Actor, after: str | None = None) -> dict[str, Any]:
    rows, cursor = await batches.list_batches(actor, after=after)
    return {
        "batches": rows,
        "next_url": query("/billing/batches", after=cursor) if cursor else None,
        "can_manage": actor.can("billing", "manage"),
        "errors": {},
        "kind": "transaction",
    }


@get("/billing/batches", guards=VIEW, name="billing_batches")
async def billing_batches(
    request: Request[Any, Any, Any], actor: Actor, after: str | None = None
) -> Response[str]:
    """Upload a Registration or Batch Transaction file; the Batch Report (latest uploads first)."""
    return page(request, "billing/batches.html", await _batches_context(actor, after))


@post("/billing/batches", guards=MANAGE, name="billing_batch_upload")
async def billing_batch_upload(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    form = await request.form()
    kind = str(form.get("kind") or "")
    upload = form.get("file")
    try:
        if upload is None or isinstance(upload, str):
            raise ValidationFailed(
                N_("Choose a CSV or XLSX file."),
                code="no_file",
                errors=[FieldError("/file", N_("choose a file"), "no_file")],
            )
        content = await upload.read()
        batch_id = await batches.upload(actor, kind, upload.filename or "upload.csv", content)
    except NeracaError as exc:
        if exc.status not in (409, 422):
            raise
        context = await _batches_context(actor)
        context.update(errors=field_errors(exc.errors, exc.detail), kind=kind, message=exc.detail)
        response = page(request, "billing/batches.html", context)
        response.status_code = 422
        return response
    return see_other(request, f"/billing/batches/{batch_id}")


@get("/billing/batches/{batch_id:str}", guards=VIEW, name="billing_batch_detail")
async def billing_batch_detail(request: Request[Any, Any, Any], actor: Actor, batch_id: str) -> Response[str]:
    """A file's rows, the invalid ones highlighted with their reasons; Re-upload file or Process."""
    batch = await batches.batch_row(actor, batch_id)
    return page(
        request,
        "billing/batch.html",
        {
            "batch": batch,
            "rows": await batches.batch_rows(actor, batch_id),
            "columns": batches.COLUMNS[batch["kind"]],
            "can_manage": actor.can("billing", "manage"),
            "message": "",
        },
    )


@post("/billing/batches/{batch_id:str}/process", guards=MANAGE, name="billing_batch_process")
async def billing_batch_process(
    request: Request[Any, Any, Any], actor: Actor, batch_id: str
) -> Response[Any]:
    await batches.find_batch(actor, batch_id)

    async def action(data: dict[str, str]) -> int:
        return await batches.process(actor, batch_id)

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[str]:
        batch = await batches.batch_row(actor, batch_id)
        return page(
            request,
            "billing/batch.html",
            {
                "batch": batch,
                "rows": await batches.batch_rows(actor, batch_id),
                "columns": batches.COLUMNS[batch["kind"]],
                "can_manage": actor.can("billing", "manage"),
                "message": message,
            },
        )

    return await handle_form(request, action, render=render, success=lambda _: "/billing/batches")


@get("/billing/templates/{name:str}", guards=VIEW, name="billing_batch_template")
async def billing_batch_template(actor: Actor, name: str) -> Response[Any]:
    """The upload templates: registration.csv, registration.xlsx, transaction.csv, transaction.xlsx."""
    kind, _, extension = name.partition(".")
    if kind not in batches.KINDS or extension not in ("csv", "xlsx"):
        raise NotFound(N_("No such template."))
    if extension == "csv":
        body: bytes = batches.template_csv(kind).encode()
        media = "text/csv; charset=utf-8"
    else:
        body = batches.template_xlsx(kind)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _report_params(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {name: str(request.query_params.get(name) or "") for name in REPORT_FIELDS}


REPORT_FIELDS = (
    "billing_number",
    "invoice_number",
    "file_name",
    "amount",
    "card_no",
    "holder_name",
    "holder_phone",
    "start",
    "end",
    "batch_type",
    "status",
    "response_code",
    "approval_code",
    "error_code",
)


@get("/billing/reports", guards=VIEW, name="billing_report")
async def billing_report(
    request: Request[Any, Any, Any], actor: Actor, after: str | None = None
) -> Response[str]:
    """All Report: every filter, the criteria, Total Data and Total Amount, cursor paging, export."""
    raw = _report_params(request)
    # A card number typed into a filter is refused and never sent back (not even in a link).
    params = {k: ("" if common.looks_like_card_number(v) else v) for k, v in raw.items()}
    errors: dict[str, list[str]] = {}
    result = None
    try:
        flt = reports.parse_filter(raw)
        result = await reports.report(actor, flt, after=after)
        criteria = flt.criteria()
    except ValidationFailed as exc:
        errors, criteria = field_errors(exc.errors, exc.detail), []
    searched = any(raw.values())
    return page(
        request,
        "billing/report.html",
        {
            "params": params,
            "result": result,
            "criteria": criteria,
            "errors": errors,
            "show_form": not searched or bool(errors),
            "export_url": query("/billing/reports/export.csv", **params),
            "export_xlsx_url": query("/billing/reports/export.xlsx", **params),
            "next_url": query("/billing/reports", after=result.next_cursor, **params)
            if result and result.next_cursor
            else None,
            "batch_types": reports.BATCH_TYPES,
            "statuses": reports.STATUSES,
        },
        status_code=422 if errors else 200,
    )


def _report_cells(row: Any, escape: Any) -> list[Any]:
    """One All Report row in the export's columns (the card masked; text passed through `escape`)."""
    return [
        escape(row["billing_number"]),
        escape(row["invoice_number"]),
        escape(row["file_name"]),
        row["execute_date"].isoformat(),
        row["kind"],
        row["amount"],
        row["refunded_amount"],
        row["status"],
        escape(labels.masked_card(row["card_first6"], row["card_last4"])),
        escape(row["holder_name"]),
        escape(row["holder_phone"]),
        escape(row["response_code"]),
        escape(row["approval_code"]),
        escape(row["error_message"]),
        escape(row["issuer"]),
    ]


@get("/billing/reports/export.csv", guards=VIEW, name="billing_report_export")
async def billing_report_export(request: Request[Any, Any, Any], actor: Actor) -> Stream:
    """The matching charges as CSV, streamed (text cells escaped against formula injection)."""
    flt = reports.parse_filter(_report_params(request))
    await common.audit(actor, "billing.report_exported", f"{actor.name} exported the billing report", {})

    async def rows() -> AsyncIterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(REPORT_COLUMNS)
        yield ("\ufeff" + buffer.getvalue()).encode()
        async for row in reports.iterate_report(actor, flt):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(_report_cells(row, escape_text))
            yield buffer.getvalue().encode()

    return Stream(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="billing-report.csv"'},
    )


def _text_cell(value: Any) -> str:
    return "" if value is None else str(value)


@get("/billing/reports/export.xlsx", guards=VIEW, name="billing_report_export_xlsx")
async def billing_report_export_xlsx(request: Request[Any, Any, Any], actor: Actor) -> Stream:
    """The matching charges as XLSX: the CSV's columns and filters, written row by row in XlsxWriter's
    constant memory mode to a temporary file (text cells are strings, never formulas), then streamed."""
    import xlsxwriter

    flt = reports.parse_filter(_report_params(request))
    await common.audit(actor, "billing.report_exported", f"{actor.name} exported the billing report", {})
    spool = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 - closed when the stream ends
    book = xlsxwriter.Workbook(spool.name, {"constant_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("Report")
    bold = book.add_format({"bold": True})
    for column, name in enumerate(REPORT_COLUMNS):
        sheet.write_string(0, column, name, bold)
    line = 0
    async for row in reports.iterate_report(actor, flt):
        line += 1
        for column, value in enumerate(_report_cells(row, _text_cell)):
            if isinstance(value, int):
                sheet.write_number(line, column, value)
            else:
                sheet.write_string(line, column, value)
    await asyncio.to_thread(book.close)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            spool.seek(0)
            while chunk := await asyncio.to_thread(spool.read, 64 * 1024):
                yield chunk
        finally:
            spool.close()

    return Stream(
        chunks(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="billing-report.xlsx"'},
    )


REPORT_COLUMNS = [
    "billing_number",
    "invoice_number",
    "file_name",
    "execute_date",
    "type",
    "amount",
    "refunded",
    "status",
    "card",
    "card_holder",
    "card_holder_phone",
    "response_code",
    "approval_code",
    "error",
    "issuer",
]


@get("/billing/dashboard", guards=VIEW, name="billing_dashboard")
async def billing_dashboard(
    request: Request[Any, Any, Any], actor: Actor, period: str = "weekly"
) -> Response[str]:
    """The billing dashboard, weekly or monthly, from the report's queries."""
    board = await reports.dashboard(actor, period)
    return page(
        request,
        "billing/dashboard.html",
        {
            "board": board,
            "report_url": query("/billing/reports", start=board.start.isoformat(), end=board.end.isoformat()),
            "chart_max": max([ok + failed for _, ok, failed in board.chart] or [1]),
        },
    )


ROUTES = [
    pages_router(
        ACTOR_DEPENDENCY,
        [
            billing_index,
            billing_customer_create,
            billing_create,
            billing_detail,
            billing_schedule,
            billing_status,
            billing_type,
            billing_delete,
            billing_date_delete,
            billing_card,
            billing_card_return,
            billing_charges,
            billing_charge_void,
            billing_charge_refund,
            billing_charge_detail,
            billing_batches,
            billing_batch_upload,
            billing_batch_detail,
            billing_batch_process,
            billing_batch_template,
            billing_report,
            billing_report_export,
            billing_report_export_xlsx,
            billing_dashboard,
        ],
    )
]
