"""Contract tests: the `neraca` SDK against the real server over a socket (the `live_server` fixture).

`sdk` is parametrized over the blocking and the asyncio client so every test body runs against both:
write `await res(client.accounts.create(...))` (a no-op for the blocking client's plain result) and
`await collect(client.transfers.list(...))` for pagers. The blocking client stalls the test's event
loop while it waits, which is harmless here: the server runs in its own process.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from neraca import AsyncNeraca, Neraca

from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from tests.integration.identity.support import make_business

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


@pytest.fixture
async def key(db: str, live_server: str) -> Key:
    return await make_key(live_server)


@pytest.fixture
def key_factory(db: str, live_server: str) -> Callable[..., Awaitable[Key]]:
    async def factory(permissions: frozenset[str] = ALL, **kwargs: Any) -> Key:
        return await make_key(live_server, permissions, **kwargs)

    return factory


@pytest.fixture(params=["sync", "async"])
async def sdk(request: pytest.FixtureRequest, key: Key) -> AsyncIterator[Any]:
    """An SDK client (blocking, then asyncio) for a fresh sandbox business with every permission."""
    client = key.client(request.param)
    yield client
    if request.param == "sync":
        client.close()
    else:
        await client.close()


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
