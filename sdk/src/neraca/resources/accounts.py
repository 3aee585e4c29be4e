"""``client.accounts``: the account tree (main account, partners, divisions)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

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
from ..models import Account, BankAccount
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["Accounts", "AsyncAccounts"]

AccountKind = Literal["partner", "division"]
_account = model_parser(Account)


def _bank(value: BankAccount | Mapping[str, str] | NotGiven | None) -> Any:
    if isinstance(value, BankAccount):
        return {
            "bank_code": value.bank_code,
            "account_number": value.account_number,
            "holder_name": value.holder_name,
        }
    return dict(value) if isinstance(value, Mapping) else value


def _create(
    *,
    name: str,
    kind: str,
    parent_id: str,
    currency: str,
    reference: str | None,
    email: str | None,
    phone: str | None,
    metadata: Mapping[str, Any] | None,
    request_id: str | None,
) -> Call[Account]:
    body = compact(
        {
            "name": name,
            "kind": kind,
            "parent_id": parent_id,
            "currency": currency,
            "reference": reference,
            "email": email,
            "phone": phone,
            "metadata": dict(metadata) if metadata is not None else None,
        }
    )
    return Call("POST", "/accounts", _account, body=body, request_id=request_id)


def _list(
    *, parent_id: str | None, kind: str | None, status: str | None, q: str | None, limit: int | None
) -> ListCall[Account]:
    params = {"parent_id": parent_id, "kind": kind, "status": status, "q": q, "limit": limit}
    return ListCall("/accounts", compact(params), page_parser(Account))


def _update(
    account_id: str,
    *,
    name: str | NotGiven,
    reference: str | NotGiven | None,
    email: str | NotGiven | None,
    phone: str | NotGiven | None,
    metadata: Mapping[str, Any] | NotGiven | None,
    settlement_bank: BankAccount | Mapping[str, str] | NotGiven | None,
) -> Call[Account]:
    body = given(
        {
            "name": name,
            "reference": reference,
            "email": email,
            "phone": phone,
            "metadata": dict(metadata) if isinstance(metadata, Mapping) else metadata,
            "settlement_bank": _bank(settlement_bank),
        }
    )
    return Call("PATCH", path("/accounts/{}", account_id), _account, body=body)


def _action(account_id: str, action: str, request_id: str | None) -> Call[Account]:
    return Call("POST", path("/accounts/{}/" + action, account_id), _account, request_id=request_id)


class Accounts(SyncResource):
    """Accounts of the business's tree."""

    def create(
        self,
        *,
        name: str,
        kind: AccountKind,
        parent_id: str,
        currency: str = "IDR",
        reference: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Create a partner or division account under ``parent_id``.

        ``request_id`` is the idempotency key; leave it out and the SDK makes one per call (reused on
        its own retries). Pass your own to make a call safe to repeat after a crash of your process.
        """
        return self._client._request(
            _create(
                name=name,
                kind=kind,
                parent_id=parent_id,
                currency=currency,
                reference=reference,
                email=email,
                phone=phone,
                metadata=metadata,
                request_id=request_id,
            )
        )

    def retrieve(self, account_id: str) -> Account:
        """Return one account by id (``NotFoundError`` if it is not this business's)."""
        return self._client._request(Call("GET", path("/accounts/{}", account_id), _account))

    def list(
        self,
        *,
        parent_id: str | None = None,
        kind: Literal["main", "partner", "division"] | None = None,
        status: Literal["active", "frozen", "closed"] | None = None,
        q: str | None = None,
        limit: int | None = None,
    ) -> SyncPager[Account]:
        """Iterate accounts matching the filters (``q`` searches names and references).

        ``limit`` is the page size (1..100); iteration continues across pages.
        """
        return self._client._pager(_list(parent_id=parent_id, kind=kind, status=status, q=q, limit=limit))

    def update(
        self,
        account_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        reference: str | NotGiven | None = NOT_GIVEN,
        email: str | NotGiven | None = NOT_GIVEN,
        phone: str | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        settlement_bank: BankAccount | Mapping[str, str] | NotGiven | None = NOT_GIVEN,
    ) -> Account:
        """Change the given fields only; pass ``None`` to clear an optional field."""
        return self._client._request(
            _update(
                account_id,
                name=name,
                reference=reference,
                email=email,
                phone=phone,
                metadata=metadata,
                settlement_bank=settlement_bank,
            )
        )

    def freeze(self, account_id: str, *, request_id: str | None = None) -> Account:
        """Freeze an account: it can still receive money but nothing can be debited from it."""
        return self._client._request(_action(account_id, "freeze", request_id))

    def unfreeze(self, account_id: str, *, request_id: str | None = None) -> Account:
        """Make a frozen account active again."""
        return self._client._request(_action(account_id, "unfreeze", request_id))

    def close(self, account_id: str, *, request_id: str | None = None) -> Account:
        """Close an account for good."""
        return self._client._request(_action(account_id, "close", request_id))


class AsyncAccounts(AsyncResource):
    """Accounts of the business's tree."""

    async def create(
        self,
        *,
        name: str,
        kind: AccountKind,
        parent_id: str,
        currency: str = "IDR",
        reference: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> Account:
        """Create a partner or division account under ``parent_id`` (see ``Accounts.create``)."""
        return await self._client._request(
            _create(
                name=name,
                kind=kind,
                parent_id=parent_id,
                currency=currency,
                reference=reference,
                email=email,
                phone=phone,
                metadata=metadata,
                request_id=request_id,
            )
        )

    async def retrieve(self, account_id: str) -> Account:
        """Return one account by id (``NotFoundError`` if it is not this business's)."""
        return await self._client._request(Call("GET", path("/accounts/{}", account_id), _account))

    def list(
        self,
        *,
        parent_id: str | None = None,
        kind: Literal["main", "partner", "division"] | None = None,
        status: Literal["active", "frozen", "closed"] | None = None,
        q: str | None = None,
        limit: int | None = None,
    ) -> AsyncPager[Account]:
        """Iterate accounts matching the filters with ``async for`` (nothing is sent until then)."""
        return self._client._pager(_list(parent_id=parent_id, kind=kind, status=status, q=q, limit=limit))

    async def update(
        self,
        account_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        reference: str | NotGiven | None = NOT_GIVEN,
        email: str | NotGiven | None = NOT_GIVEN,
        phone: str | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
        settlement_bank: BankAccount | Mapping[str, str] | NotGiven | None = NOT_GIVEN,
    ) -> Account:
        """Change the given fields only; pass ``None`` to clear an optional field."""
        return await self._client._request(
            _update(
                account_id,
                name=name,
                reference=reference,
                email=email,
                phone=phone,
                metadata=metadata,
                settlement_bank=settlement_bank,
            )
        )

    async def freeze(self, account_id: str, *, request_id: str | None = None) -> Account:
        """Freeze an account: it can still receive money but nothing can be debited from it."""
        return await self._client._request(_action(account_id, "freeze", request_id))

    async def unfreeze(self, account_id: str, *, request_id: str | None = None) -> Account:
        """Make a frozen account active again."""
        return await self._client._request(_action(account_id, "unfreeze", request_id))

    async def close(self, account_id: str, *, request_id: str | None = None) -> Account:
        """Close an account for good."""
        return await self._client._request(_action(account_id, "close", request_id))
