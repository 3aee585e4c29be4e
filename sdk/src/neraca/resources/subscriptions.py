"""``client.subscriptions``: accounts (or whole subtrees) subscribed to billing plans."""

from __future__ import annotations

from datetime import date
from typing import Any

from .._base_client import Call, ListCall, compact, model_parser, page_parser, path
from ..models import Page, Subscription
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncSubscriptions", "Subscriptions"]

_subscription = model_parser(Subscription)
_page = page_parser(Subscription)


def _day(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def _create(
    plan_id: str,
    account_id: str,
    starts_on: date | str,
    ends_on: date | str | None,
    cycle_day: int | None,
    include_descendants: bool,
    request_id: str | None,
) -> Call[list[Subscription]]:
    body: dict[str, Any] = compact(
        {
            "plan_id": plan_id,
            "account_id": account_id,
            "starts_on": _day(starts_on),
            "ends_on": _day(ends_on),
            "cycle_day": cycle_day,
        }
    )
    body["include_descendants"] = include_descendants

    def created(data: Any) -> list[Subscription]:
        page: Page[Subscription] = _page(data)
        return list(page.data)

    return Call("POST", "/subscriptions", created, body=body, request_id=request_id)


def _list(plan_id: str | None, account_id: str | None, limit: int | None) -> ListCall[Subscription]:
    return ListCall(
        "/subscriptions", compact({"plan_id": plan_id, "account_id": account_id, "limit": limit}), _page
    )


class Subscriptions(SyncResource):
    """Subscriptions of accounts to plans."""

    def create(
        self,
        *,
        plan_id: str,
        account_id: str,
        starts_on: date | str,
        ends_on: date | str | None = None,
        cycle_day: int | None = None,
        include_descendants: bool = False,
        request_id: str | None = None,
    ) -> list[Subscription]:
        """Subscribe the account (or, with ``include_descendants``, every account of its subtree in the
        plan's currency); returns the subscriptions created."""
        return self._client._request(
            _create(plan_id, account_id, starts_on, ends_on, cycle_day, include_descendants, request_id)
        )

    def retrieve(self, subscription_id: str) -> Subscription:
        """Return one subscription with its next period."""
        return self._client._request(Call("GET", path("/subscriptions/{}", subscription_id), _subscription))

    def list(
        self, *, plan_id: str | None = None, account_id: str | None = None, limit: int | None = None
    ) -> SyncPager[Subscription]:
        """Iterate subscriptions, optionally of one plan or account."""
        return self._client._pager(_list(plan_id, account_id, limit))

    def cancel(self, subscription_id: str, *, request_id: str | None = None) -> Subscription:
        """Stop billing (invoices already issued stay)."""
        return self._client._request(
            Call(
                "POST",
                path("/subscriptions/{}/cancel", subscription_id),
                _subscription,
                request_id=request_id,
            )
        )


class AsyncSubscriptions(AsyncResource):
    """Subscriptions of accounts to plans (see ``Subscriptions``)."""

    async def create(
        self,
        *,
        plan_id: str,
        account_id: str,
        starts_on: date | str,
        ends_on: date | str | None = None,
        cycle_day: int | None = None,
        include_descendants: bool = False,
        request_id: str | None = None,
    ) -> list[Subscription]:
        """Subscribe the account or its subtree (see ``Subscriptions.create``)."""
        return await self._client._request(
            _create(plan_id, account_id, starts_on, ends_on, cycle_day, include_descendants, request_id)
        )

    async def retrieve(self, subscription_id: str) -> Subscription:
        """Return one subscription with its next period."""
        return await self._client._request(
            Call("GET", path("/subscriptions/{}", subscription_id), _subscription)
        )

    def list(
        self, *, plan_id: str | None = None, account_id: str | None = None, limit: int | None = None
    ) -> AsyncPager[Subscription]:
        """Iterate subscriptions with ``async for``."""
        return self._client._pager(_list(plan_id, account_id, limit))

    async def cancel(self, subscription_id: str, *, request_id: str | None = None) -> Subscription:
        """Stop billing (invoices already issued stay)."""
        return await self._client._request(
            Call(
                "POST",
                path("/subscriptions/{}/cancel", subscription_id),
                _subscription,
                request_id=request_id,
            )
        )
