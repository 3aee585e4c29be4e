"""``client.payouts``: money sent to a beneficiary over a rail, with maker-checker and proof of payment."""

from __future__ import annotations

import os
from pathlib import Path

from .._base_client import (
    NOT_GIVEN,
    Call,
    ListCall,
    NotGiven,
    compact,
    given,
    model_parser,
    page_parser,
    path,
)
from ..models import Payout, PayoutSettings
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncPayouts", "Payouts"]

_payout = model_parser(Payout)
_settings = model_parser(PayoutSettings)


def _get_settings() -> Call[PayoutSettings]:
    return Call("GET", "/payout_settings", _settings)


def _update_settings(
    *, approval_threshold: int | NotGiven | None, beneficiary_cooldown_s: int | NotGiven
) -> Call[PayoutSettings]:
    body = given({"approval_threshold": approval_threshold, "beneficiary_cooldown_s": beneficiary_cooldown_s})
    return Call("PATCH", "/payout_settings", _settings, body=body)


def _create(
    *,
    beneficiary_id: str,
    amount: int,
    reference: str,
    rail: str | None,
    description: str | None,
    request_id: str | None,
) -> Call[Payout]:
    body = compact(
        {
            "beneficiary_id": beneficiary_id,
            "amount": amount,
            "reference": reference,
            "rail": rail,
            "description": description,
        }
    )
    return Call("POST", "/payouts", _payout, body=body, request_id=request_id)


def _list(*, status: str | None, account_id: str | None, limit: int | None) -> ListCall[Payout]:
    return ListCall(
        "/payouts", compact({"status": status, "account_id": account_id, "limit": limit}), page_parser(Payout)
    )


def _proof(payout_id: str) -> Call[None]:
    return Call("GET", path("/payouts/{}/proof", payout_id), lambda _: None)


class Payouts(SyncResource):
    """Payouts to beneficiaries: amount + fee held at creation, settled by the bank's answer."""

    def create(
        self,
        *,
        beneficiary_id: str,
        amount: int,
        reference: str,
        rail: str | None = None,
        description: str | None = None,
        request_id: str | None = None,
    ) -> Payout:
        """Pay ``amount`` (minor units) to a beneficiary over the cheapest eligible rail (or ``rail``).

        Above the business's approval threshold the payout is ``awaiting_approval`` until another user
        approves it in the portal or with ``approve``; otherwise it is ``scheduled``."""
        return self._client._request(
            _create(
                beneficiary_id=beneficiary_id,
                amount=amount,
                reference=reference,
                rail=rail,
                description=description,
                request_id=request_id,
            )
        )

    def retrieve(self, payout_id: str) -> Payout:
        """Return one payout by id."""
        return self._client._request(Call("GET", path("/payouts/{}", payout_id), _payout))

    def list(
        self, *, status: str | None = None, account_id: str | None = None, limit: int | None = None
    ) -> SyncPager[Payout]:
        """Iterate payouts, newest first, optionally by status or account."""
        return self._client._pager(_list(status=status, account_id=account_id, limit=limit))

    def cancel(self, payout_id: str, *, request_id: str | None = None) -> Payout:
        """Cancel a payout not yet sent (awaiting approval or scheduled); the held money is released."""
        return self._client._request(
            Call("POST", path("/payouts/{}/cancel", payout_id), _payout, request_id=request_id)
        )

    def approve(self, payout_id: str, *, code: str, request_id: str | None = None) -> Payout:
        """Approve a payout awaiting approval with the approver's authenticator code."""
        return self._client._request(
            Call(
                "POST",
                path("/payouts/{}/approve", payout_id),
                _payout,
                body={"code": code},
                request_id=request_id,
            )
        )

    def reject(self, payout_id: str, *, reason: str, request_id: str | None = None) -> Payout:
        """Reject a payout awaiting approval; the held money is released."""
        return self._client._request(
            Call(
                "POST",
                path("/payouts/{}/reject", payout_id),
                _payout,
                body={"reason": reason},
                request_id=request_id,
            )
        )

    def proof(self, payout_id: str, *, path: str | os.PathLike[str]) -> Path:
        """Download the proof of payment (PDF) of a succeeded payout to ``path`` and return the path."""
        return self._client._download(_proof(payout_id), Path(path))

    def settings(self) -> PayoutSettings:
        """The business's approval threshold and beneficiary cool-down."""
        return self._client._request(_get_settings())

    def update_settings(
        self,
        *,
        approval_threshold: int | NotGiven | None = NOT_GIVEN,
        beneficiary_cooldown_s: int | NotGiven = NOT_GIVEN,
    ) -> PayoutSettings:
        """Change the given settings only: ``approval_threshold`` in whole rupiah (0 or more; ``None``
        for no threshold), ``beneficiary_cooldown_s`` from 0 to 604800. Needs the whole business."""
        return self._client._request(
            _update_settings(
                approval_threshold=approval_threshold, beneficiary_cooldown_s=beneficiary_cooldown_s
            )
        )


