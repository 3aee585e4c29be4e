"""Payouts test helpers: accounts the sandbox provider's name inquiry knows."""

from __future__ import annotations

from typing import Any

import httpx

from portal.settings import get_settings

DIRECTORY = {"bank_code": "014", "account_number": "8800112233", "holder_name": "Budi Santoso"}


async def register(account: dict[str, str], status: str = "active") -> None:
    """Put an account in the simulator's directory (as the bank would know it)."""
    async with httpx.AsyncClient(timeout=10) as http:
        url = f"{get_settings().provider.url}/control/api/bank-accounts"
        response = await http.post(url, json={**account, "status": status})
        assert response.is_success, response.text


def bank(number: str, name: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "bank", "bank_code": "014", "account_number": number, "holder_name": name, **extra}


async def payout_world(balance: int = 500_000_000, *, cooldown_s: int = 0) -> tuple[Any, Any, Any, str]:
    """A business with an enrolled owner (maker), a funded main account and a usable BCA beneficiary:
    (business, owner user, owner actor, beneficiary id)."""
    from portal.domains.accounts import services as accounts
    from portal.domains.identity.auth import user_actor
    from portal.domains.payouts import services
    from tests.support.identity import make_business
    from tests.support.ledger import fund

    await register(DIRECTORY)
    business, user = await make_business()
    actor = user_actor(user, business)
    main = await accounts.ensure_business_accounts(business.id)
    await fund(business.id, main, balance)
    await services.set_cooldown(actor, cooldown_s)
    ben = await services.add_beneficiary(
        actor, kind="bank", holder_name="Budi Santoso", bank_code="014", account_number="8800112233"
    )
    return business, user, actor, ben.id


async def balances(actor: Any, account_id: str) -> tuple[int, int]:
    """(posted, available) of an account."""
    from portal.domains.ledger import services as ledger

    now = await ledger.balance(actor, account_id)
    return now.posted, now.available


async def assert_ledger_sound() -> None:
    from portal.domains.ledger.invariants import check_all

    assert await check_all() == []


async def rail_mode(rail: str, mode: str) -> None:
    """Set a sandbox rail's mode (`normal`, `offline`, …) through the simulator's control API."""
    async with httpx.AsyncClient(timeout=10) as http:
        url = f"{get_settings().provider.url}/control/api/rails/{rail}"
        response = await http.post(url, json={"mode": mode})
        assert response.is_success, response.text


async def names_checked(business_id: str, batch_id: str, *, accept_as: Any = None) -> dict[int, str]:
    """What the batch's name-inquiry job does, run now (tests without a worker): every pending row asked
    at the sandbox provider. With `accept_as` (an approver other than the maker), every differing name
    is accepted, as the approver would on the batch page. Returns {row: name_status}; none is left
    pending."""
    from portal.domains.payouts import batches
    from portal.lib import sql

    await batches.inquire_names(business_id, batch_id)
    rows = await sql.fetch(
        "SELECT row_no, name_status FROM payout_batch_row WHERE business_id = $1 AND batch_id = $2 "
        "AND NOT deleted ORDER BY row_no",
        business_id,
        batch_id,
    )
    statuses = {r["row_no"]: r["name_status"] for r in rows}
    assert "pending" not in statuses.values(), statuses
    if accept_as is not None:
        for row_no, status in statuses.items():
            if status == "mismatch":
                await batches.accept_name(accept_as, batch_id, row_no)
    return statuses
