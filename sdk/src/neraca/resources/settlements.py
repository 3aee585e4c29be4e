"""``client.settlements``: settlement batches of payments received."""

from __future__ import annotations

from .._base_client import Call, ListCall, compact, model_parser, page_parser, path
from ..models import RefundDeduction, Settlement, SettlementDetail
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncSettlements", "Settlements"]

_detail = model_parser(SettlementDetail)


def _list(status: str | None, channel: str | None, limit: int | None) -> ListCall[Settlement]:
    return ListCall(
        "/settlements",
        compact({"status": status, "channel": channel, "limit": limit}),
        page_parser(Settlement),
    )


def _deductions(status: str | None, limit: int | None) -> ListCall[RefundDeduction]:
    return ListCall(
        "/settlement_deductions", compact({"status": status, "limit": limit}), page_parser(RefundDeduction)
    )


class Settlements(SyncResource):
    """Settlement batches: list, retrieve (with the batch's payments); refund deductions."""

    def list(
        self, *, status: str | None = None, channel: str | None = None, limit: int | None = None
    ) -> SyncPager[Settlement]:
        """Iterate batches, newest first."""
        return self._client._pager(_list(status, channel, limit))

    def retrieve(self, settlement_id: str) -> SettlementDetail:
        """One batch with its payments."""
        return self._client._request(Call("GET", path("/settlements/{}", settlement_id), _detail))

    def deductions(
        self, *, status: str | None = None, limit: int | None = None
    ) -> SyncPager[RefundDeduction]:
        """Iterate refund deductions, newest first (``status`` ``owed`` or ``settled``)."""
        return self._client._pager(_deductions(status, limit))


class AsyncSettlements(AsyncResource):
    """Settlement batches: list, retrieve (with the batch's payments); refund deductions."""

    def list(
        self, *, status: str | None = None, channel: str | None = None, limit: int | None = None
    ) -> AsyncPager[Settlement]:
        """Iterate batches with ``async for``."""
        return self._client._pager(_list(status, channel, limit))

    async def retrieve(self, settlement_id: str) -> SettlementDetail:
        """One batch with its payments."""
        return await self._client._request(Call("GET", path("/settlements/{}", settlement_id), _detail))

    def deductions(
        self, *, status: str | None = None, limit: int | None = None
    ) -> AsyncPager[RefundDeduction]:
        """Iterate refund deductions with ``async for`` (``status`` ``owed`` or ``settled``)."""
        return self._client._pager(_deductions(status, limit))
