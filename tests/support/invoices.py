"""Shared helpers for invoices tests: a plan, a subscription whose first period has ended, its invoice,
and the clock moved to a given WIB day."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from portal.domains.invoices import services as invoices
from portal.domains.payouts.router import WIB
from portal.lib import clock
from portal.lib.actor import Actor


def wib(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=WIB).astimezone(UTC)


@contextmanager
def on_day(day: date, hour: int = 9) -> Iterator[None]:
    """portal.lib.clock set to `hour` o'clock WIB on `day` for the block."""
    moment = wib(day, hour)
    clock.set_clock(lambda: moment)
    try:
        yield
    finally:
        clock.set_clock(None)


async def make_plan(actor: Actor, receiving_account_id: str, **fields: Any) -> Any:
    values: dict[str, Any] = {"name": "Franchise fee", "fixed_amount": 100_000, "cycle": "monthly"}
    values.update(fields)
    return await invoices.create_plan(actor, receiving_account_id=receiving_account_id, **values)


async def subscribe_tree(actor: Actor, plan_id: str, main_account_id: str, day: date) -> Any:
    """The main account and all its descendants subscribed to a plan, starting (and done) on `day`."""
    with on_day(day):
        return await invoices.subscribe(
            actor,
            plan_id=plan_id,
            account_id=main_account_id,
            starts_on=day.isoformat(),
            include_descendants=True,
        )


async def issued_invoice(actor: Actor, receiving_account_id: str, account_id: str) -> tuple[Any, Any, str]:
    """(plan, subscription, invoice id): a monthly plan whose first period ended yesterday."""
    today = datetime.now(UTC).astimezone(WIB).date()
    plan = await make_plan(actor, receiving_account_id, due_days=30)
    (subscription,) = await invoices.subscribe(
        actor,
        plan_id=plan.id,
        account_id=account_id,
        starts_on=today - timedelta(days=40),
        cycle_day=today.day,
    )
    await invoices.generate_due(day=today, business_id=actor.business_id)
    page = await invoices.list_invoices(actor, subscription_id=subscription.id)
    return plan, subscription, page.data[-1].id


async def invoices_objects(actor: Actor, receiving_account_id: str, account_id: str) -> dict[str, str]:
    """A plan, a subscription and an invoice of the actor's business (invoices routes)."""
    plan, subscription, invoice_id = await issued_invoice(actor, receiving_account_id, account_id)
    return {"plan_id": plan.id, "subscription_id": subscription.id, "invoice_id": invoice_id}
