"""Invoices JSON API (/api/v1/plans, /api/v1/subscriptions, /api/v1/invoices): thin controllers over
invoices.services."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post

from portal.domains.invoices import services
from portal.domains.invoices.schemas import (
    CreditCreate,
    InvoiceOut,
    InvoicePage,
    PlanCreate,
    PlanOut,
    PlanPage,
    PreviewOut,
    SettingsOut,
    SettingsUpdate,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionPage,
    UsageCreate,
    UsageOut,
)
from portal.domains.invoices.services import reports
from portal.domains.invoices.services.reports import MonthlyReport, PlansReport, ReceivablesReport
from portal.lib.actor import Actor
from portal.server.guards import ACTOR_DEPENDENCY, object_first, requires

DEPS = {"actor": ACTOR_DEPENDENCY}


@post(
    "/api/v1/plans",
    operation_id="create_plan",
    guards=[requires("invoices", "manage")],
    dependencies=DEPS,
    tags=["plans"],
)
async def create_plan(actor: Actor, data: PlanCreate) -> PlanOut:
    """A billing plan: fixed amount per cycle, a percentage of the money in, or usage lines only."""
    return await services.create_plan(
        actor,
        name=data.name,
        receiving_account_id=data.receiving_account_id,
        cycle=data.cycle,
        fixed_amount=data.fixed_amount,
        percent=data.percent,
        due_days=data.due_days,
        tax_percent=data.tax_percent,
        tax_label=data.tax_label,
    )


@get(
    "/api/v1/plans",
    operation_id="list_plans",
    guards=[requires("invoices")],
    dependencies=DEPS,
    tags=["plans"],
)
async def list_plans(actor: Actor, limit: int | None = None, after: str | None = None) -> PlanPage:
    """The business's plans, oldest first, cursor-paginated."""
    return await services.list_plans(actor, limit=limit, after=after)


@get(
    "/api/v1/plans/{plan_id:str}",
    operation_id="retrieve_plan",
    guards=[requires("invoices")],
    dependencies=DEPS,
    tags=["plans"],
)
async def retrieve_plan(actor: Actor, plan_id: str) -> PlanOut:
    """One plan."""
    return await services.get_plan(actor, plan_id)


@post(
    "/api/v1/plans/{plan_id:str}/archive",
    operation_id="archive_plan",
    guards=[requires("invoices", "manage")],
    dependencies=DEPS,
    tags=["plans"],
    status_code=200,
)
async def archive_plan(actor: Actor, plan_id: str) -> PlanOut:
    """No new subscriptions to this plan; running ones keep being billed."""
    return await services.archive_plan(actor, plan_id)


@post(
    "/api/v1/subscriptions",
    operation_id="create_subscriptions",
    guards=[requires("invoices", "manage")],
    dependencies=DEPS,
    tags=["subscriptions"],
)
async def create_subscriptions(actor: Actor, data: SubscriptionCreate) -> SubscriptionPage:
    """Subscribe an account, or with `include_descendants` every account of its subtree, to a plan."""
    created = await services.subscribe(
        actor,
        plan_id=data.plan_id,
        account_id=data.account_id,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        cycle_day=data.cycle_day,
        include_descendants=data.include_descendants,
    )
    return SubscriptionPage(created, False, None)


