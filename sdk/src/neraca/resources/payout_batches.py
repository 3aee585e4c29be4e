"""``client.payout_batches``: many payouts from one CSV or XLSX file, validated per row, approved as one."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from .._base_client import Call, compact, model_parser, path
from ..models import PayoutBatch, PayoutBatchList
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncPayoutBatches", "PayoutBatches"]

_batch = model_parser(PayoutBatch)
_list = model_parser(PayoutBatchList)


def _create(
    file: str | os.PathLike[str] | bytes, filename: str | None, account_id: str | None, request_id: str | None
) -> Call[PayoutBatch]:
    if isinstance(file, bytes):
        content, name = file, filename or "batch.csv"
    else:
        content, name = Path(file).read_bytes(), filename or Path(file).name
    body = compact(
        {"filename": name, "content": base64.b64encode(content).decode("ascii"), "account_id": account_id}
    )
    return Call("POST", "/payout_batches", _batch, body=body, request_id=request_id)


def _action(
    batch_id: str, action: str, request_id: str | None, body: dict[str, str] | None = None
) -> Call[PayoutBatch]:
    return Call(
        "POST", path("/payout_batches/{}/" + action, batch_id), _batch, body=body, request_id=request_id
    )


def _accept_name(batch_id: str, row: int, request_id: str | None) -> Call[PayoutBatch]:
    route = path("/payout_batches/{}/rows/{}/accept_name", batch_id, str(int(row)))
    return Call("POST", route, _batch, request_id=request_id)


class PayoutBatches(SyncResource):
    """Batch payouts: upload, check the rows, submit for approval, approve."""

    def create(
        self,
        *,
        file: str | os.PathLike[str] | bytes,
        filename: str | None = None,
        account_id: str | None = None,
        request_id: str | None = None,
    ) -> PayoutBatch:
        """Upload a CSV or XLSX file (a path or its bytes); every row comes back with its errors."""
        return self._client._request(_create(file, filename, account_id, request_id))

    def retrieve(self, batch_id: str) -> PayoutBatch:
        """The batch with its rows, errors and (once submitted) each row's payout state."""
        return self._client._request(Call("GET", path("/payout_batches/{}", batch_id), _batch))

    def list(self) -> PayoutBatchList:
        """The business's recent batches."""
        return self._client._request(Call("GET", "/payout_batches", _list))

    def submit(self, batch_id: str, *, request_id: str | None = None) -> PayoutBatch:
        """Submit a batch without invalid rows for approval (every row becomes a held payout)."""
        return self._client._request(_action(batch_id, "submit", request_id))

    def approve(self, batch_id: str, *, code: str, request_id: str | None = None) -> PayoutBatch:
        """Approve a submitted batch with the approver's authenticator code."""
        return self._client._request(_action(batch_id, "approve", request_id, {"code": code}))

    def accept_name(self, batch_id: str, row: int, *, request_id: str | None = None) -> PayoutBatch:
        """Accept the bank's holder name on a row whose typed name differs, or the typed name on a row the
        bank could not be asked about (an approver, not the maker)."""
        return self._client._request(_accept_name(batch_id, row, request_id))

    def check_names(self, batch_id: str, *, request_id: str | None = None) -> PayoutBatch:
        """Ask the bank again for the rows it could not answer (and rows never checked)."""
        return self._client._request(_action(batch_id, "check_names", request_id))


class AsyncPayoutBatches(AsyncResource):
    """Batch payouts (see ``PayoutBatches``)."""

    async def create(
        self,
        *,
        file: str | os.PathLike[str] | bytes,
        filename: str | None = None,
        account_id: str | None = None,
        request_id: str | None = None,
    ) -> PayoutBatch:
        """Upload a CSV or XLSX file (a path or its bytes)."""
        return await self._client._request(_create(file, filename, account_id, request_id))

    async def retrieve(self, batch_id: str) -> PayoutBatch:
        """The batch with its rows."""
        return await self._client._request(Call("GET", path("/payout_batches/{}", batch_id), _batch))

    async def list(self) -> PayoutBatchList:
        """The business's recent batches."""
        return await self._client._request(Call("GET", "/payout_batches", _list))

    async def submit(self, batch_id: str, *, request_id: str | None = None) -> PayoutBatch:
        """Submit a batch for approval."""
        return await self._client._request(_action(batch_id, "submit", request_id))

    async def approve(self, batch_id: str, *, code: str, request_id: str | None = None) -> PayoutBatch:
        """Approve a submitted batch with the approver's authenticator code."""
        return await self._client._request(_action(batch_id, "approve", request_id, {"code": code}))

    async def accept_name(self, batch_id: str, row: int, *, request_id: str | None = None) -> PayoutBatch:
        """Accept a row's name (see ``PayoutBatches.accept_name``)."""
        return await self._client._request(_accept_name(batch_id, row, request_id))

    async def check_names(self, batch_id: str, *, request_id: str | None = None) -> PayoutBatch:
        """Ask the bank again for the rows it could not answer (and rows never checked)."""
        return await self._client._request(_action(batch_id, "check_names", request_id))
