"""``Neraca`` (blocking) and ``AsyncNeraca`` (asyncio): the same core, two transports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from ._base_client import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, BaseClient, Call, ListCall, download_error
from .models import Page
from .pagination import AsyncPager, SyncPager
from .resources import (
    Accounts,
    Alerts,
    AsyncAccounts,
    AsyncAlerts,
    AsyncBalances,
    AsyncBeneficiaries,
    AsyncBillingBatches,
    AsyncBillings,
    AsyncCharges,
    AsyncCustomers,
    AsyncEvents,
    AsyncHolds,
    AsyncInvoices,
    AsyncMeResource,
    AsyncMonitoringRules,
    AsyncPayments,
    AsyncPayoutBatches,
    AsyncPayouts,
    AsyncPlans,
    AsyncRails,
    AsyncReports,
    AsyncSettlements,
    AsyncSplitRules,
    AsyncStatements,
    AsyncSubscriptions,
    AsyncTopUps,
    AsyncTransfers,
    AsyncWebhookEndpoints,
    AsyncWithdrawals,
    Balances,
    Beneficiaries,
    BillingBatches,
    Billings,
    Charges,
    Customers,
    Events,
    Holds,
    Invoices,
    MeResource,
    MonitoringRules,
    Payments,
    PayoutBatches,
    Payouts,
    Plans,
    Rails,
    Reports,
    Settlements,
    SplitRules,
    Statements,
    Subscriptions,
    TopUps,
    Transfers,
    WebhookEndpoints,
    Withdrawals,
)

__all__ = ["AsyncNeraca", "Neraca"]

T = TypeVar("T")


class Neraca(BaseClient):
    """Blocking client for the Neraca API.

    Example::

        from neraca import Neraca

        with Neraca(client_id="...", client_secret="...", base_url="https://neraca.example.com") as client:
            print(client.balances.retrieve("acc_...").available)

    Every argument falls back to an environment variable: ``NERACA_CLIENT_ID``,
    ``NERACA_CLIENT_SECRET``, ``NERACA_BASE_URL``. ``base_url`` is the server's root (``/api/v1`` is
    added unless already there).

    Args:
        client_id: the API key's Client-Id.
        client_secret: the API key's secret (shown once when the key was made).
        base_url: the Neraca server, e.g. ``https://neraca.example.com``.
        timeout: seconds (or an ``httpx.Timeout``) for each attempt; default 30.
        max_retries: retries after the first attempt on connection errors, timeouts, 409
            ``request_in_progress``, 429 and 5xx; default 2. 0 disables retrying.
        http_client: an ``httpx.Client`` to send through (proxies, custom TLS, event hooks). The
            caller keeps ownership: ``close()`` does not close a client that was passed in.
    """

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            client_id=client_id,
            client_secret=client_secret,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
        )
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise TypeError(f"http_client must be an httpx.Client, got {type(http_client).__name__}")
        self._http = http_client if http_client is not None else httpx.Client(timeout=self.timeout)
        self._owns_http = http_client is None
        self._sleep: Callable[[float], None] = time.sleep

    # Resources are built on access (they are two attributes each) so copies never share stale ones.
    @property
    def me(self) -> MeResource:
        """The API key itself: ``client.me.retrieve()``."""
        return MeResource(self)

    @property
    def accounts(self) -> Accounts:
        """Accounts of the tree: create, retrieve, list, update, freeze, unfreeze, close."""
        return Accounts(self)

    @property
    def balances(self) -> Balances:
        """Balances of an account or of its subtree."""
        return Balances(self)

    @property
    def transfers(self) -> Transfers:
        """Transfers between accounts and all-or-nothing transfer groups."""
        return Transfers(self)

    @property
    def holds(self) -> Holds:
        """Holds (pending transfers): create, post, void."""
        return Holds(self)

    @property
    def payments(self) -> Payments:
        """Payments received: create, retrieve, list, refund, update_split."""
        return Payments(self)

    @property
    def split_rules(self) -> SplitRules:
        """Split settlement rules: create, retrieve, list, update, delete, preview."""
        return SplitRules(self)

    @property
    def settlements(self) -> Settlements:
        """Settlement batches of payments received: list, retrieve."""
        return Settlements(self)

    @property
    def topups(self) -> TopUps:
        """Top-ups: money coming into an account."""
        return TopUps(self)

    @property
    def withdrawals(self) -> Withdrawals:
        """Withdrawals: money paid out to a bank account."""
        return Withdrawals(self)

    @property
    def beneficiaries(self) -> Beneficiaries:
        """Beneficiaries: bank accounts and e-wallets verified by name inquiry."""
        return Beneficiaries(self)

    @property
    def plans(self) -> Plans:
        """Billing plans: fixed amount per cycle, a percentage of the money in, usage lines."""
        return Plans(self)

    @property
    def subscriptions(self) -> Subscriptions:
        """Subscriptions of accounts (or whole subtrees) to billing plans."""
        return Subscriptions(self)

    @property
    def invoices(self) -> Invoices:
        """Invoices to sub-accounts: list, retrieve, PDF, void, credit, write off, preview, usage."""
        return Invoices(self)

    @property
    def payouts(self) -> Payouts:
        """Payouts to beneficiaries: create, retrieve, list, cancel, approve, reject, proof (PDF)."""
        return Payouts(self)

    @property
    def payout_batches(self) -> PayoutBatches:
        """Batch payouts: upload a file, check its rows, submit for approval, approve."""
        return PayoutBatches(self)

    @property
    def customers(self) -> Customers:
        """Card billing customers."""
        return Customers(self)

    @property
    def billings(self) -> Billings:
        """Card billings: schedules, type, status, the card on the provider's hosted page."""
        return Billings(self)

    @property
    def charges(self) -> Charges:
        """Charges of card billings: list, retrieve, void, refund."""
        return Charges(self)

    @property
    def billing_batches(self) -> BillingBatches:
        """Card billing batch uploads (Registration, Batch Transaction)."""
        return BillingBatches(self)

    @property
    def rails(self) -> Rails:
        """Payout rails (limits, fees, hours) and quotes (rail, fee, ETA)."""
        return Rails(self)

    @property
    def statements(self) -> Statements:
        """Account statements: entries page by page, or a file (CSV, XLSX, PDF, MT940, camt.053)."""
        return Statements(self)

    @property
    def events(self) -> Events:
        """Events of the business (what webhooks deliver): list, retrieve."""
        return Events(self)

    @property
    def monitoring_rules(self) -> MonitoringRules:
        """Monitoring rules: list, retrieve, create, update, test."""
        return MonitoringRules(self)

    @property
    def alerts(self) -> Alerts:
        """Monitoring alerts: list, retrieve, acknowledge, resolve."""
        return Alerts(self)

    @property
    def reports(self) -> Reports:
        """Custom reports saved in the portal: run (paged), download (csv, xlsx, pdf)."""
        return Reports(self)

    @property
    def webhook_endpoints(self) -> WebhookEndpoints:
        """Webhook endpoints: create, retrieve, list, update, delete, rotate_secret."""
        return WebhookEndpoints(self)

    def close(self) -> None:
        """Close the connection pool if this client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- transport ----------------------------------------------------------------------------------

    def _send(self, call: Call[Any], *, stream: bool = False) -> httpx.Response:
        """Send with retries; return the successful response (unread when ``stream``) or raise."""
        prepared = self._prepare(call)
        attempt = 0
        while True:
            request = self._build_request(self._http, prepared, attempt)
            try:
                response = self._http.send(request, stream=stream)
            except httpx.RequestError as exc:
                delay = self._retry_after_transport_error(request, exc, attempt)
            else:
                if response.is_success:
                    return response
                try:
                    response.read()  # the error body is needed for the problem details
                except httpx.RequestError as exc:
                    delay = self._retry_after_transport_error(request, exc, attempt)
                else:
                    delay = self._retry_after_status(request, response, attempt)
                finally:
                    response.close()
            self._sleep(delay)
            attempt += 1

    def _request(self, call: Call[T]) -> T:
        response = self._send(call)
        return self._parse(response, call.cast)

    def _download(self, call: Call[Any], target: Path) -> Path:
        """Stream a successful response body into ``target``, atomically."""
        response = self._send(call, stream=True)
        try:
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as fh:
                    for chunk in response.iter_bytes():
                        fh.write(chunk)
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except httpx.RequestError as exc:
            raise download_error(response.request, exc) from exc
        finally:
            response.close()
        return target

    def _pager(self, list_call: ListCall[T]) -> SyncPager[T]:
        def fetch(after: str | None) -> Page[T]:
            return self._request(list_call.page(after))

        return SyncPager(fetch)


class AsyncNeraca(BaseClient):
    """Asyncio client for the Neraca API; the same resources and arguments as ``Neraca``, awaited.

    Example::

        async with AsyncNeraca() as client:  # configured from NERACA_* environment variables
            balance = await client.balances.retrieve("acc_...")
            async for transfer in client.transfers.list(account_id="acc_..."):
                ...

    ``http_client`` must be an ``httpx.AsyncClient``; see ``Neraca`` for the other arguments.
    """

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            client_id=client_id,
            client_secret=client_secret,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
        )
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise TypeError(f"http_client must be an httpx.AsyncClient, got {type(http_client).__name__}")
        self._http = http_client if http_client is not None else httpx.AsyncClient(timeout=self.timeout)
        self._owns_http = http_client is None
        self._sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    @property
    def me(self) -> AsyncMeResource:
        """The API key itself: ``await client.me.retrieve()``."""
        return AsyncMeResource(self)

    @property
    def accounts(self) -> AsyncAccounts:
        """Accounts of the tree: create, retrieve, list, update, freeze, unfreeze, close."""
        return AsyncAccounts(self)

    @property
    def balances(self) -> AsyncBalances:
        """Balances of an account or of its subtree."""
        return AsyncBalances(self)

    @property
    def transfers(self) -> AsyncTransfers:
        """Transfers between accounts and all-or-nothing transfer groups."""
        return AsyncTransfers(self)

    @property
    def holds(self) -> AsyncHolds:
        """Holds (pending transfers): create, post, void."""
        return AsyncHolds(self)

    @property
    def payments(self) -> AsyncPayments:
        """Payments received: create, retrieve, list, refund, update_split."""
        return AsyncPayments(self)

    @property
    def split_rules(self) -> AsyncSplitRules:
        """Split settlement rules: create, retrieve, list, update, delete, preview."""
        return AsyncSplitRules(self)

    @property
    def settlements(self) -> AsyncSettlements:
        """Settlement batches of payments received: list, retrieve."""
        return AsyncSettlements(self)

    @property
    def topups(self) -> AsyncTopUps:
        """Top-ups: money coming into an account."""
        return AsyncTopUps(self)

    @property
    def withdrawals(self) -> AsyncWithdrawals:
        """Withdrawals: money paid out to a bank account."""
        return AsyncWithdrawals(self)

    @property
    def beneficiaries(self) -> AsyncBeneficiaries:
        """Beneficiaries: bank accounts and e-wallets verified by name inquiry."""
        return AsyncBeneficiaries(self)

    @property
    def plans(self) -> AsyncPlans:
        """Billing plans: fixed amount per cycle, a percentage of the money in, usage lines."""
        return AsyncPlans(self)

    @property
    def subscriptions(self) -> AsyncSubscriptions:
        """Subscriptions of accounts (or whole subtrees) to billing plans."""
        return AsyncSubscriptions(self)

    @property
    def invoices(self) -> AsyncInvoices:
        """Invoices to sub-accounts: list, retrieve, PDF, void, credit, write off, preview, usage."""
        return AsyncInvoices(self)

    @property
    def payouts(self) -> AsyncPayouts:
        """Payouts to beneficiaries: create, retrieve, list, cancel, approve, reject, proof (PDF)."""
        return AsyncPayouts(self)

    @property
    def payout_batches(self) -> AsyncPayoutBatches:
        """Batch payouts: upload a file, check its rows, submit for approval, approve."""
        return AsyncPayoutBatches(self)

    @property
    def customers(self) -> AsyncCustomers:
        """Card billing customers."""
        return AsyncCustomers(self)

    @property
    def billings(self) -> AsyncBillings:
        """Card billings."""
        return AsyncBillings(self)

    @property
    def charges(self) -> AsyncCharges:
        """Charges of card billings."""
        return AsyncCharges(self)

    @property
    def billing_batches(self) -> AsyncBillingBatches:
        """Card billing batch uploads."""
        return AsyncBillingBatches(self)

    @property
    def rails(self) -> AsyncRails:
        """Payout rails (limits, fees, hours) and quotes (rail, fee, ETA)."""
        return AsyncRails(self)

    @property
    def statements(self) -> AsyncStatements:
        """Account statements: entries page by page, or a file (CSV, XLSX, PDF, MT940, camt.053)."""
        return AsyncStatements(self)

    @property
    def events(self) -> AsyncEvents:
        """Events of the business (what webhooks deliver): list, retrieve."""
        return AsyncEvents(self)

    @property
    def monitoring_rules(self) -> AsyncMonitoringRules:
        """Monitoring rules: list, retrieve, create, update, test."""
        return AsyncMonitoringRules(self)

    @property
    def alerts(self) -> AsyncAlerts:
        """Monitoring alerts: list, retrieve, acknowledge, resolve."""
        return AsyncAlerts(self)

    @property
    def reports(self) -> AsyncReports:
        """Custom reports saved in the portal: run (paged), download (csv, xlsx, pdf)."""
        return AsyncReports(self)

    @property
    def webhook_endpoints(self) -> AsyncWebhookEndpoints:
        """Webhook endpoints: create, retrieve, list, update, delete, rotate_secret."""
        return AsyncWebhookEndpoints(self)

    async def close(self) -> None:
        """Close the connection pool if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- transport ----------------------------------------------------------------------------------

    async def _send(self, call: Call[Any], *, stream: bool = False) -> httpx.Response:
        """Send with retries; return the successful response (unread when ``stream``) or raise."""
        prepared = self._prepare(call)
        attempt = 0
        while True:
            request = self._build_request(self._http, prepared, attempt)
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.RequestError as exc:
                delay = self._retry_after_transport_error(request, exc, attempt)
            else:
                if response.is_success:
                    return response
                try:
                    await response.aread()  # the error body is needed for the problem details
                except httpx.RequestError as exc:
                    delay = self._retry_after_transport_error(request, exc, attempt)
                else:
                    delay = self._retry_after_status(request, response, attempt)
                finally:
                    await response.aclose()
            await self._sleep(delay)
            attempt += 1

    async def _request(self, call: Call[T]) -> T:
        response = await self._send(call)
        return self._parse(response, call.cast)

    async def _download(self, call: Call[Any], target: Path) -> Path:
        """Stream a successful response body into ``target``, atomically; file I/O runs in a thread."""
        response = await self._send(call, stream=True)
        try:
            fd, tmp = await asyncio.to_thread(
                tempfile.mkstemp, dir=target.parent, prefix=f".{target.name}.", suffix=".part"
            )
            try:
                with os.fdopen(fd, "wb") as fh:
                    async for chunk in response.aiter_bytes():
                        await asyncio.to_thread(fh.write, chunk)
                await asyncio.to_thread(os.replace, tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except httpx.RequestError as exc:
            raise download_error(response.request, exc) from exc
        finally:
            await response.aclose()
        return target

    def _pager(self, list_call: ListCall[T]) -> AsyncPager[T]:
        async def fetch(after: str | None) -> Page[T]:
            return await self._request(list_call.page(after))

        return AsyncPager(fetch)
