"""``client.me``: the API key making the call."""

from __future__ import annotations

from .._base_client import Call, model_parser
from ..models import Me
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncMeResource", "MeResource"]


def _retrieve() -> Call[Me]:
    return Call("GET", "/me", model_parser(Me))


class MeResource(SyncResource):
    """The API key making the call."""

    def retrieve(self) -> Me:
        """Return the key's business, name, permissions and account scope (a cheap credentials check)."""
        return self._client._request(_retrieve())


class AsyncMeResource(AsyncResource):
    """The API key making the call."""

    async def retrieve(self) -> Me:
        """Return the key's business, name, permissions and account scope (a cheap credentials check)."""
        return await self._client._request(_retrieve())
