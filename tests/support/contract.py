"""Helpers for the contract tests: API keys on the live server, and one way to await both SDK clients."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

from neraca import AsyncNeraca, Neraca
from neraca.models import Account

from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from tests.support.identity import make_business

T = TypeVar("T")


ALL = frozenset({"accounts:manage", "transfers:manage", "payouts:manage", "reports:view"})


@dataclass
class Key:
    """A business with an API key on the live server."""

    business_id: str
    client_id: str
    secret: str
    base_url: str
    owner: Any  # the owner's Actor, to make more keys for the same business

    def client(self, kind: str = "sync", **options: Any) -> Any:
        options = {
            "client_id": self.client_id,
            "client_secret": self.secret,
            "base_url": self.base_url,
        } | options
        return Neraca(**options) if kind == "sync" else AsyncNeraca(**options)

    async def sibling(self, permissions: frozenset[str], scope: str | None = None) -> Key:
        """Another key of the same business."""
        key, secret = await identity.create_api_key(
            self.owner, name="contract-2", permissions=permissions, scope_account_id=scope
        )
        return Key(self.business_id, key.client_id, secret, self.base_url, self.owner)


async def make_key(base_url: str, permissions: frozenset[str] = ALL, *, mode: str = "sandbox") -> Key:
    """A new business with an API key holding `permissions`."""
    business, owner = await make_business(mode=mode)
    actor = user_actor(owner, business)
    key, secret = await identity.create_api_key(
        actor, name="contract", permissions=permissions, scope_account_id=None
    )
    return Key(business.id, key.client_id, secret, base_url, actor)


async def res(value: T | Awaitable[T]) -> T:
    """The result of an SDK call from either client."""
    if inspect.isawaitable(value):
        return await value
    return value


async def collect(pager: Any) -> list[Any]:
    """Every item of a sync or async pager."""
    if hasattr(pager, "__aiter__"):
        return [item async for item in pager]
    return list(pager)


async def first(pager: Any) -> Any:
    return await res(pager.first())


async def pages(pager: Any) -> list[Any]:
    if inspect.isasyncgenfunction(pager.pages):
        return [page async for page in pager.pages()]
    return list(pager.pages())


def ref(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def funded(sdk: Any, amount: int = 1_000_000) -> tuple[Account, Account, Account]:
    """The main account topped up with `amount` (paid), plus a division and a partner below it."""
    main = await first(sdk.accounts.list(kind="main"))
    assert isinstance(main, Account) and main.kind == "main"
    division = await res(sdk.accounts.create(name="Jakarta", kind="division", parent_id=main.id))
    partner = await res(
        sdk.accounts.create(name="Toko Budi", kind="partner", parent_id=main.id, reference=ref("P"))
    )
    topup = await res(sdk.topups.create(account_id=main.id, amount=amount, reference=ref("TOP")))
    paid = await res(sdk.topups.simulate_payment(topup.id))
    assert paid.status == "paid"
    return main, division, partner
