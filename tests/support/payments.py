"""Helpers for payments tests: an API client with payment rights, a registered sandbox card, split
settlement switched on, and a settlement run."""

from __future__ import annotations

from typing import Any

import httpx

from portal.domains.provider import gateway
from portal.lib.actor import Actor
from tests.support.ledger import Api, make_api

RIGHTS = frozenset(
    {
        "accounts:manage",
        "transfers:manage",
        "payouts:manage",
        "payments:manage",
        "splits:manage",
        "reports:view",
    }
)


async def payments_api(client: Any, scope: str | None = None) -> tuple[Api, Any, str]:
    """An API key with every payments right, its business and the business's main account."""
    api, business = await make_api(client, RIGHTS, scope)
    main = (await api.call("GET", "/api/v1/accounts?kind=main")).json()["data"][0]["id"]
    return api, business, main


async def card_token(business_id: str, number: str = "4111111111111111") -> str:
    """Register a card at the sandbox provider the way a customer's browser fills in the hosted page."""
    registration = await gateway.provider().register_card(business_id, "cust-1", "http://127.0.0.1:8000/done")
    async with httpx.AsyncClient(timeout=10) as http:
        posted = await http.post(
            registration.hosted_url,
            data={"card_number": number, "expiry": "12/30", "cvv": "123", "holder": "Budi Santoso"},
        )
    assert posted.status_code == 303, posted.text
    done = await gateway.provider().get_card_registration(business_id, registration.registration_id)
    assert done.token
    return done.token


async def verify_split_service_at_simulator(business_id: str) -> None:
    """The provider's review of the business's split settlement passes (the simulator's control API)."""
    from portal.settings import get_settings

    async with httpx.AsyncClient(timeout=10) as http:
        verified = await http.post(
            f"{get_settings().provider.url}/control/api/services/{business_id}/split_settlement/verify"
        )
    assert verified.status_code == 200 and verified.json()["status"] == "active", verified.text


async def activate_splits(api: Api) -> None:
    """Settings → Services: request split settlement, the provider verifies it (the simulator's control),
    and Neraca asks the provider again."""
    requested = await api.call("POST", "/api/v1/payment_settings/split_service")
    assert requested.status_code == 200 and requested.json()["split_service"] == "updating", requested.text
    business_id = (await api.call("GET", "/api/v1/me")).json()["business"]["id"]
    await verify_split_service_at_simulator(business_id)
    verified = await api.call("POST", "/api/v1/payment_settings/split_service/refresh")
    assert verified.status_code == 200 and verified.json()["split_service"] == "active", verified.text


def va_body(account_id: str, invoice: str, amount: int = 100_000, **extra: Any) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "amount": amount,
        "channel": "va",
        "bank_code": "014",
        "invoice_number": invoice,
        "customer_name": "Budi Santoso",
        "customer_email": "budi@example.com",
        **extra,
    }


async def balances(account_id: str) -> dict[str, int]:
    from portal.lib import sql

    row = await sql.fetchrow(
        "SELECT debits_posted, credits_posted, debits_pending, credits_pending FROM account WHERE id = $1",
        account_id,
    )
    assert row is not None
    return {k: int(v) for k, v in dict(row).items()}


def system_actor_of(business_id: str) -> Actor:
    from portal.lib.actor import system_actor

    return system_actor(business_id)


async def business_day_today() -> Any:
    """The business day a payment made now counts for (the provider's rule: today, rolled forward past
    weekends and holidays)."""
    from portal.domains.payments import services
    from portal.domains.payouts.services import load_calendar

    calendar = await load_calendar()
    today = services.today_wib()
    return today if calendar.is_business_day(today) else calendar.next_business_day(today)


async def paid_va(
    api: Api, account_id: str, invoice: str, amount: int = 100_000, **extra: Any
) -> dict[str, Any]:
    """A VA payment the customer has paid (at the simulator, confirmed by status query)."""
    created = await api.call("POST", "/api/v1/payments", va_body(account_id, invoice, amount, **extra))
    assert created.status_code == 201, created.text
    paid = await api.call("POST", f"/api/v1/payments/{created.json()['id']}/simulate-payment")
    assert paid.status_code == 200 and paid.json()["status"] == "paid", paid.text
    return dict(paid.json())


async def ledger_sound() -> None:
    from portal.domains.ledger.invariants import check_all

    assert await check_all() == []
