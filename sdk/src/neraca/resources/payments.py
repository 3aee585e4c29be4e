"""``client.payments``: payments customers make into an account through the payment provider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .._base_client import Call, ListCall, compact, model_parser, page_parser, path, require_amount
from ..models import Payment, PaymentRefund
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncPayments", "Payments"]

_payment = model_parser(Payment)
_refund = model_parser(PaymentRefund)


def _create(
    *,
    account_id: str,
    amount: int,
    channel: str,
    invoice_number: str,
    customer_name: str,
    extra: Mapping[str, Any],
    request_id: str | None,
) -> Call[Payment]:
    body: dict[str, Any] = {
        "account_id": account_id,
        "amount": require_amount(amount),
        "channel": channel,
        "invoice_number": invoice_number,
        "customer_name": customer_name,
    }
    for key, value in compact(extra).items():
        body[key] = value.isoformat() if isinstance(value, datetime) else value
    if "split" in body:
        body["split"] = [dict(d) for d in body["split"]]
    return Call("POST", "/payments", _payment, body=body, request_id=request_id)


def _list(params: Mapping[str, Any]) -> ListCall[Payment]:
    return ListCall("/payments", compact(params), page_parser(Payment))


def _refund_call(
    payment_id: str, amount: int | None, reason: str | None, request_id: str | None
) -> Call[PaymentRefund]:
    body = compact({"amount": require_amount(amount) if amount is not None else None, "reason": reason})
    return Call("POST", path("/payments/{}/refunds", payment_id), _refund, body=body, request_id=request_id)


def _update_split(
    payment_id: str, destinations: Sequence[Mapping[str, Any]], request_id: str | None
) -> Call[Payment]:
    body = {"destinations": [dict(d) for d in destinations]}
    return Call("POST", path("/payments/{}/split", payment_id), _payment, body=body, request_id=request_id)


class Payments(SyncResource):
    """Payments received: create (idempotent on ``invoice_number``), retrieve, list, refund, update_split."""

    def create(
        self,
        *,
        account_id: str,
        amount: int,
        channel: str,
        invoice_number: str,
        customer_name: str,
        request_id: str | None = None,
        **extra: Any,
    ) -> Payment:
        """Ask a customer for ``amount`` (int rupiah) into ``account_id`` by ``channel`` (``va`` with
        ``bank_code``, ``qris``, ``card`` with ``card_token``, ``ewallet`` with ``wallet`` and ``phone``).
        Other fields: ``customer_id``, ``customer_email``, ``description``, ``expires_at``,
        ``split_rule_id``, ``split``, ``metadata``."""
        return self._client._request(
            _create(
                account_id=account_id,
                amount=amount,
                channel=channel,
                invoice_number=invoice_number,
                customer_name=customer_name,
                extra=extra,
                request_id=request_id,
            )
        )

    def retrieve(self, payment_id: str) -> Payment:
        """Return one payment by id."""
        return self._client._request(Call("GET", path("/payments/{}", payment_id), _payment))

    def list(
        self,
        *,
        account_id: str | None = None,
        status: str | None = None,
        channel: str | None = None,
        q: str | None = None,
        split: bool | None = None,
        limit: int | None = None,
    ) -> SyncPager[Payment]:
        """Iterate payments, newest first, with optional filters."""
        params = {"account_id": account_id, "status": status, "channel": channel, "q": q, "limit": limit}
        if split is not None:
            params["split"] = "true" if split else "false"
        return self._client._pager(_list(params))

    def refund(
        self,
        payment_id: str,
        *,
        amount: int | None = None,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> PaymentRefund:
        """Refund all (no ``amount``) or part of a paid payment; never above what is left."""
        return self._client._request(_refund_call(payment_id, amount, reason, request_id))

    def update_split(
        self,
        payment_id: str,
        *,
        destinations: Sequence[Mapping[str, Any]],
        request_id: str | None = None,
    ) -> Payment:
        """Settlement Configuration of one payment; an empty list cancels its split."""
        return self._client._request(_update_split(payment_id, destinations, request_id))

    def simulate_payment(self, payment_id: str, *, request_id: str | None = None) -> Payment:
        """Sandbox only: the customer pays now."""
        return self._client._request(
            Call("POST", path("/payments/{}/simulate-payment", payment_id), _payment, request_id=request_id)
        )


class AsyncPayments(AsyncResource):
    """Payments received: create (idempotent on ``invoice_number``), retrieve, list, refund, update_split."""

    async def create(
        self,
        *,
        account_id: str,
        amount: int,
        channel: str,
        invoice_number: str,
        customer_name: str,
        request_id: str | None = None,
        **extra: Any,
    ) -> Payment:
        """Ask a customer for ``amount`` (int rupiah) into ``account_id`` by ``channel``."""
        return await self._client._request(
            _create(
                account_id=account_id,
                amount=amount,
                channel=channel,
                invoice_number=invoice_number,
                customer_name=customer_name,
                extra=extra,
                request_id=request_id,
            )
        )

    async def retrieve(self, payment_id: str) -> Payment:
        """Return one payment by id."""
        return await self._client._request(Call("GET", path("/payments/{}", payment_id), _payment))

    def list(
        self,
        *,
        account_id: str | None = None,
        status: str | None = None,
        channel: str | None = None,
        q: str | None = None,
        split: bool | None = None,
        limit: int | None = None,
    ) -> AsyncPager[Payment]:
        """Iterate payments with ``async for``."""
        params = {"account_id": account_id, "status": status, "channel": channel, "q": q, "limit": limit}
        if split is not None:
            params["split"] = "true" if split else "false"
        return self._client._pager(_list(params))

    async def refund(
        self,
        payment_id: str,
        *,
        amount: int | None = None,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> PaymentRefund:
        """Refund all (no ``amount``) or part of a paid payment; never above what is left."""
        return await self._client._request(_refund_call(payment_id, amount, reason, request_id))

    async def update_split(
        self,
        payment_id: str,
        *,
        destinations: Sequence[Mapping[str, Any]],
        request_id: str | None = None,
    ) -> Payment:
        """Settlement Configuration of one payment; an empty list cancels its split."""
        return await self._client._request(_update_split(payment_id, destinations, request_id))

    async def simulate_payment(self, payment_id: str, *, request_id: str | None = None) -> Payment:
        """Sandbox only: the customer pays now."""
        return await self._client._request(
            Call("POST", path("/payments/{}/simulate-payment", payment_id), _payment, request_id=request_id)
        )