class AsyncPayouts(AsyncResource):
    """Payouts to beneficiaries (see ``Payouts``)."""

    async def create(
        self,
        *,
        beneficiary_id: str,
        amount: int,
        reference: str,
        rail: str | None = None,
        description: str | None = None,
        request_id: str | None = None,
    ) -> Payout:
        """Pay ``amount`` to a beneficiary (see ``Payouts.create``)."""
        return await self._client._request(
            _create(
                beneficiary_id=beneficiary_id,
                amount=amount,
                reference=reference,
                rail=rail,
                description=description,
                request_id=request_id,
            )
        )

    async def retrieve(self, payout_id: str) -> Payout:
        """Return one payout by id."""
        return await self._client._request(Call("GET", path("/payouts/{}", payout_id), _payout))

    def list(
        self, *, status: str | None = None, account_id: str | None = None, limit: int | None = None
    ) -> AsyncPager[Payout]:
        """Iterate payouts with ``async for``."""
        return self._client._pager(_list(status=status, account_id=account_id, limit=limit))

    async def cancel(self, payout_id: str, *, request_id: str | None = None) -> Payout:
        """Cancel a payout not yet sent."""
        return await self._client._request(
            Call("POST", path("/payouts/{}/cancel", payout_id), _payout, request_id=request_id)
        )

    async def approve(self, payout_id: str, *, code: str, request_id: str | None = None) -> Payout:
        """Approve a payout awaiting approval with the approver's authenticator code."""
        return await self._client._request(
            Call(
                "POST",
                path("/payouts/{}/approve", payout_id),
                _payout,
                body={"code": code},
                request_id=request_id,
            )
        )

    async def reject(self, payout_id: str, *, reason: str, request_id: str | None = None) -> Payout:
        """Reject a payout awaiting approval."""
        return await self._client._request(
            Call(
                "POST",
                path("/payouts/{}/reject", payout_id),
                _payout,
                body={"reason": reason},
                request_id=request_id,
            )
        )

    async def proof(self, payout_id: str, *, path: str | os.PathLike[str]) -> Path:
        """Download the proof of payment (PDF) to ``path`` and return the path."""
        return await self._client._download(_proof(payout_id), Path(path))

    async def settings(self) -> PayoutSettings:
        """The business's approval threshold and beneficiary cool-down."""
        return await self._client._request(_get_settings())

    async def update_settings(
        self,
        *,
        approval_threshold: int | NotGiven | None = NOT_GIVEN,
        beneficiary_cooldown_s: int | NotGiven = NOT_GIVEN,
    ) -> PayoutSettings:
        """Change the given settings only (see ``Payouts.update_settings``)."""
        return await self._client._request(
            _update_settings(
                approval_threshold=approval_threshold, beneficiary_cooldown_s=beneficiary_cooldown_s
            )
        )
