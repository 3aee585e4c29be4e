"""``client.beneficiaries``: bank accounts and e-wallets payouts can go to, verified by name inquiry."""

from __future__ import annotations

from typing import Literal

from .._base_client import Call, ListCall, compact, model_parser, page_parser, path
from ..models import Beneficiary
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncBeneficiaries", "Beneficiaries"]

_beneficiary = model_parser(Beneficiary)
Wallet = Literal["OVO", "GOPAY", "DANA", "SHOPEEPAY", "LINKAJA"]


def _create(
    *,
    kind: Literal["bank", "ewallet"],
    holder_name: str,
    account_id: str | None,
    bank_code: str | None,
    account_number: str | None,
    wallet: str | None,
    phone: str | None,
    label: str | None,
    is_default: bool,
    confirm_holder_name: str | None,
    request_id: str | None,
) -> Call[Beneficiary]:
    body = compact(
        {
            "kind": kind,
            "holder_name": holder_name,
            "account_id": account_id,
            "bank_code": bank_code,
            "account_number": account_number,
            "wallet": wallet,
            "phone": phone,
            "label": label,
            "confirm_holder_name": confirm_holder_name,
        }
    )
    body["is_default"] = is_default
    return Call("POST", "/beneficiaries", _beneficiary, body=body, request_id=request_id)


def _list(*, account_id: str | None, limit: int | None) -> ListCall[Beneficiary]:
    return ListCall(
        "/beneficiaries", compact({"account_id": account_id, "limit": limit}), page_parser(Beneficiary)
    )


def _discard(_data: object) -> None:
    return None


class Beneficiaries(SyncResource):
    """The book of beneficiaries; adding one runs the provider's name inquiry."""

    def create(
        self,
        *,
        kind: Literal["bank", "ewallet"],
        holder_name: str,
        account_id: str | None = None,
        bank_code: str | None = None,
        account_number: str | None = None,
        wallet: Wallet | None = None,
        phone: str | None = None,
        label: str | None = None,
        is_default: bool = False,
        confirm_holder_name: str | None = None,
        request_id: str | None = None,
    ) -> Beneficiary:
        """Add a bank account (``bank_code`` + ``account_number``) or e-wallet (``wallet`` + ``phone``).

        A holder name that differs from ``holder_name`` raises ``UnprocessableEntityError`` with code
        ``name_mismatch``; repeat the bank's name in ``confirm_holder_name`` to add it anyway."""
        return self._client._request(
            _create(
                kind=kind,
                holder_name=holder_name,
                account_id=account_id,
                bank_code=bank_code,
                account_number=account_number,
                wallet=wallet,
                phone=phone,
                label=label,
                is_default=is_default,
                confirm_holder_name=confirm_holder_name,
                request_id=request_id,
            )
        )

    def retrieve(self, beneficiary_id: str) -> Beneficiary:
        """Return one beneficiary by id."""
        return self._client._request(Call("GET", path("/beneficiaries/{}", beneficiary_id), _beneficiary))

    def list(self, *, account_id: str | None = None, limit: int | None = None) -> SyncPager[Beneficiary]:
        """Iterate beneficiaries, optionally of one account."""
        return self._client._pager(_list(account_id=account_id, limit=limit))

    def set_default(self, beneficiary_id: str, *, request_id: str | None = None) -> Beneficiary:
        """Make it its account's default destination."""
        return self._client._request(
            Call(
                "POST",
                path("/beneficiaries/{}/default", beneficiary_id),
                _beneficiary,
                request_id=request_id,
            )
        )

    def delete(self, beneficiary_id: str) -> None:
        """Remove it from the book."""
        self._client._request(Call("DELETE", path("/beneficiaries/{}", beneficiary_id), _discard))


class AsyncBeneficiaries(AsyncResource):
    """The book of beneficiaries; adding one runs the provider's name inquiry."""

    async def create(
        self,
        *,
        kind: Literal["bank", "ewallet"],
        holder_name: str,
        account_id: str | None = None,
        bank_code: str | None = None,
        account_number: str | None = None,
        wallet: Wallet | None = None,
        phone: str | None = None,
        label: str | None = None,
        is_default: bool = False,
        confirm_holder_name: str | None = None,
        request_id: str | None = None,
    ) -> Beneficiary:
        """Add a bank account or e-wallet (see ``Beneficiaries.create``)."""
        return await self._client._request(
            _create(
                kind=kind,
                holder_name=holder_name,
                account_id=account_id,
                bank_code=bank_code,
                account_number=account_number,
                wallet=wallet,
                phone=phone,
                label=label,
                is_default=is_default,
                confirm_holder_name=confirm_holder_name,
                request_id=request_id,
            )
        )

    async def retrieve(self, beneficiary_id: str) -> Beneficiary:
        """Return one beneficiary by id."""
        return await self._client._request(
            Call("GET", path("/beneficiaries/{}", beneficiary_id), _beneficiary)
        )

    def list(self, *, account_id: str | None = None, limit: int | None = None) -> AsyncPager[Beneficiary]:
        """Iterate beneficiaries with ``async for``."""
        return self._client._pager(_list(account_id=account_id, limit=limit))

    async def set_default(self, beneficiary_id: str, *, request_id: str | None = None) -> Beneficiary:
        """Make it its account's default destination."""
        return await self._client._request(
            Call(
                "POST",
                path("/beneficiaries/{}/default", beneficiary_id),
                _beneficiary,
                request_id=request_id,
            )
        )

    async def delete(self, beneficiary_id: str) -> None:
        """Remove it from the book."""
        await self._client._request(Call("DELETE", path("/beneficiaries/{}", beneficiary_id), _discard))
