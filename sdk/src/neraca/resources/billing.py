"""``client.customers``, ``client.billings``, ``client.charges``: card billing (docs/billing.md)."""

from __future__ import annotations

import base64
import builtins
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from .._base_client import Call, ListCall, compact, model_parser, page_parser, path
from ..models import Billing, BillingBatch, Charge, Customer, ScheduledDate
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = [
    "AsyncBillingBatches",
    "AsyncBillings",
    "AsyncCharges",
    "AsyncCustomers",
    "BillingBatches",
    "Billings",
    "Charges",
    "Customers",
]

_customer = model_parser(Customer)
_billing = model_parser(Billing)
_charge = model_parser(Charge)
_batch = model_parser(BillingBatch)
BillingType = Literal["recurring", "reminder"]
ScheduleType = Literal["date", "day", "full_date"]


def _discard(_data: object) -> None:
    return None


def _schedule(
    schedule_type: ScheduleType,
    day: int | None,
    weekdays: Sequence[int] | None,
    months: Sequence[int] | None,
    dates: Sequence[date | str] | None,
) -> dict[str, Any]:
    return compact(
        {
            "schedule_type": schedule_type,
            "day": day,
            "weekdays": list(weekdays) if weekdays is not None else None,
            "months": list(months) if months is not None else None,
            "dates": [d.isoformat() if isinstance(d, date) else d for d in dates]
            if dates is not None
            else None,
        }
    )


def _by_key(template: str, key: str, noun: str, prefix: str) -> str:
    """The path of a customer or billing named by its id or by the business's own key (Customer ID,
    Billing Number). Such a key may hold "/", which no path segment carries (a server decodes %2F before
    it routes), so one with "/" is refused here rather than answered 404 by the router."""
    if isinstance(key, str) and "/" in key:
        raise ValueError(
            f"{key!r} holds '/', which cannot be sent in a URL path: pass the {noun}'s id ({prefix}…), "
            f"found with {noun}s.list(search=...)"
        )
    return path(template, key)


