"""Invoices pages: the invoices in scope (partner and division users see their own), an invoice with its
lines, steps and actions, its PDF; billing plans with their subscriptions, the subscribe form and the
dry run of a subscription's next invoice. Thin controllers over invoices.services."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post

from portal.domains.accounts import services as accounts
from portal.domains.invoices import chart, labels, services
from portal.domains.invoices.cycles import CYCLES
from portal.domains.invoices.services import reports
from portal.lib.actor import Actor
from portal.lib.i18n import babel_locale, gettext
from portal.server.forms import handle_form, query
from portal.server.guards import ACTOR_DEPENDENCY, requires
from portal.server.templating import page

DEPS = {"actor": ACTOR_DEPENDENCY}
FILTERS = ("open", "overdue", "paid", "void", "written_off", "credited")


@get(
    "/invoices",
    operation_id="invoices_list",
    include_in_schema=False,
    guards=[requires("invoices")],
    dependencies=DEPS,
)
async def invoices_list(
    request: Request[Any, Any, Any], actor: Actor, status: str | None = None, after: str | None = None
) -> Response[str]:
    chosen = status if status in FILTERS else None
    listing = await services.list_invoices(actor, status=chosen, after=after)
    names = {a: n for a, n in await accounts.list_for_picker(actor)} if actor.can("accounts") else {}
    return page(
        request,
        "invoices/index.html",
        {
            "invoices": listing.data,
            "names": names,
            "status": chosen,
            "filters": [
                (f, gettext("Overdue") if f == "overdue" else labels.status_label(f)) for f in FILTERS
            ],
            "next_url": query("/invoices", status=chosen, after=listing.next_cursor)
            if listing.next_cursor
            else None,
            "can_plan": actor.scope_account_id is None,
        },
    )


@get(
    "/invoices/plans",
    operation_id="invoices_plans",
    include_in_schema=False,
    guards=[requires("invoices")],
    dependencies=DEPS,
)
async def invoices_plans(request: Request[Any, Any, Any], actor: Actor) -> Response[str]:
    return page(request, "invoices/plans.html", await _plans_context(actor))


async def _plans_context(
    actor: Actor, form: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    can_manage = actor.can("invoices", "manage") and actor.scope_account_id is None
    return {
        "plans": (await services.list_plans(actor, limit=200)).data,
        "can_manage": can_manage,
        "receivers": await accounts.list_for_picker(actor) if can_manage and actor.can("accounts") else [],
        "cycles": [(c, labels.cycle_label(c)) for c in CYCLES],
        "form": form or {"cycle": "monthly", "tax_percent": "11", "tax_label": "PPN", "due_days": "0"},
        "errors": errors or {},
    }


@post(
    "/invoices/plans",
    operation_id="invoices_plan_create",
    include_in_schema=False,
    guards=[requires("invoices", "manage")],
    dependencies=DEPS,
)
async def invoices_plan_create(request: Request[Any, Any, Any], actor: Actor) -> Response[Any]:
    async def act(data: dict[str, str]) -> Any:
        return await services.create_plan(
            actor,
            name=data.get("name", ""),
            receiving_account_id=data.get("receiving_account_id", ""),
            cycle=data.get("cycle", ""),
            fixed_amount=data.get("fixed_amount", "").replace(".", "").replace(",", "") or "0",
            percent=data.get("percent", "") or "0",
            due_days=data.get("due_days", "") or "0",
            tax_percent=data.get("tax_percent", "") or "0",
            tax_label=data.get("tax_label", "") or "PPN",
        )

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[Any]:
        return page(request, "invoices/plans.html", await _plans_context(actor, data, errors))

    return await handle_form(request, act, render=render, success=lambda plan: f"/invoices/plans/{plan.id}")


async def _plan_context(
    actor: Actor, plan_id: str, form: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    plan = await services.get_plan(actor, plan_id)
    subs = (await services.list_subscriptions(actor, plan_id=plan.id, limit=200)).data
    names = {a: n for a, n in await accounts.list_for_picker(actor)} if actor.can("accounts") else {}
    return {
        "plan": plan,
        "subscriptions": subs,
        "names": names,
        "can_manage": actor.can("invoices", "manage") and plan.status == "active",
        "accounts": list(names.items()),
        "form": form or {},
        "errors": errors or {},
    }


@get(
    "/invoices/plans/{plan_id:str}",
    operation_id="invoices_plan",
    include_in_schema=False,
    guards=[requires("invoices")],
    dependencies=DEPS,
)
async def invoices_plan(request: Request[Any, Any, Any], actor: Actor, plan_id: str) -> Response[str]:
    return page(request, "invoices/plan.html", await _plan_context(actor, plan_id))


@post(
    "/invoices/plans/{plan_id:str}/subscriptions",
    operation_id="invoices_subscribe",
    include_in_schema=False,
    guards=[requires("invoices", "manage")],
    dependencies=DEPS,
)
async def invoices_subscribe(request: Request[Any, Any, Any], actor: Actor, plan_id: str) -> Response[Any]:
    await services.get_plan(actor, plan_id)

    async def act(data: dict[str, str]) -> Any:
        return await services.subscribe(
            actor,
            plan_id=plan_id,
            account_id=data.get("account_id", ""),
            starts_on=data.get("starts_on", ""),
            ends_on=data.get("ends_on") or None,
            cycle_day=data.get("cycle_day") or None,
            include_descendants=data.get("include_descendants") == "1",
        )

    async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[Any]:
        return page(request, "invoices/plan.html", await _plan_context(actor, plan_id, data, errors))

    return await handle_form(
        request, act, render=render, success=lambda _created: f"/invoices/plans/{plan_id}"
    )


@get(
    "/invoices/reports",
    operation_id="invoices_reports",
    include_in_schema=False,
    guards=[requires("invoices")],
    dependencies=DEPS,
)
async def invoices_reports(
    request: Request[Any, Any, Any],
    actor: Actor,
    as_of: str | None = None,
    start: str | None = None,
    end: str | None = None,
    months: str | None = None,
) -> Response[str]:
    chosen = reports.filters(as_of=as_of, start=start, end=end, months=months)
    receivable = await reports.receivables_report(actor, chosen)
    plans = await reports.plans_report(actor, chosen)
    monthly = await reports.monthly_report(actor, chosen)
    return page(
        request,
        "invoices/reports.html",
        {
            "receivables": receivable.data,
            "plans": plans.data,
            "monthly": monthly.data,
            "charts": chart.build(monthly.data, babel_locale()),
            "filters": {
                "as_of": receivable.as_of,
                "start": start or "",
                "end": end or "",
                "months": monthly.months,
            },
            "filter_query": query("", as_of=as_of, start=start, end=end, months=months).lstrip("?"),
        },
    )


@get(
    "/invoices/reports/export",
    operation_id="invoices_report_export",
    include_in_schema=False,
    guards=[requires("invoices")],
    dependencies=DEPS,
)
async def invoices_report_export(
    actor: Actor,
    report: str = "",
    fmt: str = "",
    as_of: str | None = None,
    start: str | None = None,
    end: str | None = None,
    months: str | None = None,
) -> Response[bytes]:
    chosen = reports.filters(as_of=as_of, start=start, end=end, months=months)
    name, media_type, body = await reports.export(actor, report, fmt, chosen)
    return Response(
        body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@get(
    "/invoices/subscriptions/{subscription_id:str}",
    operation_id="invoices_subscription",
    include_in_schema=False,
    guards=[requires("invoices")],
    dependencies=DEPS,
)
async def invoices_subscription(
    request: Request[Any, Any, Any], actor: Actor, subscription_id: str
) -> Response[str]:
    subscription = await services.get_subscription(actor, subscription_id)
    return page(
        request,
        "invoices/subscription.html",
        {
            "subscription": subscription,
            "plan": await services.get_plan(actor, subscription.plan_id),
            "preview": await services.preview(actor, subscription.id)
            if subscription.status == "active"
            else None,
            "invoices": (
                await services.list_invoices(actor, subscription_id=subscription.id, limit=200)
            ).data,
        },
    )


@get(
    "/invoices/{invoice_id:str}",
    operation_id="invoices_detail",
    include_in_schema=False,
    guards=[requires("invoices")],
    dependencies=DEPS,
)
async def invoices_detail(request: Request[Any, Any, Any], actor: Actor, invoice_id: str) -> Response[str]:
    invoice = await services.get_invoice(actor, invoice_id)
    names = {a: n for a, n in await accounts.list_for_picker(actor)} if actor.can("accounts") else {}
    return page(
        request,
        "invoices/detail.html",
        {"invoice": invoice, "names": names, "can_manage": actor.can("invoices", "manage"), "errors": {}},
    )


@get(
    "/invoices/{invoice_id:str}/pdf",
    operation_id="invoices_pdf",
    include_in_schema=False,
    guards=[requires("invoices")],
    dependencies=DEPS,
)
async def invoices_pdf(actor: Actor, invoice_id: str) -> Response[bytes]:
    name, body = await services.invoice_pdf(actor, invoice_id)
    return Response(
        body, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _action_route(action: str) -> Any:
    operations = {
        "collect": services.collect_now,
        "void": services.void_invoice,
        "credit": services.credit,
        "write_off": services.write_off,
    }

    async def handler(request: Request[Any, Any, Any], actor: Actor, invoice_id: str) -> Response[Any]:
        async def act(data: dict[str, str]) -> Any:
            return await operations[action](actor, invoice_id)

        async def render(data: dict[str, str], errors: dict[str, list[str]], message: str) -> Response[Any]:
            invoice = await services.get_invoice(actor, invoice_id)
            return page(
                request,
                "invoices/detail.html",
                {"invoice": invoice, "names": {}, "can_manage": True, "errors": {"__all__": [message]}},
            )

        return await handle_form(request, act, render=render, success=lambda _i: f"/invoices/{invoice_id}")

    handler.__name__ = f"invoices_{action}"
    return post(
        f"/invoices/{{invoice_id:str}}/{action}",
        operation_id=f"invoices_{action}",
        include_in_schema=False,
        guards=[requires("invoices", "manage")],
        dependencies=DEPS,
    )(handler)


ROUTES = [
    invoices_list,
    invoices_plans,
    invoices_plan_create,
    invoices_plan,
    invoices_subscribe,
    invoices_reports,
    invoices_report_export,
    invoices_subscription,
    invoices_detail,
    invoices_pdf,
    *[_action_route(a) for a in ("collect", "void", "credit", "write_off")],
]
