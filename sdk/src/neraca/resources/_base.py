"""Base classes of the resource attributes (``client.accounts`` and friends)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._client import AsyncNeraca, Neraca

__all__ = ["AsyncResource", "SyncResource"]


class SyncResource:
    """A group of endpoints bound to a blocking client."""

    def __init__(self, client: Neraca) -> None:
        self._client = client


class AsyncResource:
    """A group of endpoints bound to an asyncio client."""

    def __init__(self, client: AsyncNeraca) -> None:
        self._client = client
