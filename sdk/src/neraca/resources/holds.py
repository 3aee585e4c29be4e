"""``client.holds``: pending transfers that reserve money until posted, voided or expired."""

from __future__ import annotations

from datetime import datetime

from .._base_client import Call, compact, model_parser, path, require_amount
from ..models import Hold
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncHolds", "Holds"]

_hold = model_parser(Hold)


def _create(
    *,
    from_account_id: str,
    to_account_id: str,
    amount: int,
    reference: str,
    expires_at: datetime | None,
    request_id: str | None,
) -> Call[Hold]:
    body = compact(
        {
            "from_account_id": from_account_id,
            "to_account_id": to_account_id,
            "amount": require_amount(amount),
            "reference": reference,
            "expires_at": expires_at,
        }
    )
    return Call("POST", "/holds", _hold, body=body, request_id=request_id)


def _post(hold_id: str, amount: int | None, request_id: str | None) -> Call[Hold]:
    body = {} if amount is None else {"amount": require_amount(amount)}
    return Call("POST", path("/holds/{}/post", hold_id), _hold, body=body, request_id=request_id)


def _void(hold_id: str, request_id: str | None) -> Call[Hold]:
    return Call("POST", path("/holds/{}/void", hold_id), _hold, request_id=request_id)


class Holds(SyncResource):
    """Holds: reserve now, settle later."""

    def create(
        self,
        *,
        from_account_id: str,
        to_account_id: str,
        amount: int,
        reference: str,
        expires_at: datetime | None = None,
        request_id: str | None = None,
    ) -> Hold:
        """Reserve ``amount`` on ``from_account_id`` for ``to_account_id``; it leaves ``available`` now."""
        return self._client._request(
            _create(
                from_account_id=from_account_id,
                to_account_id=to_account_id,
                amount=amount,
                reference=reference,
                expires_at=expires_at,
                request_id=request_id,
            )
        )

    def retrieve(self, hold_id: str) -> Hold:
        """Return one hold by id."""
        return self._client._request(Call("GET", path("/holds/{}", hold_id), _hold))

    def post(self, hold_id: str, *, amount: int | None = None, request_id: str | None = None) -> Hold:
        """Complete the hold: move ``amount`` (default: all of it); the rest is released."""
        return self._client._request(_post(hold_id, amount, request_id))

    def void(self, hold_id: str, *, request_id: str | None = None) -> Hold:
        """Cancel the hold and release the reserved amount."""
        return self._client._request(_void(hold_id, request_id))


class AsyncHolds(AsyncResource):
    """Holds: reserve now, settle later."""

    async def create(
        self,
        *,
        from_account_id: str,
        to_account_id: str,
        amount: int,
        reference: str,
        expires_at: datetime | None = None,
        request_id: str | None = None,
    ) -> Hold:
        """Reserve ``amount`` on ``from_account_id`` for ``to_account_id``; it leaves ``available`` now."""
        return await self._client._request(
            _create(
                from_account_id=from_account_id,
                to_account_id=to_account_id,
                amount=amount,
                reference=reference,
                expires_at=expires_at,
                request_id=request_id,
            )
        )

    async def retrieve(self, hold_id: str) -> Hold:
        """Return one hold by id."""
        return await self._client._request(Call("GET", path("/holds/{}", hold_id), _hold))

    async def post(self, hold_id: str, *, amount: int | None = None, request_id: str | None = None) -> Hold:
        """Complete the hold: move ``amount`` (default: all of it); the rest is released."""
        return await self._client._request(_post(hold_id, amount, request_id))

    async def void(self, hold_id: str, *, request_id: str | None = None) -> Hold:
        """Cancel the hold and release the reserved amount."""
        return await self._client._request(_void(hold_id, request_id))
