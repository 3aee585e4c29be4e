"""``client.rails``: payout rails (limits, fees, hours) and quotes (rail, fee, ETA)."""

from __future__ import annotations

from .._base_client import Call, compact, model_parser, require_amount
from ..models import RailList, RailQuote
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncRails", "Rails"]

_rails = model_parser(RailList)
_quote = model_parser(RailQuote)


def _quote_call(amount: int, destination: str, rail: str | None) -> Call[RailQuote]:
    params = compact({"amount": require_amount(amount), "destination": destination, "rail": rail})
    return Call("GET", "/rails/quote", _quote, params=params)


class Rails(SyncResource):
    """Payout rails and quotes."""

    def list(self) -> RailList:
        """The rails with the business's limits and fees, and the next business days."""
        return self._client._request(Call("GET", "/rails", _rails))

    def quote(self, *, amount: int, destination: str, rail: str | None = None) -> RailQuote:
        """The rail a payout of ``amount`` to ``destination`` (``bank`` or an e-wallet code) would take:
        the cheapest eligible one, or ``rail`` when it is eligible; its fee and ETA."""
        return self._client._request(_quote_call(amount, destination, rail))


class AsyncRails(AsyncResource):
    """Payout rails and quotes."""

    async def list(self) -> RailList:
        """The rails with the business's limits and fees, and the next business days."""
        return await self._client._request(Call("GET", "/rails", _rails))

    async def quote(self, *, amount: int, destination: str, rail: str | None = None) -> RailQuote:
        """The rail, fee and ETA of a payout (see ``Rails.quote``)."""
        return await self._client._request(_quote_call(amount, destination, rail))
