"""Subscriptions of accounts (one, or a whole subtree) to plans, and usage lines added by API."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.invoices.cycles import period_end
from portal.domains.invoices.schemas import SubscriptionOut, SubscriptionPage, UsageOut
from portal.domains.invoices.services.plans import plan_row
from portal.domains.invoices.services.shared import (
    audit,
    check_id,
    clean_text,
    invalid,
    not_found,
    optional_id,
    parse_day,
    scope_clause,
    subscription_out,
    whole_number,
)
from portal.lib import sql
from portal.lib.actor import Actor
from portal.lib.errors import N_, FieldError, ValidationFailed
from portal.lib.ids import new_id
from portal.lib.sql import transaction

SUBSCRIPTION_COLUMNS = (
    "s.id, s.business_id, s.plan_id, s.account_id, s.cycle_day, s.starts_on, s.ends_on, s.period_start, "
    "s.period_end, s.status, s.created_at"
)
MAX_AMOUNT = 10**15


def default_cycle_day(cycle: str, starts_on: date) -> int:
    return starts_on.isoweekday() if cycle == "weekly" else starts_on.day


async def subscribe(
    actor: Actor,
    *,
    plan_id: Any,
    account_id: Any,
    starts_on: Any,
    ends_on: Any = None,
    cycle_day: Any = None,
    include_descendants: bool = False,
) -> list[SubscriptionOut]:
    """Subscribe an account — or every account of its subtree — to a plan from `starts_on` (until
    `ends_on`, exclusive, when given), billed on `cycle_day`. Accounts of the subtree already subscribed
    to the plan or in another currency are skipped; for one account both are refused."""
    actor.require("invoices", "manage")
    plan = await plan_row(actor, plan_id)
    if plan["status"] != "active":
        raise invalid(
            N_("Plan %(id)s is archived."), "plan_archived", "/plan_id", N_("archived"), {"id": plan["id"]}
        )
    start = parse_day(starts_on, "/starts_on")
    end = None if ends_on in (None, "") else parse_day(ends_on, "/ends_on")
    if end is not None and end <= start:
        raise invalid(
            N_("The end date must be after the start date."),
            "end_before_start",
            "/ends_on",
            N_("before the start"),
        )
    high = 7 if plan["cycle"] == "weekly" else 31
    day = default_cycle_day(plan["cycle"], start) if cycle_day in (None, "") else None
    if day is None:
        day = whole_number(cycle_day, "/cycle_day", low=1, high=high)
    root = await accounts.get_account_row(actor, str(account_id or ""))
    if include_descendants:
        candidates = [
            r
            for r in await accounts.subtree_rows(actor, root.id)
            if r.kind != "system" and r.status != "closed" and r.currency == plan["currency"]
        ]
    else:
        if root.currency != plan["currency"]:
            raise ValidationFailed(
                N_("Account %(id)s holds %(currency)s; the plan bills in %(plan_currency)s."),
                params={"id": root.id, "currency": root.currency, "plan_currency": plan["currency"]},
                code="currency_mismatch",
                errors=[FieldError("/account_id", N_("another currency"))],
            )
        if root.status == "closed":
            raise invalid(
                N_("Account %(id)s is closed."),
                "account_closed",
                "/account_id",
                N_("account is closed"),
                {"id": root.id},
            )
        candidates = [root]
    candidates = [r for r in candidates if r.id != plan["receiving_account_id"]]
    if not include_descendants and not candidates:
        raise invalid(
            N_("The receiving account cannot be billed by its own plan."),
            "same_account",
            "/account_id",
            N_("the plan's receiving account"),
        )
    first_end = period_end(plan["cycle"], day, start, start, end)
    created: list[asyncpg.Record] = []
    async with transaction():
        for account in candidates:
            row = await sql.fetchrow(
                "INSERT INTO invoice_subscription (business_id, id, plan_id, account_id, cycle_day, "
                "starts_on, "
                "ends_on, period_start, period_end) VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $8) "
                "ON CONFLICT (business_id, plan_id, account_id) WHERE status = 'active' DO NOTHING "
                f"RETURNING {SUBSCRIPTION_COLUMNS.replace('s.', '')}",
                actor.business_id,
                new_id("sub"),
                plan["id"],
                account.id,
                day,
                start,
                end,
                first_end,
            )
            if row is None and not include_descendants:
                raise invalid(
                    N_("Account %(id)s is already subscribed to this plan."),
                    "already_subscribed",
                    "/account_id",
                    N_("already subscribed"),
                    {"id": account.id},
                )
            if row is not None:
                created.append(row)
        if created:
            await audit(
                actor,
                "invoice_subscription.created",
                f"{len(created)} account(s) subscribed to plan {plan['name']} from {start.isoformat()}",
                {"plan_id": plan["id"], "account_id": root.id},
            )
    return [subscription_out(r) for r in created]


async def subscription_row(actor: Actor, subscription_id: Any, *, lock: bool = False) -> asyncpg.Record:
    checked = check_id(subscription_id, "sub", "subscription", "/subscription_id")
    args: list[Any] = [checked]
    where = scope_clause(actor, args, "s")
    row = await sql.fetchrow(
        f"SELECT {SUBSCRIPTION_COLUMNS} FROM invoice_subscription s WHERE s.id = $1 AND {where}"
        + (" FOR UPDATE OF s" if lock else ""),
        *args,
    )
    if row is None:
        raise not_found("subscription", checked, "/subscription_id")
    return row


async def find_subscription(actor: Actor, subscription_id: str) -> None:
    """NotFound unless the actor may see the subscription."""
    await subscription_row(actor, subscription_id)


async def get_subscription(actor: Actor, subscription_id: str) -> SubscriptionOut:
    """One subscription in the actor's business and scope."""
    actor.require("invoices", "view")
    return subscription_out(await subscription_row(actor, subscription_id))


