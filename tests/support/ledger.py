"""Shared helpers for ledger tests: a business with accounts, actors, funding from the world account."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from portal.domains.accounts import services as accounts
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation
from portal.lib.actor import Actor, system_actor
from portal.lib.ids import new_id
from tests.support.identity import make_business, signed_headers


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


ALL = frozenset({"accounts:manage", "transfers:manage", "payouts:manage"})


class Api:
    def __init__(self, client: Any, client_id: str, secret: str) -> None:
        self.client, self.client_id, self.secret = client, client_id, secret

    async def call(self, method: str, path: str, body: Any = None, request_id: str | None = None) -> Any:
        raw = json.dumps(body).encode() if body is not None else b""
        headers = signed_headers(self.client_id, self.secret, method, path, raw, request_id=request_id)
        return await self.client.request(method, path, content=raw or None, headers=headers)


async def make_api(
    client: Any, permissions: frozenset[str] = ALL, scope: str | None = None
) -> tuple[Api, Any]:
    business, owner = await make_business()
    actor = user_actor(owner, business)
    key, secret = await identity.create_api_key(
        actor, name="ledger", permissions=permissions, scope_account_id=scope
    )
    return Api(client, key.client_id, secret), business