@get(
    "/api/v1/subscriptions",
    operation_id="list_subscriptions",
    guards=[requires("invoices")],
    dependencies=DEPS,
    tags=["subscriptions"],
)
async def list_subscriptions(
    actor: Actor,
    plan_id: str | None = None,
    account_id: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> SubscriptionPage:
    """Subscriptions in scope, oldest first, cursor-paginated."""
    return await services.list_subscriptions(
        actor, plan_id=plan_id, account_id=account_id, limit=limit, after=after
    )


@get(
    "/api/v1/subscriptions/{subscription_id:str}",
    operation_id="retrieve_subscription",
    guards=[requires("invoices")],
    dependencies=DEPS,
    tags=["subscriptions"],
)
async def retrieve_subscription(actor: Actor, subscription_id: str) -> SubscriptionOut:
    """One subscription with its next period."""
    return await services.get_subscription(actor, subscription_id)


@post(
    "/api/v1/subscriptions/{subscription_id:str}/cancel",
    operation_id="cancel_subscription",
    guards=[requires("invoices", "manage")],
    dependencies=DEPS,
    tags=["subscriptions"],
    status_code=200,
)
async def cancel_subscription(actor: Actor, subscription_id: str) -> SubscriptionOut:
    """Stop billing the subscription (invoices already issued stay)."""
    return await services.cancel_subscription(actor, subscription_id)


@get(
    "/api/v1/subscriptions/{subscription_id:str}/preview",
    operation_id="preview_invoice",
    guards=[requires("invoices")],
    dependencies=DEPS,
    tags=["invoices"],
)
async def preview_invoice(actor: Actor, subscription_id: str) -> PreviewOut:
    """The dry run: the subscription's next invoice as it would be issued now; nothing is written."""
    return await services.preview(actor, subscription_id)


@post(
    "/api/v1/subscriptions/{subscription_id:str}/usage",
    operation_id="add_usage",
    before_request=object_first(services.find_subscription, "subscription_id"),
    guards=[requires("invoices", "manage")],
    dependencies=DEPS,
    tags=["invoices"],
)
async def add_usage(actor: Actor, subscription_id: str, data: UsageCreate) -> UsageOut:
    """A usage line (quantity × unit amount) for the subscription's next invoice."""
    return await services.add_usage(
        actor,
        subscription_id,
        description=data.description,
        quantity=data.quantity,
        unit_amount=data.unit_amount,
    )


@get(
    "/api/v1/invoices",
    operation_id="list_invoices",
    guards=[requires("invoices")],
    dependencies=DEPS,
    tags=["invoices"],
)
async def list_invoices(
    actor: Actor,
    status: str | None = None,
    account_id: str | None = None,
    subscription_id: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> InvoicePage:
    """Invoices in scope, newest first; `status` open, paid, void, written_off, credited or overdue."""
    return await services.list_invoices(
        actor, status=status, account_id=account_id, subscription_id=subscription_id, limit=limit, after=after
    )


@get(
    "/api/v1/invoices/reports/receivables",
    operation_id="invoice_report_receivables",
    guards=[requires("invoices")],
    dependencies=DEPS,
    tags=["invoices"],
)
async def invoice_report_receivables(actor: Actor, as_of: str | None = None) -> ReceivablesReport:
    """What open invoices still owe per account, by days past due (`as_of` a WIB day, default today)."""
    return await reports.receivables_report(actor, reports.filters(as_of=as_of))


@get(
    "/api/v1/invoices/reports/plans",
    operation_id="invoice_report_plans",
    guards=[requires("invoices")],
    dependencies=DEPS,
    tags=["invoices"],
)
async def invoice_report_plans(actor: Actor, start: str | None = None, end: str | None = None) -> PlansReport:
    """Invoices per plan and month of their period's start (between `start` and `end`, both included)."""
    return await reports.plans_report(actor, reports.filters(start=start, end=end))


@get(
    "/api/v1/invoices/reports/monthly",
    operation_id="invoice_report_monthly",
    guards=[requires("invoices")],
    dependencies=DEPS,
    tags=["invoices"],
)
async def invoice_report_monthly(actor: Actor, months: str | None = None) -> MonthlyReport:
    """Billed against collected per WIB month over the last `months` months (1–36, default 12)."""
    return await reports.monthly_report(actor, reports.filters(months=months))


@get(
    "/api/v1/invoices/{invoice_id:str}",
    operation_id="retrieve_invoice",
    guards=[requires("invoices")],
    dependencies=DEPS,
    tags=["invoices"],
)
async def retrieve_invoice(actor: Actor, invoice_id: str) -> InvoiceOut:
    """One invoice with its lines and every step (issued, collected, payment failed, notified, …)."""
    return await services.get_invoice(actor, invoice_id)


@get(
    "/api/v1/invoices/{invoice_id:str}/pdf",
    operation_id="invoice_pdf",
    guards=[requires("invoices")],
    dependencies=DEPS,
    tags=["invoices"],
)
async def invoice_pdf(actor: Actor, invoice_id: str) -> Response[bytes]:
    """The invoice as a PDF document."""
    name, body = await services.invoice_pdf(actor, invoice_id)
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _action(path: str, operation_id: str, doc: str) -> Any:
    return post(
        path,
        before_request=object_first(services.find_invoice, "invoice_id"),
        operation_id=operation_id,
        guards=[requires("invoices", "manage")],
        dependencies=DEPS,
        tags=["invoices"],
        status_code=200,
        description=doc,
    )


@_action(
    "/api/v1/invoices/{invoice_id:str}/void", "void_invoice", "Void an open invoice nothing was collected on."
)
async def void_invoice(actor: Actor, invoice_id: str) -> InvoiceOut:
    return await services.void_invoice(actor, invoice_id)


@_action(
    "/api/v1/invoices/{invoice_id:str}/credit",
    "credit_invoice",
    "A credit note for a paid invoice: its payments are reversed to the billed account.",
)
async def credit_invoice(actor: Actor, invoice_id: str, data: CreditCreate | None = None) -> InvoiceOut:
    return await services.credit(actor, invoice_id, reason=data.reason if data else None)


@_action("/api/v1/invoices/{invoice_id:str}/write_off", "write_off_invoice", "Write off what is still due.")
async def write_off_invoice(actor: Actor, invoice_id: str) -> InvoiceOut:
    return await services.write_off(actor, invoice_id)


@_action(
    "/api/v1/invoices/{invoice_id:str}/collect",
    "collect_invoice",
    "Try to collect an open invoice now from the billed account's available balance.",
)
async def collect_invoice(actor: Actor, invoice_id: str) -> InvoiceOut:
    return await services.collect_now(actor, invoice_id)


@get(
    "/api/v1/invoice_settings",
    operation_id="retrieve_invoice_settings",
    guards=[requires("invoices")],
    dependencies=DEPS,
    tags=["invoices"],
)
async def retrieve_invoice_settings(actor: Actor) -> SettingsOut:
    """Partial collection (off by default), dunning retries (business days) and freeze after the last."""
    return await services.settings(actor.business_id)


@post(
    "/api/v1/invoice_settings",
    operation_id="update_invoice_settings",
    guards=[requires("invoices", "manage")],
    dependencies=DEPS,
    tags=["invoices"],
    status_code=200,
)
async def update_invoice_settings(actor: Actor, data: SettingsUpdate) -> SettingsOut:
    """Change the collection settings (whole-business users only)."""
    return await services.update_settings(
        actor,
        partial_collection=data.partial_collection,
        dunning_retries=data.dunning_retries,
        freeze_after_dunning=data.freeze_after_dunning,
    )


ROUTES = [
    create_plan,
    list_plans,
    retrieve_plan,
    archive_plan,
    create_subscriptions,
    list_subscriptions,
    retrieve_subscription,
    cancel_subscription,
    preview_invoice,
    add_usage,
    list_invoices,
    invoice_report_receivables,
    invoice_report_plans,
    invoice_report_monthly,
    retrieve_invoice,
    invoice_pdf,
    void_invoice,
    credit_invoice,
    write_off_invoice,
    collect_invoice,
    retrieve_invoice_settings,
    update_invoice_settings,
]
