"""``client.transfers``: moving money between accounts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NotRequired, TypedDict

from .._base_client import Call, ListCall, compact, model_parser, page_parser, path, require_amount
from ..models import Transfer, TransferGroup
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncTransfers", "TransferLeg", "Transfers"]

_transfer = model_parser(Transfer)
_group = model_parser(TransferGroup)


class TransferLeg(TypedDict):
    """One transfer of a group (``transfers.create_group``)."""

    from_account_id: str
    to_account_id: str
    amount: int
    description: NotRequired[str]


def _create(
    *,
    from_account_id: str,
    to_account_id: str,
    amount: int,
    reference: str,
    description: str | None,
    metadata: Mapping[str, Any] | None,
    request_id: str | None,
) -> Call[Transfer]:
    body = compact(
        {
            "from_account_id": from_account_id,
            "to_account_id": to_account_id,
            "amount": require_amount(amount),
            "reference": reference,
            "description": description,
            "metadata": dict(metadata) if metadata is not None else None,
        }
    )
    return Call("POST", "/transfers", _transfer, body=body, request_id=request_id)


def _create_group(
    *, reference: str, transfers: Sequence[TransferLeg | Mapping[str, Any]], request_id: str | None
) -> Call[TransferGroup]:
    legs = []
    for i, leg in enumerate(transfers):
        item = compact(dict(leg))
        require_amount(item.get("amount"), f"transfers[{i}].amount")
        legs.append(item)
    if not legs:
        raise ValueError("a transfer group needs at least one transfer")
    body = {"reference": reference, "transfers": legs}
    return Call("POST", "/transfer-groups", _group, body=body, request_id=request_id)


def _list(
    *,
    account_id: str | None,
    reference: str | None,
    created_from: datetime | None,
    created_to: datetime | None,
    limit: int | None,
) -> ListCall[Transfer]:
    params = {
        "account_id": account_id,
        "reference": reference,
        "created_from": created_from,
        "created_to": created_to,
        "limit": limit,
    }
    return ListCall("/transfers", compact(params), page_parser(Transfer))


class Transfers(SyncResource):
    """Transfers between accounts of the same currency."""

    def create(
        self,
        *,
        from_account_id: str,
        to_account_id: str,
        amount: int,
        reference: str,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Transfer:
        """Move ``amount`` (an int in minor units) from one account to another.

        ``reference`` is your unique id for this movement (409 ``duplicate_reference`` if reused);
        ``request_id`` is the idempotency key, generated when not given and reused on retries.
        """
        return self._client._request(
            _create(
                from_account_id=from_account_id,
                to_account_id=to_account_id,
                amount=amount,
                reference=reference,
                description=description,
                metadata=metadata,
                request_id=request_id,
            )
        )

    def create_group(
        self,
        *,
        reference: str,
        transfers: Sequence[TransferLeg | Mapping[str, Any]],
        request_id: str | None = None,
    ) -> TransferGroup:
        """Book several transfers atomically: all succeed or none does (a split, a fee plus a move)."""
        return self._client._request(
            _create_group(reference=reference, transfers=transfers, request_id=request_id)
        )

    def retrieve(self, transfer_id: str) -> Transfer:
        """Return one transfer by id."""
        return self._client._request(Call("GET", path("/transfers/{}", transfer_id), _transfer))

    def list(
        self,
        *,
        account_id: str | None = None,
        reference: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        limit: int | None = None,
    ) -> SyncPager[Transfer]:
        """Iterate transfers touching ``account_id`` (either side), by ``reference`` or creation window."""
        return self._client._pager(
            _list(
                account_id=account_id,
                reference=reference,
                created_from=created_from,
                created_to=created_to,
                limit=limit,
            )
        )


class AsyncTransfers(AsyncResource):
    """Transfers between accounts of the same currency."""

    async def create(
        self,
        *,
        from_account_id: str,
        to_account_id: str,
        amount: int,
        reference: str,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Transfer:
        """Move ``amount`` (an int in minor units) from one account to another (see ``Transfers.create``)."""
        return await self._client._request(
            _create(
                from_account_id=from_account_id,
                to_account_id=to_account_id,
                amount=amount,
                reference=reference,
                description=description,
                metadata=metadata,
                request_id=request_id,
            )
        )

    async def create_group(
        self,
        *,
        reference: str,
        transfers: Sequence[TransferLeg | Mapping[str, Any]],
        request_id: str | None = None,
    ) -> TransferGroup:
        """Book several transfers atomically: all succeed or none does."""
        return await self._client._request(
            _create_group(reference=reference, transfers=transfers, request_id=request_id)
        )

    async def retrieve(self, transfer_id: str) -> Transfer:
        """Return one transfer by id."""
        return await self._client._request(Call("GET", path("/transfers/{}", transfer_id), _transfer))

    def list(
        self,
        *,
        account_id: str | None = None,
        reference: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        limit: int | None = None,
    ) -> AsyncPager[Transfer]:
        """Iterate transfers with ``async for`` (nothing is sent until then)."""
        return self._client._pager(
            _list(
                account_id=account_id,
                reference=reference,
                created_from=created_from,
                created_to=created_to,
                limit=limit,
            )
        )
