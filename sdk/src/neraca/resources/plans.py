"""``client.plans``: billing plans (fixed amount per cycle, a percentage of the money in, usage lines)."""

from __future__ import annotations

from typing import Literal

from .._base_client import Call, ListCall, compact, model_parser, page_parser, path
from ..models import Plan
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncPlans", "Cycle", "Plans"]

_plan = model_parser(Plan)
Cycle = Literal["weekly", "monthly", "quarterly", "yearly"]


def _create(
    name: str,
    receiving_account_id: str,
    cycle: Cycle,
    fixed_amount: int,
    percent: str,
    due_days: int,
    tax_percent: str,
    tax_label: str,
    request_id: str | None,
) -> Call[Plan]:
    body = {
        "name": name,
        "receiving_account_id": receiving_account_id,
        "cycle": cycle,
        "fixed_amount": fixed_amount,
        "percent": percent,
        "due_days": due_days,
        "tax_percent": tax_percent,
        "tax_label": tax_label,
    }
    return Call("POST", "/plans", _plan, body=body, request_id=request_id)


def _list(limit: int | None) -> ListCall[Plan]:
    return ListCall("/plans", compact({"limit": limit}), page_parser(Plan))


class Plans(SyncResource):
    """Billing plans of the business (created and archived by whole-business keys only)."""

    def create(
        self,
        *,
        name: str,
        receiving_account_id: str,
        cycle: Cycle = "monthly",
        fixed_amount: int = 0,
        percent: str = "0",
        due_days: int = 0,
        tax_percent: str = "11",
        tax_label: str = "PPN",
        request_id: str | None = None,
    ) -> Plan:
        """Create a plan; ``percent`` and ``tax_percent`` are per-cent strings with up to two decimals."""
        call = _create(
            name,
            receiving_account_id,
            cycle,
            fixed_amount,
            percent,
            due_days,
            tax_percent,
            tax_label,
            request_id,
        )
        return self._client._request(call)

    def retrieve(self, plan_id: str) -> Plan:
        """Return one plan by id."""
        return self._client._request(Call("GET", path("/plans/{}", plan_id), _plan))

    def list(self, *, limit: int | None = None) -> SyncPager[Plan]:
        """Iterate the plans, oldest first."""
        return self._client._pager(_list(limit))

    def archive(self, plan_id: str, *, request_id: str | None = None) -> Plan:
        """No new subscriptions; running ones keep being billed."""
        return self._client._request(
            Call("POST", path("/plans/{}/archive", plan_id), _plan, request_id=request_id)
        )


class AsyncPlans(AsyncResource):
    """Billing plans of the business (see ``Plans``)."""

    async def create(
        self,
        *,
        name: str,
        receiving_account_id: str,
        cycle: Cycle = "monthly",
        fixed_amount: int = 0,
        percent: str = "0",
        due_days: int = 0,
        tax_percent: str = "11",
        tax_label: str = "PPN",
        request_id: str | None = None,
    ) -> Plan:
        """Create a plan (see ``Plans.create``)."""
        call = _create(
            name,
            receiving_account_id,
            cycle,
            fixed_amount,
            percent,
            due_days,
            tax_percent,
            tax_label,
            request_id,
        )
        return await self._client._request(call)

    async def retrieve(self, plan_id: str) -> Plan:
        """Return one plan by id."""
        return await self._client._request(Call("GET", path("/plans/{}", plan_id), _plan))

    def list(self, *, limit: int | None = None) -> AsyncPager[Plan]:
        """Iterate the plans with ``async for``."""
        return self._client._pager(_list(limit))

    async def archive(self, plan_id: str, *, request_id: str | None = None) -> Plan:
        """No new subscriptions; running ones keep being billed."""
        return await self._client._request(
            Call("POST", path("/plans/{}/archive", plan_id), _plan, request_id=request_id)
        )
