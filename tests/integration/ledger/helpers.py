"""Shared helpers for ledger tests: a business with accounts, actors, funding from the world account."""

from __future__ import annotations

from dataclasses import dataclass

from portal.domains.accounts import services as accounts
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation
from portal.lib.actor import Actor, system_actor
from portal.lib.ids import new_id


def owner(business_id: str, *, scope: str | None = None, user_id: str = "usr_owner") -> Actor:
    actor = system_actor(business_id)
    return Actor(
        business_id=business_id,
        rights=actor.rights,
        scope_account_id=scope,
        user_id=user_id,
        name="Owner",
        business_mode="sandbox",
    )


@dataclass
class Tree:
    business_id: str
    actor: Actor
    main: str
    accounts: list[str]


async def make_tree(n: int = 3, *, business_id: str | None = None, currency: str = "IDR") -> Tree:
    business_id = business_id or new_id("biz")
    actor = owner(business_id)
    main = await accounts.ensure_business_accounts(business_id)
    ids = []
    for i in range(n):
        row = await accounts.create_account(
            actor, name=f"Partner {i}", kind="partner", parent_id=main, currency=currency
        )
        ids.append(row.id)
    return Tree(business_id, actor, main, ids)


async def fund(business_id: str, account_id: str, amount: int, currency: str = "IDR") -> None:
    """Money from outside (what a paid top-up does), without the top-up order."""
    world = await accounts.system_account_id(business_id, currency, "world")
    await engine.execute(
        Operation(business_id, [Leg(world, account_id, amount, kind="topup")], internal=True)
    )


def run_sync(loop: object, coro: object) -> object:
    """From a worker thread, run `coro` on the test session's event loop (where the pool lives)."""
    import asyncio

    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=60)  # type: ignore[arg-type]
