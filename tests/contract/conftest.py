"""Contract tests: the `neraca` SDK against the real server over a socket (the `live_server` fixture).

`sdk` is parametrized over the blocking and the asyncio client so every test body runs against both:
write `await res(client.accounts.create(...))` (a no-op for the blocking client's plain result) and
`await collect(client.transfers.list(...))` for pagers. The blocking client stalls the test's event
loop while it waits, which is harmless here: the server runs in its own process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from tests.support.contract import ALL, Key, make_key
from tests.support.proxy import FaultyProxy, faulty_proxy


@pytest.fixture(scope="session")
def _proxy(live_server: str) -> Iterator[FaultyProxy]:
    with faulty_proxy(live_server) as proxy:
        yield proxy


@pytest.fixture
def proxy(_proxy: FaultyProxy) -> FaultyProxy:
    """A fault-injecting proxy in front of the live server, its faults cleared for each test."""
    _proxy.reset()
    return _proxy


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
