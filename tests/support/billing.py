"""Card billing test helpers: a business with a customer and a billing, a card registered on the
simulator's hosted page the way a customer's browser posts it, declines forced at the simulator."""

from __future__ import annotations

from typing import Any

import httpx

from portal.domains.billing import services
from portal.domains.identity.auth import user_actor
from portal.lib.actor import Actor
from portal.settings import get_settings
from tests.support.identity import make_business

TEST_CARD = "4111111111111111"


async def billing_business() -> tuple[Actor, Any]:
    business, owner = await make_business()
    return user_actor(owner, business), business


async def customer_and_billing(
    actor: Actor,
    number: str = "BIL-001",
    *,
    amount: int = 150_000,
    schedule: dict[str, Any] | None = None,
    **extra: Any,
) -> Any:
    ref = f"CUST-{number}"
    try:
        await services.get_customer(actor, ref)
    except Exception:
        await services.create_customer(actor, customer_id=ref, name="Budi Santoso", email="budi@example.com")
    return await services.create_billing(
        actor, customer_id=ref, billing_number=number, amount=amount, schedule=schedule, **extra
    )


async def register_card(actor: Actor, billing_id: str, number: str = TEST_CARD, expiry: str = "12/30") -> Any:
    """Start the hosted registration, fill in the provider's page as the customer would, come back."""
    started = await services.start_card_registration(actor, billing_id, "http://127.0.0.1:8000/billing/done")
    assert started.card.hosted_url
    async with httpx.AsyncClient(timeout=10) as http:
        posted = await http.post(
            started.card.hosted_url,
            data={"card_number": number, "expiry": expiry, "cvv": "123", "holder": "Budi Santoso"},
        )
    assert posted.status_code == 303, posted.text
    return await services.complete_card_registration(actor, billing_id)


async def decline_next(token: str, code: str) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            f"{get_settings().provider.url}/control/api/cards/{token}/decline-next",
            json={"response_code": code},
        )
        assert response.is_success, response.text


async def billing_objects(actor: Actor, account_id: str) -> dict[str, str]:
    """A customer, a billing on `account_id` and a charge of the actor's business (isolation matrix)."""
    from portal.lib import sql

    await services.create_customer(actor, customer_id="ISO-CUST", name="Object")
    billing = await services.create_billing(
        actor, customer_id="ISO-CUST", billing_number="ISO-BIL", amount=10_000, account_id=account_id
    )
    charge_id = "chg_" + billing.id[4:]
    await sql.execute(
        "INSERT INTO billing_charge (business_id, id, billing_id, customer_id, kind, execute_date, "
        "billing_number, "
        "invoice_number, account_id, amount, status) SELECT business_id, $2, id, customer_id, 'recurring', "
        "current_date, billing_number, 'ISO-INV', account_id, amount, 'failed' FROM billing WHERE id = $1",
        billing.id,
        charge_id,
    )
    customer_id = await sql.fetchval("SELECT customer_id FROM billing WHERE id = $1", billing.id)
    from portal.domains.billing.services import batches

    content = b"billing_number,invoice_number,amount,execute_date\nISO-BIL,ISO-INV-2,1000,2020-01-01\n"
    batch_id = await batches.upload(actor, "transaction", "iso.csv", content)
    return {
        "customer_id": customer_id,
        "billing_id": billing.id,
        "charge_id": charge_id,
        "batch_id": batch_id,
    }


async def pin_provider_clock(business_id: str, hour: int = 10) -> None:
    """Move the merchant's clock at the simulator to `hour`:00 WIB of the next business day, so a
    test's charges and voids never meet the provider's settlement cut-off of the real day."""
    from datetime import UTC, datetime, timedelta

    from portal.simulator.services import clock as sim_clock

    now = datetime.now(UTC)
    day = sim_clock.next_business_day(now.astimezone(sim_clock.WIB).date() + timedelta(days=1))
    target = sim_clock.wib(day, datetime.min.time().replace(hour=hour))
    await advance_provider_clock(business_id, int((target - now).total_seconds()))


async def advance_provider_clock(business_id: str, seconds: int) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            f"{get_settings().provider.url}/control/api/clock/{business_id}/advance",
            json={"seconds": seconds},
        )
    assert response.status_code == 200, response.text