async def list_subscriptions(
    actor: Actor,
    *,
    plan_id: str | None = None,
    account_id: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> SubscriptionPage:
    """Subscriptions in scope, oldest first, cursor-paginated by id."""
    actor.require("invoices", "view")
    size = whole_number(50 if limit is None else limit, "/limit", low=1, high=200)
    args: list[Any] = []
    where = scope_clause(actor, args, "s")
    if plan_id:
        args.append(optional_id(plan_id, "/plan_id"))
        where += f" AND s.plan_id = ${len(args)}"
    account_id = optional_id(account_id, "/account_id")
    after = optional_id(after, "/after")
    if account_id:
        args.append(account_id)
        where += f" AND s.account_id = ${len(args)}"
    if after:
        args.append(after)
        where += f" AND s.id > ${len(args)}"
    args.append(size + 1)
    rows = await sql.fetch(
        f"SELECT {SUBSCRIPTION_COLUMNS} FROM invoice_subscription s WHERE {where} "
        f"ORDER BY s.id LIMIT ${len(args)}",
        *args,
    )
    data = [subscription_out(r) for r in rows[:size]]
    more = len(rows) > size
    return SubscriptionPage(data, more, data[-1].id if more and data else None)


async def cancel_subscription(actor: Actor, subscription_id: str) -> SubscriptionOut:
    """Stop billing: periods already invoiced stay; the current, unbilled period is not invoiced."""
    actor.require("invoices", "manage")
    async with transaction():
        row = await subscription_row(actor, subscription_id, lock=True)
        updated = await sql.fetchrow(
            "UPDATE invoice_subscription s SET status = 'cancelled' WHERE s.business_id = $1 AND s.id = $2 "
            f"AND s.status = 'active' RETURNING {SUBSCRIPTION_COLUMNS}",
            actor.business_id,
            row["id"],
        )
        if updated is not None:
            await audit(
                actor,
                "invoice_subscription.cancelled",
                f"Subscription {row['id']} cancelled",
                {"subscription_id": row["id"], "account_id": row["account_id"]},
            )
    return subscription_out(updated or row)


async def add_usage(
    actor: Actor, subscription_id: str, *, description: Any, quantity: Any, unit_amount: Any
) -> UsageOut:
    """A usage line the next invoice of the subscription carries (quantity × unit amount)."""
    actor.require("invoices", "manage")
    text = clean_text(description, "/description", 200)
    if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity <= 0:
        raise invalid(
            N_("The quantity must be a positive whole number."),
            "invalid_quantity",
            "/quantity",
            N_("must be positive"),
        )
    count = whole_number(quantity, "/quantity", low=1, high=10**9)
    price = whole_number(unit_amount, "/unit_amount", low=0, high=MAX_AMOUNT)
    if count * price > MAX_AMOUNT:
        raise invalid(N_("The line's amount is too large."), "amount_too_large", "/quantity", N_("too large"))
    usage_id = new_id("use")
    async with transaction():
        row = await subscription_row(actor, subscription_id, lock=True)
        if row["status"] != "active":
            raise invalid(
                N_("Subscription %(id)s is not active."),
                "subscription_not_active",
                "/subscription_id",
                N_("not active"),
                {"id": row["id"]},
            )
        usage = await sql.fetchrow(
            "INSERT INTO invoice_usage (business_id, id, subscription_id, description, quantity, "
            "unit_amount, "
            "amount) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING business_id, id, subscription_id, "
            "description, quantity, unit_amount, amount, invoice_id, created_at",
            actor.business_id,
            usage_id,
            row["id"],
            text,
            count,
            price,
            count * price,
        )
    assert usage is not None
    return UsageOut(
        id=usage["id"],
        subscription_id=usage["subscription_id"],
        description=usage["description"],
        quantity=usage["quantity"],
        unit_amount=usage["unit_amount"],
        amount=usage["amount"],
        invoice_id=usage["invoice_id"],
        created_at=usage["created_at"],
    )
