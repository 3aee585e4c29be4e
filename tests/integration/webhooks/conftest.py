"""Fixtures for events and webhooks: a business with accounts, and a live receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from portal.domains.webhooks import delivery
from tests.support.ledger import Tree, make_tree
from tests.support.webhooks import Receiver


@pytest.fixture
async def tree(db: str) -> Tree:
    return await make_tree(0)  # the main account only: opening accounts would write events


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    try:
        yield server
    finally:
        await delivery.close_clients()
        await server.stop()
