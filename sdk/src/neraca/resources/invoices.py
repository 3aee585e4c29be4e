"""``client.invoices``: invoices to sub-accounts — list, retrieve, PDF, void, credit note, write-off,
collect now, the dry run of a subscription's next invoice, and usage lines."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from .._base_client import Call, ListCall, compact, model_parser, page_parser, path
from ..models import (
    Invoice,
    InvoiceMonthlyReport,
    InvoicePlansReport,
    InvoicePreview,
    InvoiceReceivablesReport,
    UsageLine,
)
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncInvoices", "Invoices"]

_invoice = model_parser(Invoice)
_preview = model_parser(InvoicePreview)
_usage = model_parser(UsageLine)
_receivables = model_parser(InvoiceReceivablesReport)
_plans = model_parser(InvoicePlansReport)
_monthly = model_parser(InvoiceMonthlyReport)


def _day(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def _receivables_call(as_of: date | str | None) -> Call[InvoiceReceivablesReport]:
    return Call("GET", "/invoices/reports/receivables", _receivables, params=compact({"as_of": _day(as_of)}))


def _plans_call(start: date | str | None, end: date | str | None) -> Call[InvoicePlansReport]:
    params = compact({"start": _day(start), "end": _day(end)})
    return Call("GET", "/invoices/reports/plans", _plans, params=params)


def _monthly_call(months: int | None) -> Call[InvoiceMonthlyReport]:
    return Call("GET", "/invoices/reports/monthly", _monthly, params=compact({"months": months}))


def _list(
    status: str | None, account_id: str | None, subscription_id: str | None, limit: int | None
) -> ListCall[Invoice]:
    params = compact(
        {"status": status, "account_id": account_id, "subscription_id": subscription_id, "limit": limit}
    )
    return ListCall("/invoices", params, page_parser(Invoice))


def _action(invoice_id: str, action: str, request_id: str | None) -> Call[Invoice]:
    return Call("POST", path("/invoices/{}/" + action, invoice_id), _invoice, request_id=request_id)


def _credit(invoice_id: str, reason: str | None, request_id: str | None) -> Call[Invoice]:
    body = compact({"reason": reason})
    return Call("POST", path("/invoices/{}/credit", invoice_id), _invoice, body=body, request_id=request_id)


def _usage_call(
    subscription_id: str, description: str, quantity: int, unit_amount: int, request_id: str | None
) -> Call[UsageLine]:
    body = {"description": description, "quantity": quantity, "unit_amount": unit_amount}
    return Call(
        "POST", path("/subscriptions/{}/usage", subscription_id), _usage, body=body, request_id=request_id
    )


def _pdf(invoice_id: str) -> Call[None]:
    return Call("GET", path("/invoices/{}/pdf", invoice_id), lambda _: None)


class Invoices(SyncResource):
    """Invoices in the key's scope (a partner's or division's key sees its own subtree's)."""

    def list(
        self,
        *,
        status: str | None = None,
        account_id: str | None = None,
        subscription_id: str | None = None,
        limit: int | None = None,
    ) -> SyncPager[Invoice]:
        """Iterate invoices, newest first; ``status``: open, paid, void, written_off, credited, overdue."""
        return self._client._pager(_list(status, account_id, subscription_id, limit))

    def retrieve(self, invoice_id: str) -> Invoice:
        """Return one invoice with its lines and steps."""
        return self._client._request(Call("GET", path("/invoices/{}", invoice_id), _invoice))

    def pdf(self, invoice_id: str, *, path: str | os.PathLike[str]) -> Path:
        """Download the invoice's PDF to ``path`` (written whole or not at all) and return the path."""
        return self._client._download(_pdf(invoice_id), Path(path))

    def void(self, invoice_id: str, *, request_id: str | None = None) -> Invoice:
        """Void an open invoice nothing was collected on."""
        return self._client._request(_action(invoice_id, "void", request_id))

    def credit(self, invoice_id: str, *, reason: str | None = None, request_id: str | None = None) -> Invoice:
        """A credit note for a paid invoice: its payments are reversed to the billed account."""
        return self._client._request(_credit(invoice_id, reason, request_id))

    def write_off(self, invoice_id: str, *, request_id: str | None = None) -> Invoice:
        """Write off what is still due on an open invoice."""
        return self._client._request(_action(invoice_id, "write_off", request_id))

    def collect(self, invoice_id: str, *, request_id: str | None = None) -> Invoice:
        """Try to collect an open invoice now from the billed account's available balance."""
        return self._client._request(_action(invoice_id, "collect", request_id))

    def preview(self, subscription_id: str) -> InvoicePreview:
        """The dry run: the subscription's next invoice as it would be issued now (nothing is written)."""
        return self._client._request(
            Call("GET", path("/subscriptions/{}/preview", subscription_id), _preview)
        )

    def add_usage(
        self,
        subscription_id: str,
        *,
        description: str,
        quantity: int,
        unit_amount: int,
        request_id: str | None = None,
    ) -> UsageLine:
        """Add a usage line (quantity × unit amount) to the subscription's next invoice."""
        return self._client._request(
            _usage_call(subscription_id, description, quantity, unit_amount, request_id)
        )

    def receivables_report(self, *, as_of: date | str | None = None) -> InvoiceReceivablesReport:
        """Receivables by account and age (not yet due, 1–30, 31–60, 61–90, over 90 days past due) as of
        a WIB day (default today)."""
        return self._client._request(_receivables_call(as_of))

    def plans_report(
        self, *, start: date | str | None = None, end: date | str | None = None
    ) -> InvoicePlansReport:
        """Invoices per plan and month of their period's start, between ``start`` and ``end`` (included)."""
        return self._client._request(_plans_call(start, end))

    def monthly_report(self, *, months: int | None = None) -> InvoiceMonthlyReport:
        """Billed against collected per WIB month over the last ``months`` months (1–36, default 12)."""
        return self._client._request(_monthly_call(months))


