"""Billing plans and the business's collection settings."""

from __future__ import annotations

from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.invoices.cycles import BASIS_POINTS, CYCLES, percent_to_bp
from portal.domains.invoices.schemas import PlanOut, PlanPage, SettingsOut
from portal.domains.invoices.services.shared import (
    audit,
    check_id,
    clean_text,
    invalid,
    not_found,
    optional_id,
    plan_out,
    require_whole_business,
    whole_number,
)
from portal.lib import sql
from portal.lib.actor import Actor
from portal.lib.errors import N_
from portal.lib.ids import new_id
from portal.lib.sql import transaction

PLAN_COLUMNS = (
    "id, business_id, name, currency, fixed_amount, percent_bp, cycle, due_days, tax_label, tax_bp, "
    "receiving_account_id, status, created_at"
)
MAX_AMOUNT = 10**15


def _percent(value: Any, pointer: str, code: str, message: str) -> int:
    bp = percent_to_bp(str(value if value is not None else "0"))
    if bp is None or bp < 0:
        raise invalid(
            N_("%(field)s must be a percentage with at most two decimals."),
            "invalid_percent",
            pointer,
            N_("not a percentage"),
            {"field": pointer.strip("/")},
        )
    if bp > BASIS_POINTS:
        raise invalid(message, code, pointer, N_("above 100 %"))
    return bp


async def create_plan(
    actor: Actor,
    *,
    name: Any,
    receiving_account_id: Any,
    cycle: Any = "monthly",
    fixed_amount: Any = 0,
    percent: Any = "0",
    due_days: Any = 0,
    tax_percent: Any = "11",
    tax_label: Any = "PPN",
) -> PlanOut:
    """A plan: a fixed amount per cycle and/or a percentage of the account's money in during the cycle
    (usage lines come by API), the cycle, the due period, the tax line and the receiving account."""
    require_whole_business(actor)
    plan_name = clean_text(name, "/name", 100)
    if cycle not in CYCLES:
        raise invalid(
            N_("The cycle must be weekly, monthly, quarterly or yearly."),
            "invalid_cycle",
            "/cycle",
            N_("unknown cycle"),
        )
    fixed = whole_number(fixed_amount, "/fixed_amount", low=0, high=MAX_AMOUNT)
    percent_bp = _percent(
        percent,
        "/percent",
        "percent_above_100",
        N_("A plan cannot take more than 100 percent of the money in."),
    )
    tax_bp = _percent(tax_percent, "/tax_percent", "tax_above_100", N_("The tax rate cannot exceed 100 %."))
    days = whole_number(due_days, "/due_days", low=0, high=90)
    label = clean_text(tax_label, "/tax_label", 30)
    receiver = await accounts.get_account_row(
        actor, str(receiving_account_id or ""), pointer="/receiving_account_id"
    )
    plan_id = new_id("pln")
    async with transaction():
        row = await sql.fetchrow(
            "INSERT INTO invoice_plan (business_id, id, name, currency, fixed_amount, percent_bp, cycle, "
            "due_days, tax_label, tax_bp, receiving_account_id) "
            f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {PLAN_COLUMNS}",
            actor.business_id,
            plan_id,
            plan_name,
            receiver.currency,
            fixed,
            percent_bp,
            cycle,
            days,
            label,
            tax_bp,
            receiver.id,
        )
        await audit(actor, "invoice_plan.created", f"Billing plan {plan_name} created", {"plan_id": plan_id})
    assert row is not None
    return plan_out(row)


async def plan_row(actor: Actor, plan_id: Any, pointer: str = "/plan_id") -> Any:
    checked = check_id(plan_id, "pln", "plan", pointer)
    row = await sql.fetchrow(
        f"SELECT {PLAN_COLUMNS} FROM invoice_plan WHERE business_id = $1 AND id = $2",
        actor.business_id,
        checked,
    )
    if row is None:
        raise not_found("plan", checked, pointer)
    return row


async def get_plan(actor: Actor, plan_id: str) -> PlanOut:
    """One plan of the actor's business."""
    actor.require("invoices", "view")
    return plan_out(await plan_row(actor, plan_id))


async def list_plans(actor: Actor, *, limit: int | None = None, after: str | None = None) -> PlanPage:
    """The business's plans, oldest first, cursor-paginated by id."""
    actor.require("invoices", "view")
    size = whole_number(50 if limit is None else limit, "/limit", low=1, high=200)
    rows = await sql.fetch(
        f"SELECT {PLAN_COLUMNS} FROM invoice_plan WHERE business_id = $1 AND ($2::text IS NULL OR id > $2) "
        "ORDER BY id LIMIT $3",
        actor.business_id,
        optional_id(after, "/after"),
        size + 1,
    )
    data = [plan_out(r) for r in rows[:size]]
    more = len(rows) > size
    return PlanPage(data, more, data[-1].id if more and data else None)


async def archive_plan(actor: Actor, plan_id: str) -> PlanOut:
    """Archive a plan: no new subscriptions; running subscriptions keep being billed."""
    require_whole_business(actor)
    row = await plan_row(actor, plan_id)
    async with transaction():
        updated = await sql.fetchrow(
            f"UPDATE invoice_plan SET status = 'archived' WHERE business_id = $1 AND id = $2 "
            f"RETURNING {PLAN_COLUMNS}",
            actor.business_id,
            row["id"],
        )
        await audit(
            actor, "invoice_plan.archived", f"Billing plan {row['name']} archived", {"plan_id": row["id"]}
        )
    assert updated is not None
    return plan_out(updated)


# --- settings -----------------------------------------------------------------------------------

DEFAULT_SETTINGS = SettingsOut(partial_collection=False, dunning_retries=3, freeze_after_dunning=False)


async def settings(business_id: str) -> SettingsOut:
    """The business's collection settings (defaults: no partial collection, 3 retries, no freeze)."""
    row = await sql.fetchrow(
        "SELECT partial_collection, dunning_retries, freeze_after_dunning FROM invoice_settings "
        "WHERE business_id = $1",
        business_id,
    )
    if row is None:
        return DEFAULT_SETTINGS
    return SettingsOut(row["partial_collection"], row["dunning_retries"], row["freeze_after_dunning"])


async def update_settings(
    actor: Actor,
    *,
    partial_collection: bool | None = None,
    dunning_retries: Any = None,
    freeze_after_dunning: bool | None = None,
) -> SettingsOut:
    """Change the collection settings; None leaves a setting as it is."""
    require_whole_business(actor)
    current = await settings(actor.business_id)
    retries = (
        current.dunning_retries
        if dunning_retries is None
        else whole_number(dunning_retries, "/dunning_retries", low=0, high=10)
    )
    new = SettingsOut(
        current.partial_collection if partial_collection is None else bool(partial_collection),
        retries,
        current.freeze_after_dunning if freeze_after_dunning is None else bool(freeze_after_dunning),
    )
    async with transaction():
        await sql.execute(
            "INSERT INTO invoice_settings (business_id, partial_collection, dunning_retries, "
            "freeze_after_dunning) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (business_id) DO UPDATE SET partial_collection = $2, "
            "dunning_retries = $3, freeze_after_dunning = $4, updated_at = now()",
            actor.business_id,
            new.partial_collection,
            new.dunning_retries,
            new.freeze_after_dunning,
        )
        await audit(
            actor,
            "invoice_settings.updated",
            f"Invoice collection: partial {new.partial_collection}, {new.dunning_retries} retries, "
            f"freeze {new.freeze_after_dunning}",
            {},
        )
    return new
