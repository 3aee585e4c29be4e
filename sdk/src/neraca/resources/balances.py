"""``client.balances``: what an account (or a subtree) holds."""

from __future__ import annotations

from datetime import datetime

from .._base_client import Call, compact, model_parser, path
from ..models import Balance
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncBalances", "Balances"]

_balance = model_parser(Balance)


def _retrieve(account_id: str, as_of: datetime | None) -> Call[Balance]:
    return Call("GET", path("/balances/{}", account_id), _balance, params=compact({"as_of": as_of}))


def _rollup(account_id: str) -> Call[Balance]:
    return Call("GET", path("/balances/{}/rollup", account_id), _balance)


class Balances(SyncResource):
    """Balances of an account or of its subtree."""

    def retrieve(self, account_id: str, *, as_of: datetime | None = None) -> Balance:
        """Return the account's balance now, or at the aware datetime ``as_of``."""
        return self._client._request(_retrieve(account_id, as_of))

    def rollup(self, account_id: str) -> Balance:
        """Return the summed balance of the account and all its descendants (``accounts`` counts them)."""
        return self._client._request(_rollup(account_id))


class AsyncBalances(AsyncResource):
    """Balances of an account or of its subtree."""

    async def retrieve(self, account_id: str, *, as_of: datetime | None = None) -> Balance:
        """Return the account's balance now, or at the aware datetime ``as_of``."""
        return await self._client._request(_retrieve(account_id, as_of))

    async def rollup(self, account_id: str) -> Balance:
        """Return the summed balance of the account and all its descendants (``accounts`` counts them)."""
        return await self._client._request(_rollup(account_id))