class AsyncInvoices(AsyncResource):
    """Invoices in the key's scope (see ``Invoices``)."""

    def list(
        self,
        *,
        status: str | None = None,
        account_id: str | None = None,
        subscription_id: str | None = None,
        limit: int | None = None,
    ) -> AsyncPager[Invoice]:
        """Iterate invoices with ``async for``, newest first."""
        return self._client._pager(_list(status, account_id, subscription_id, limit))

    async def retrieve(self, invoice_id: str) -> Invoice:
        """Return one invoice with its lines and steps."""
        return await self._client._request(Call("GET", path("/invoices/{}", invoice_id), _invoice))

    async def pdf(self, invoice_id: str, *, path: str | os.PathLike[str]) -> Path:
        """Download the invoice's PDF to ``path`` and return the path."""
        return await self._client._download(_pdf(invoice_id), Path(path))

    async def void(self, invoice_id: str, *, request_id: str | None = None) -> Invoice:
        """Void an open invoice nothing was collected on."""
        return await self._client._request(_action(invoice_id, "void", request_id))

    async def credit(
        self, invoice_id: str, *, reason: str | None = None, request_id: str | None = None
    ) -> Invoice:
        """A credit note for a paid invoice: its payments are reversed to the billed account."""
        return await self._client._request(_credit(invoice_id, reason, request_id))

    async def write_off(self, invoice_id: str, *, request_id: str | None = None) -> Invoice:
        """Write off what is still due on an open invoice."""
        return await self._client._request(_action(invoice_id, "write_off", request_id))

    async def collect(self, invoice_id: str, *, request_id: str | None = None) -> Invoice:
        """Try to collect an open invoice now."""
        return await self._client._request(_action(invoice_id, "collect", request_id))

    async def preview(self, subscription_id: str) -> InvoicePreview:
        """The dry run of the subscription's next invoice."""
        return await self._client._request(
            Call("GET", path("/subscriptions/{}/preview", subscription_id), _preview)
        )

    async def add_usage(
        self,
        subscription_id: str,
        *,
        description: str,
        quantity: int,
        unit_amount: int,
        request_id: str | None = None,
    ) -> UsageLine:
        """Add a usage line to the subscription's next invoice."""
        return await self._client._request(
            _usage_call(subscription_id, description, quantity, unit_amount, request_id)
        )

    async def receivables_report(self, *, as_of: date | str | None = None) -> InvoiceReceivablesReport:
        """Receivables by account and age as of a WIB day (default today)."""
        return await self._client._request(_receivables_call(as_of))

    async def plans_report(
        self, *, start: date | str | None = None, end: date | str | None = None
    ) -> InvoicePlansReport:
        """Invoices per plan and month of their period's start, between ``start`` and ``end``."""
        return await self._client._request(_plans_call(start, end))

    async def monthly_report(self, *, months: int | None = None) -> InvoiceMonthlyReport:
        """Billed against collected per WIB month over the last ``months`` months."""
        return await self._client._request(_monthly_call(months))
