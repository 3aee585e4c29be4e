"""The invoices domain's services: plans, subscriptions, the billing cycle, invoices and their actions
(docs/invoices.md). One module per aggregate; everything is re-exported here."""

from portal.domains.invoices.services.cycle import collect_due, generate_due, preview, run_cycle
from portal.domains.invoices.services.invoices import (
    collect_now,
    credit,
    find_invoice,
    get_invoice,
    invoice_pdf,
    invoice_row,
    list_invoices,
    steps_of,
    void_invoice,
    write_off,
)
from portal.domains.invoices.services.plans import (
    archive_plan,
    create_plan,
    get_plan,
    list_plans,
    settings,
    update_settings,
)
from portal.domains.invoices.services.subscriptions import (
    add_usage,
    cancel_subscription,
    find_subscription,
    get_subscription,
    list_subscriptions,
    subscribe,
)

__all__ = [
    "add_usage",
    "archive_plan",
    "cancel_subscription",
    "collect_due",
    "collect_now",
    "create_plan",
    "credit",
    "find_invoice",
    "find_subscription",
    "generate_due",
    "get_invoice",
    "get_plan",
    "get_subscription",
    "invoice_pdf",
    "invoice_row",
    "list_invoices",
    "list_plans",
    "list_subscriptions",
    "preview",
    "run_cycle",
    "settings",
    "steps_of",
    "subscribe",
    "update_settings",
    "void_invoice",
    "write_off",
]
