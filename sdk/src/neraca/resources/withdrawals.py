"""``client.withdrawals``: money paid out of an account to its settlement bank."""

from __future__ import annotations

from typing import Literal

from .._base_client import Call, ListCall, compact, model_parser, page_parser, path, require_amount
from ..models import Withdrawal
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncWithdrawals", "Withdrawals"]

_withdrawal = model_parser(Withdrawal)
WithdrawalStatus = Literal["pending", "paid", "failed"]


def _create(*, account_id: str, amount: int, reference: str, request_id: str | None) -> Call[Withdrawal]:
    body = {"account_id": account_id, "amount": require_amount(amount), "reference": reference}
    return Call("POST", "/withdrawals", _withdrawal, body=body, request_id=request_id)


def _list(*, account_id: str | None, status: str | None, limit: int | None) -> ListCall[Withdrawal]:
    params = compact({"account_id": account_id, "status": status, "limit": limit})
    return ListCall("/withdrawals", params, page_parser(Withdrawal))


def _mark_paid(withdrawal_id: str, request_id: str | None) -> Call[Withdrawal]:
    return Call("POST", path("/withdrawals/{}/mark-paid", withdrawal_id), _withdrawal, request_id=request_id)


def _mark_failed(withdrawal_id: str, reason: str, request_id: str | None) -> Call[Withdrawal]:
    return Call(
        "POST",
        path("/withdrawals/{}/mark-failed", withdrawal_id),
        _withdrawal,
        body={"reason": reason},
        request_id=request_id,
    )


class Withdrawals(SyncResource):
    """Withdrawals: reserved with a hold, posted when paid, refunded at once when failed."""

    def create(
        self, *, account_id: str, amount: int, reference: str, request_id: str | None = None
    ) -> Withdrawal:
        """Pay ``amount`` (int, minor units) out of ``account_id`` to its settlement bank; fee on top."""
        return self._client._request(
            _create(account_id=account_id, amount=amount, reference=reference, request_id=request_id)
        )

    def retrieve(self, withdrawal_id: str) -> Withdrawal:
        """Return one withdrawal by id."""
        return self._client._request(Call("GET", path("/withdrawals/{}", withdrawal_id), _withdrawal))

    def list(
        self,
        *,
        account_id: str | None = None,
        status: WithdrawalStatus | None = None,
        limit: int | None = None,
    ) -> SyncPager[Withdrawal]:
        """Iterate withdrawals, optionally of one account or in one status."""
        return self._client._pager(_list(account_id=account_id, status=status, limit=limit))

    def mark_paid(self, withdrawal_id: str, *, request_id: str | None = None) -> Withdrawal:
        """Record that the bank paid the withdrawal (posts its hold)."""
        return self._client._request(_mark_paid(withdrawal_id, request_id))

    def mark_failed(self, withdrawal_id: str, *, reason: str, request_id: str | None = None) -> Withdrawal:
        """Record that the payout failed (voids its hold: the account is refunded)."""
        return self._client._request(_mark_failed(withdrawal_id, reason, request_id))


class AsyncWithdrawals(AsyncResource):
    """Withdrawals: reserved with a hold, posted when paid, refunded at once when failed."""

    async def create(
        self, *, account_id: str, amount: int, reference: str, request_id: str | None = None
    ) -> Withdrawal:
        """Pay ``amount`` (int, minor units) out of ``account_id`` to its settlement bank; fee on top."""
        return await self._client._request(
            _create(account_id=account_id, amount=amount, reference=reference, request_id=request_id)
        )

    async def retrieve(self, withdrawal_id: str) -> Withdrawal:
        """Return one withdrawal by id."""
        return await self._client._request(Call("GET", path("/withdrawals/{}", withdrawal_id), _withdrawal))

    def list(
        self,
        *,
        account_id: str | None = None,
        status: WithdrawalStatus | None = None,
        limit: int | None = None,
    ) -> AsyncPager[Withdrawal]:
        """Iterate withdrawals with ``async for`` (nothing is sent until then)."""
        return self._client._pager(_list(account_id=account_id, status=status, limit=limit))

    async def mark_paid(self, withdrawal_id: str, *, request_id: str | None = None) -> Withdrawal:
        """Record that the bank paid the withdrawal (posts its hold)."""
        return await self._client._request(_mark_paid(withdrawal_id, request_id))

    async def mark_failed(
        self, withdrawal_id: str, *, reason: str, request_id: str | None = None
    ) -> Withdrawal:
        """Record that the payout failed (voids its hold: the account is refunded)."""
        return await self._client._request(_mark_failed(withdrawal_id, reason, request_id))