def _amount(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("amount must be an int in minor units")
    return value


# --- calls (shared by the sync and async resources) ------------------------------------------------


def _create_customer(
    customer_id: str, name: str, email: str | None, phone: str | None, request_id: str | None
) -> Call[Customer]:
    body = compact({"customer_id": customer_id, "name": name, "email": email, "phone": phone})
    return Call("POST", "/customers", _customer, body=body, request_id=request_id)


def _update_customer(
    customer_id: str, name: str | None, email: str | None, phone: str | None
) -> Call[Customer]:
    body = compact({"name": name, "email": email, "phone": phone})
    return Call("PATCH", _by_key("/customers/{}", customer_id, "customer", "cus_"), _customer, body=body)


def _list_customers(search: str | None, limit: int | None) -> ListCall[Customer]:
    return ListCall("/customers", compact({"search": search, "limit": limit}), page_parser(Customer))


def _create_billing(
    customer_id: str,
    billing_number: str,
    amount: int,
    account_id: str | None,
    description: str | None,
    type: BillingType,
    schedule: dict[str, Any] | None,
    request_id: str | None,
) -> Call[Billing]:
    body = compact(
        {
            "customer_id": customer_id,
            "billing_number": billing_number,
            "amount": _amount(amount),
            "account_id": account_id,
            "description": description,
            "type": type,
            "schedule": schedule,
        }
    )
    return Call("POST", "/billings", _billing, body=body, request_id=request_id)


def _list_billings(search: str | None, customer_id: str | None, limit: int | None) -> ListCall[Billing]:
    params = compact({"search": search, "customer_id": customer_id, "limit": limit})
    return ListCall("/billings", params, page_parser(Billing))


def _billing_post(
    billing_id: str, action: str, body: dict[str, Any] | None = None, request_id: str | None = None
) -> Call[Billing]:
    return Call(
        "POST",
        _by_key("/billings/{}/" + action, billing_id, "billing", "bil_"),
        _billing,
        body=body,
        request_id=request_id,
    )


def _delete_execute_date(
    billing_id: str, execute_date: date | None, invoice_number: str | None, request_id: str | None
) -> Call[Billing]:
    if execute_date is None and not invoice_number:
        raise TypeError("give execute_date or invoice_number")
    body = compact(
        {
            "execute_date": execute_date.isoformat() if execute_date is not None else None,
            "invoice_number": invoice_number,
        }
    )
    return _billing_post(billing_id, "execute-dates/delete", body, request_id)


def _scheduled_dates(billing_number: str | None, invoice_number: str | None) -> Call[list[ScheduledDate]]:
    def parse(data: Any) -> list[ScheduledDate]:
        return page_parser(ScheduledDate)({**data, "has_more": False, "next_cursor": None}).data

    params = compact({"billing_number": billing_number, "invoice_number": invoice_number})
    return Call("GET", "/execute-dates", parse, params=params)


def _list_charges(
    billing_number: str | None,
    invoice_number: str | None,
    approval_code: str | None,
    status: str | None,
    limit: int | None,
) -> ListCall[Charge]:
    params = compact(
        {
            "billing_number": billing_number,
            "invoice_number": invoice_number,
            "approval_code": approval_code,
            "status": status,
            "limit": limit,
        }
    )
    return ListCall("/charges", params, page_parser(Charge))


def _refund(charge_id: str, amount: int | None, reason: str | None, request_id: str | None) -> Call[Charge]:
    body = compact({"amount": _amount(amount) if amount is not None else None, "reason": reason})
    return Call("POST", path("/charges/{}/refund", charge_id), _charge, body=body, request_id=request_id)


def _void(charge_id: str, request_id: str | None) -> Call[Charge]:
    return Call("POST", path("/charges/{}/void", charge_id), _charge, request_id=request_id)


# --- sync -------------------------------------------------------------------------------------------


class Customers(SyncResource):
    """Card billing customers."""

    def create(
        self,
        *,
        customer_id: str,
        name: str,
        email: str | None = None,
        phone: str | None = None,
        request_id: str | None = None,
    ) -> Customer:
        """Add a customer; ``customer_id`` is your own Customer ID, unique in the business."""
        return self._client._request(_create_customer(customer_id, name, email, phone, request_id))

    def retrieve(self, customer_id: str) -> Customer:
        """One customer by id (``cus_…``) or Customer ID."""
        return self._client._request(
            Call("GET", _by_key("/customers/{}", customer_id, "customer", "cus_"), _customer)
        )

    def update(
        self, customer_id: str, *, name: str | None = None, email: str | None = None, phone: str | None = None
    ) -> Customer:
        """Change the name, e-mail or phone."""
        return self._client._request(_update_customer(customer_id, name, email, phone))

    def list(self, *, search: str | None = None, limit: int | None = None) -> SyncPager[Customer]:
        """Iterate customers, newest first."""
        return self._client._pager(_list_customers(search, limit))


class Billings(SyncResource):
    """Billings: Billing Numbers with a schedule and a card registered on the provider's hosted page."""

    def create(
        self,
        *,
        customer_id: str,
        billing_number: str,
        amount: int,
        account_id: str | None = None,
        description: str | None = None,
        type: BillingType = "recurring",
        schedule_type: ScheduleType | None = None,
        day: int | None = None,
        weekdays: Sequence[int] | None = None,
        months: Sequence[int] | None = None,
        dates: Sequence[date | str] | None = None,
        request_id: str | None = None,
    ) -> Billing:
        """Add a billing; a schedule is given by ``schedule_type`` with ``day`` + ``months`` (Date),
        ``weekdays`` + ``months`` (Day, 0 = Monday) or ``dates`` (Full Date)."""
        schedule = _schedule(schedule_type, day, weekdays, months, dates) if schedule_type else None
        return self._client._request(
            _create_billing(
                customer_id, billing_number, amount, account_id, description, type, schedule, request_id
            )
        )

    def retrieve(self, billing_id: str) -> Billing:
        """One billing by id (``bil_…``) or Billing Number."""
        return self._client._request(
            Call("GET", _by_key("/billings/{}", billing_id, "billing", "bil_"), _billing)
        )

    def list(
        self, *, search: str | None = None, customer_id: str | None = None, limit: int | None = None
    ) -> SyncPager[Billing]:
        """Iterate billings, newest first; ``search`` matches a Billing Number or Customer ID prefix."""
        return self._client._pager(_list_billings(search, customer_id, limit))

    def update_schedule(
        self,
        billing_id: str,
        *,
        schedule_type: ScheduleType,
        day: int | None = None,
        weekdays: Sequence[int] | None = None,
        months: Sequence[int] | None = None,
        dates: Sequence[date | str] | None = None,
        request_id: str | None = None,
    ) -> Billing:
        """Edit Date: replace the schedule and the future execute dates."""
        body = _schedule(schedule_type, day, weekdays, months, dates)
        return self._client._request(_billing_post(billing_id, "schedule", body, request_id))

    def activate(self, billing_id: str, *, request_id: str | None = None) -> Billing:
        """Run the billing again."""
        return self._client._request(_billing_post(billing_id, "activate", request_id=request_id))

    def inactivate(self, billing_id: str, *, request_id: str | None = None) -> Billing:
        """Keep the billing but do not run it."""
        return self._client._request(_billing_post(billing_id, "inactivate", request_id=request_id))

    def change_type(self, billing_id: str, type: BillingType, *, request_id: str | None = None) -> Billing:
        """Recurring (charges) or Reminder (notifies only)."""
        return self._client._request(_billing_post(billing_id, "type", {"type": type}, request_id))

    def delete(self, billing_id: str) -> None:
        """Delete the billing (its charges stay)."""
        self._client._request(
            Call("DELETE", _by_key("/billings/{}", billing_id, "billing", "bil_"), _discard)
        )

    def delete_execute_date(
        self,
        billing_id: str,
        execute_date: date | None = None,
        *,
        invoice_number: str | None = None,
        request_id: str | None = None,
    ) -> Billing:
        """Cancel one upcoming execute date, or by its Invoice Number a scheduled single payment
        (cancelled, never charged) or a date; both given must agree."""
        return self._client._request(
            _delete_execute_date(billing_id, execute_date, invoice_number, request_id)
        )

    def scheduled_dates(
        self, *, billing_number: str | None = None, invoice_number: str | None = None
    ) -> builtins.list[ScheduledDate]:
        """Execute dates not yet run (a billing's dates and its scheduled single payments) by Billing
        Number and/or Invoice Number, soonest first."""
        return self._client._request(_scheduled_dates(billing_number, invoice_number))

    def register_card(self, billing_id: str, *, return_url: str, request_id: str | None = None) -> Billing:
        """Open the provider's hosted page; send the customer to ``card.hosted_url``."""
        return self._client._request(
            _billing_post(billing_id, "card-registration", {"return_url": return_url}, request_id)
        )

    def refresh_card(self, billing_id: str, *, request_id: str | None = None) -> Billing:
        """Read the card registration's result now."""
        return self._client._request(
            _billing_post(billing_id, "card-registration/refresh", request_id=request_id)
        )


class Charges(SyncResource):
    """Charges of billings: the bank's answers, void and refund."""

    def list(
        self,
        *,
        billing_number: str | None = None,
        invoice_number: str | None = None,
        approval_code: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> SyncPager[Charge]:
        """Iterate charges, newest first (exact matches on the given keys)."""
        return self._client._pager(
            _list_charges(billing_number, invoice_number, approval_code, status, limit)
        )

    def retrieve(self, charge_id: str) -> Charge:
        """One charge."""
        return self._client._request(Call("GET", path("/charges/{}", charge_id), _charge))

    def void(self, charge_id: str, *, request_id: str | None = None) -> Charge:
        """Void a paid charge on its business day, before settlement."""
        return self._client._request(_void(charge_id, request_id))

    def refund(
        self,
        charge_id: str,
        *,
        amount: int | None = None,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> Charge:
        """Refund in full (no amount) or in part."""
        return self._client._request(_refund(charge_id, amount, reason, request_id))


# --- async ------------------------------------------------------------------------------------------


class AsyncCustomers(AsyncResource):
    """Card billing customers (see ``Customers``)."""

    async def create(
        self,
        *,
        customer_id: str,
        name: str,
        email: str | None = None,
        phone: str | None = None,
        request_id: str | None = None,
    ) -> Customer:
        """Add a customer."""
        return await self._client._request(_create_customer(customer_id, name, email, phone, request_id))

    async def retrieve(self, customer_id: str) -> Customer:
        """One customer by id or Customer ID."""
        return await self._client._request(
            Call("GET", _by_key("/customers/{}", customer_id, "customer", "cus_"), _customer)
        )

    async def update(
        self, customer_id: str, *, name: str | None = None, email: str | None = None, phone: str | None = None
    ) -> Customer:
        """Change the name, e-mail or phone."""
        return await self._client._request(_update_customer(customer_id, name, email, phone))

    def list(self, *, search: str | None = None, limit: int | None = None) -> AsyncPager[Customer]:
        """Iterate customers with ``async for``."""
        return self._client._pager(_list_customers(search, limit))


class AsyncBillings(AsyncResource):
    """Billings (see ``Billings``)."""

    async def create(
        self,
        *,
        customer_id: str,
        billing_number: str,
        amount: int,
        account_id: str | None = None,
        description: str | None = None,
        type: BillingType = "recurring",
        schedule_type: ScheduleType | None = None,
        day: int | None = None,
        weekdays: Sequence[int] | None = None,
        months: Sequence[int] | None = None,
        dates: Sequence[date | str] | None = None,
        request_id: str | None = None,
    ) -> Billing:
        """Add a billing (see ``Billings.create``)."""
        schedule = _schedule(schedule_type, day, weekdays, months, dates) if schedule_type else None
        return await self._client._request(
            _create_billing(
                customer_id, billing_number, amount, account_id, description, type, schedule, request_id
            )
        )

    async def retrieve(self, billing_id: str) -> Billing:
        """One billing by id or Billing Number."""
        return await self._client._request(
            Call("GET", _by_key("/billings/{}", billing_id, "billing", "bil_"), _billing)
        )

    def list(
        self, *, search: str | None = None, customer_id: str | None = None, limit: int | None = None
    ) -> AsyncPager[Billing]:
        """Iterate billings with ``async for``."""
        return self._client._pager(_list_billings(search, customer_id, limit))

    async def update_schedule(
        self,
        billing_id: str,
        *,
        schedule_type: ScheduleType,
        day: int | None = None,
        weekdays: Sequence[int] | None = None,
        months: Sequence[int] | None = None,
        dates: Sequence[date | str] | None = None,
        request_id: str | None = None,
    ) -> Billing:
        """Edit Date."""
        body = _schedule(schedule_type, day, weekdays, months, dates)
        return await self._client._request(_billing_post(billing_id, "schedule", body, request_id))

    async def activate(self, billing_id: str, *, request_id: str | None = None) -> Billing:
        """Run the billing again."""
        return await self._client._request(_billing_post(billing_id, "activate", request_id=request_id))

    async def inactivate(self, billing_id: str, *, request_id: str | None = None) -> Billing:
        """Keep the billing but do not run it."""
        return await self._client._request(_billing_post(billing_id, "inactivate", request_id=request_id))

    async def change_type(
        self, billing_id: str, type: BillingType, *, request_id: str | None = None
    ) -> Billing:
        """Recurring or Reminder."""
        return await self._client._request(_billing_post(billing_id, "type", {"type": type}, request_id))

    async def delete(self, billing_id: str) -> None:
        """Delete the billing."""
        await self._client._request(
            Call("DELETE", _by_key("/billings/{}", billing_id, "billing", "bil_"), _discard)
        )

    async def delete_execute_date(
        self,
        billing_id: str,
        execute_date: date | None = None,
        *,
        invoice_number: str | None = None,
        request_id: str | None = None,
    ) -> Billing:
        """Cancel one upcoming execute date, or by its Invoice Number a scheduled single payment."""
        return await self._client._request(
            _delete_execute_date(billing_id, execute_date, invoice_number, request_id)
        )

    async def scheduled_dates(
        self, *, billing_number: str | None = None, invoice_number: str | None = None
    ) -> builtins.list[ScheduledDate]:
        """Execute dates not yet run, by Billing Number and/or Invoice Number."""
        return await self._client._request(_scheduled_dates(billing_number, invoice_number))

    async def register_card(
        self, billing_id: str, *, return_url: str, request_id: str | None = None
    ) -> Billing:
        """Open the provider's hosted page."""
        return await self._client._request(
            _billing_post(billing_id, "card-registration", {"return_url": return_url}, request_id)
        )

    async def refresh_card(self, billing_id: str, *, request_id: str | None = None) -> Billing:
        """Read the card registration's result now."""
        return await self._client._request(
            _billing_post(billing_id, "card-registration/refresh", request_id=request_id)
        )


class AsyncCharges(AsyncResource):
    """Charges (see ``Charges``)."""

    def list(
        self,
        *,
        billing_number: str | None = None,
        invoice_number: str | None = None,
        approval_code: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> AsyncPager[Charge]:
        """Iterate charges with ``async for``."""
        return self._client._pager(
            _list_charges(billing_number, invoice_number, approval_code, status, limit)
        )

    async def retrieve(self, charge_id: str) -> Charge:
        """One charge."""
        return await self._client._request(Call("GET", path("/charges/{}", charge_id), _charge))

    async def void(self, charge_id: str, *, request_id: str | None = None) -> Charge:
        """Void a paid charge on its business day."""
        return await self._client._request(_void(charge_id, request_id))

    async def refund(
        self,
        charge_id: str,
        *,
        amount: int | None = None,
        reason: str | None = None,
        request_id: str | None = None,
    ) -> Charge:
        """Refund in full or in part."""
        return await self._client._request(_refund(charge_id, amount, reason, request_id))


def _create_batch(
    kind: Literal["registration", "transaction"], file_name: str, content: bytes, request_id: str | None
) -> Call[BillingBatch]:
    body = {"kind": kind, "file_name": file_name, "content_base64": base64.b64encode(content).decode()}
    return Call("POST", "/billing-batches", _batch, body=body, request_id=request_id)


def _process_batch(batch_id: str, request_id: str | None) -> Call[BillingBatch]:
    return Call("POST", path("/billing-batches/{}/process", batch_id), _batch, request_id=request_id)


class BillingBatches(SyncResource):
    """Batch uploads: Registration and Batch Transaction files (CSV or XLSX)."""

    def create(
        self,
        *,
        kind: Literal["registration", "transaction"],
        file_name: str,
        content: bytes,
        request_id: str | None = None,
    ) -> BillingBatch:
        """Upload a file; the answer lists every row with its reasons. Process it when none is invalid."""
        return self._client._request(_create_batch(kind, file_name, content, request_id))

    def retrieve(self, batch_id: str) -> BillingBatch:
        """One file with its rows."""
        return self._client._request(Call("GET", path("/billing-batches/{}", batch_id), _batch))

    def list(self, *, limit: int | None = None) -> SyncPager[BillingBatch]:
        """Iterate uploaded files, latest first (the Batch Report)."""
        return self._client._pager(
            ListCall("/billing-batches", compact({"limit": limit}), page_parser(BillingBatch))
        )

    def process(self, batch_id: str, *, request_id: str | None = None) -> BillingBatch:
        """Process a file without invalid rows (once)."""
        return self._client._request(_process_batch(batch_id, request_id))


class AsyncBillingBatches(AsyncResource):
    """Batch uploads (see ``BillingBatches``)."""

    async def create(
        self,
        *,
        kind: Literal["registration", "transaction"],
        file_name: str,
        content: bytes,
        request_id: str | None = None,
    ) -> BillingBatch:
        """Upload a file."""
        return await self._client._request(_create_batch(kind, file_name, content, request_id))

    async def retrieve(self, batch_id: str) -> BillingBatch:
        """One file with its rows."""
        return await self._client._request(Call("GET", path("/billing-batches/{}", batch_id), _batch))

    def list(self, *, limit: int | None = None) -> AsyncPager[BillingBatch]:
        """Iterate uploaded files with ``async for``."""
        return self._client._pager(
            ListCall("/billing-batches", compact({"limit": limit}), page_parser(BillingBatch))
        )

    async def process(self, batch_id: str, *, request_id: str | None = None) -> BillingBatch:
        """Process a file without invalid rows (once)."""
        return await self._client._request(_process_batch(batch_id, request_id))
