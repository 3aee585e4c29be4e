"""``client.topups``: money coming into an account from outside the system."""

from __future__ import annotations

from typing import Literal

from .._base_client import Call, ListCall, compact, model_parser, page_parser, path, require_amount
from ..models import TopUp
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncTopUps", "TopUps"]

_topup = model_parser(TopUp)
TopUpStatus = Literal["pending", "paid", "expired"]


def _create(*, account_id: str, amount: int, reference: str, request_id: str | None) -> Call[TopUp]:
    body = {"account_id": account_id, "amount": require_amount(amount), "reference": reference}
    return Call("POST", "/topups", _topup, body=body, request_id=request_id)


def _list(*, account_id: str | None, status: str | None, limit: int | None) -> ListCall[TopUp]:
    params = compact({"account_id": account_id, "status": status, "limit": limit})
    return ListCall("/topups", params, page_parser(TopUp))


def _simulate_payment(topup_id: str, request_id: str | None) -> Call[TopUp]:
    return Call("POST", path("/topups/{}/simulate-payment", topup_id), _topup, request_id=request_id)


class TopUps(SyncResource):
    """Top-ups: the payer pays ``total`` to the payment instructions, the account receives ``amount``."""

    def create(self, *, account_id: str, amount: int, reference: str, request_id: str | None = None) -> TopUp:
        """Open a top-up of ``amount`` (int, minor units) into ``account_id``; read its instructions."""
        return self._client._request(
            _create(account_id=account_id, amount=amount, reference=reference, request_id=request_id)
        )

    def retrieve(self, topup_id: str) -> TopUp:
        """Return one top-up by id."""
        return self._client._request(Call("GET", path("/topups/{}", topup_id), _topup))

    def list(
        self, *, account_id: str | None = None, status: TopUpStatus | None = None, limit: int | None = None
    ) -> SyncPager[TopUp]:
        """Iterate top-ups, optionally of one account or in one status."""
        return self._client._pager(_list(account_id=account_id, status=status, limit=limit))

    def simulate_payment(self, topup_id: str, *, request_id: str | None = None) -> TopUp:
        """Sandbox only: act as the payer and pay the top-up, crediting the account."""
        return self._client._request(_simulate_payment(topup_id, request_id))


class AsyncTopUps(AsyncResource):
    """Top-ups: the payer pays ``total`` to the payment instructions, the account receives ``amount``."""

    async def create(
        self, *, account_id: str, amount: int, reference: str, request_id: str | None = None
    ) -> TopUp:
        """Open a top-up of ``amount`` (int, minor units) into ``account_id``; read its instructions."""
        return await self._client._request(
            _create(account_id=account_id, amount=amount, reference=reference, request_id=request_id)
        )

    async def retrieve(self, topup_id: str) -> TopUp:
        """Return one top-up by id."""
        return await self._client._request(Call("GET", path("/topups/{}", topup_id), _topup))

    def list(
        self, *, account_id: str | None = None, status: TopUpStatus | None = None, limit: int | None = None
    ) -> AsyncPager[TopUp]:
        """Iterate top-ups with ``async for`` (nothing is sent until then)."""
        return self._client._pager(_list(account_id=account_id, status=status, limit=limit))

    async def simulate_payment(self, topup_id: str, *, request_id: str | None = None) -> TopUp:
        """Sandbox only: act as the payer and pay the top-up, crediting the account."""
        return await self._client._request(_simulate_payment(topup_id, request_id))
