"""Statement test helpers: a business tree, and booked history at chosen times.

`book()` writes a posted transfer with a given `created_at` straight into the ledger's tables (inserts
are allowed; the immutability trigger only refuses UPDATE/DELETE/TRUNCATE) and moves the account balance
columns by the same amount, so the ledger's invariants still hold afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx

from portal.domains.accounts import services as accounts
from portal.lib import clock, sql
from portal.lib.ids import new_id
from portal.lib.timefmt import WIB
from tests.support.ledger import Tree, make_tree, owner

__all__ = [
    "ApiBusiness",
    "Tree",
    "add_key",
    "api_business",
    "book",
    "make_tree",
    "owner",
    "signed_headers",
    "world_of",
]


async def world_of(business_id: str, currency: str = "IDR") -> str:
    return await accounts.system_account_id(business_id, currency, "world")


async def book(
    business_id: str,
    debit: str,
    credit: str,
    amount: int,
    at: datetime,
    *,
    kind: str = "transfer",
    description: str = "",
    currency: str = "IDR",
) -> str:
    transfer_id = new_id("trf")
    async with sql.connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO transfer (id, business_id, debit_account_id, credit_account_id, amount, currency, "
            "phase, kind, description, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'posted', $7, $8, $9)",
            transfer_id,
            business_id,
            debit,
            credit,
            amount,
            currency,
            kind,
            description,
            at,
        )
        await conn.execute(
            "UPDATE account SET debits_posted = debits_posted + $2 WHERE id = $1", debit, amount
        )
        await conn.execute(
            "UPDATE account SET credits_posted = credits_posted + $2 WHERE id = $1", credit, amount
        )
    return transfer_id


# --- a real business with an API key ------------------------------------------------------------


@dataclass
class ApiBusiness:
    business_id: str
    tree: Tree
    client_id: str
    secret: str


async def api_business(
    *, permissions: frozenset[str] = frozenset({"reports:view", "accounts:view"}), partners: int = 2
) -> ApiBusiness:
    """A business (identity), its account tree, and an API key with `permissions` for the whole business."""
    from portal.domains.identity import services as identity
    from portal.lib.actor import system_actor

    business, _user, _link = await identity.create_business(
        name="Toko Statement", owner_username=f"own{new_id('u')[-8:]}", owner_email="owner@example.com"
    )
    tree = await make_tree(partners, business_id=business.id)
    key, secret = await identity.create_api_key(
        system_actor(business.id), name="statements", permissions=permissions
    )
    return ApiBusiness(business.id, tree, key.client_id, secret)


async def add_key(business_id: str, *, scope: str | None, permissions: frozenset[str]) -> tuple[str, str]:
    from portal.domains.identity import services as identity
    from portal.lib.actor import system_actor

    key, secret = await identity.create_api_key(
        system_actor(business_id),
        name=f"key {new_id('k')[-6:]}",
        permissions=permissions,
        scope_account_id=scope,
    )
    return key.client_id, secret


def signed_headers(client_id: str, secret: str, target: str) -> dict[str, str]:
    """The request signature (docs/api-contract.md) for a GET of `target` (path and query)."""
    from portal.lib import security

    request_id = new_id("req")
    timestamp = clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    message = security.signing_message(
        client_id=client_id, request_id=request_id, timestamp=timestamp, target=target, body=b""
    )
    return {
        "Client-Id": client_id,
        "Request-Id": request_id,
        "Request-Timestamp": timestamp,
        "Signature": security.sign(secret, message),
    }


async def signed_in_owner(business_id: str) -> str:
    """A session token for the business's owner (enrolment marked done directly)."""
    from portal.domains.identity import auth
    from portal.domains.identity import services as identity

    user_id = await sql.fetchval(
        "SELECT id FROM app_user WHERE business_id = $1 AND role = 'owner'", business_id
    )
    await sql.execute(
        "UPDATE app_user SET password_hash = 'not-used-in-tests', totp_confirmed = true WHERE id = $1",
        user_id,
    )
    user = await identity.user_by_id(user_id)
    assert user is not None
    return await auth.start_session(user, auth.ClientInfo(ip="127.0.0.1", user_agent="pytest"))


TODAY = datetime.now(UTC).astimezone(WIB).date()


DAY1 = TODAY - timedelta(days=10)


DAY2 = TODAY - timedelta(days=5)


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=WIB)


async def history(biz: ApiBusiness) -> tuple[str, str, str]:
    """Partner a: 100,000 in before the period; in the period 40,000 in, 15,000 to b, a 6,000 fee."""
    t = biz.tree
    a, b = t.accounts
    world = await world_of(t.business_id)
    fees = await sql.fetchval(
        "SELECT id FROM account WHERE business_id = $1 AND system_role = 'fees'", t.business_id
    )
    await book(t.business_id, world, a, 100_000, at(DAY1 - timedelta(days=1), 23, 59))
    await book(t.business_id, world, a, 40_000, at(DAY1, 9), kind="topup", description="Top-up")
    await book(t.business_id, a, b, 15_000, at(DAY1, 10), description="Komisi")
    await book(t.business_id, a, fees, 6_000, at(DAY2, 11), kind="fee", description="Fee")
    return a, b, world


async def portal_client(client: httpx.AsyncClient, business_id: str) -> httpx.AsyncClient:
    token = await signed_in_owner(business_id)
    client.cookies.set("neraca_session", token)
    page = await client.get("/reports")
    assert page.status_code == 200, page.text[:500]
    csrf = client.cookies.get("neraca_csrf")
    client.headers["x-csrftoken"] = csrf or ""
    return client
