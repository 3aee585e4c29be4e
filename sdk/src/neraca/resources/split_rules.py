"""``client.split_rules``: reusable split settlement rules and the dry run (``preview``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
from ..models import SplitPreview, SplitRule
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncSplitRules", "SplitRules"]

_rule = model_parser(SplitRule)
_preview = model_parser(SplitPreview)


def _none(_data: Any) -> None:
    return None


def _create(
    name: str, destinations: Sequence[Mapping[str, Any]], account_id: str | None, request_id: str | None
) -> Call[SplitRule]:
    body = compact({"name": name, "destinations": [dict(d) for d in destinations], "account_id": account_id})
    return Call("POST", "/split_rules", _rule, body=body, request_id=request_id)


def _update(
    rule_id: str,
    name: str | NotGiven,
    destinations: Sequence[Mapping[str, Any]] | NotGiven,
    account_id: str | NotGiven,
) -> Call[SplitRule]:
    dests = [dict(d) for d in destinations] if not isinstance(destinations, NotGiven) else destinations
    body = given({"name": name, "destinations": dests, "account_id": account_id})
    return Call("PATCH", path("/split_rules/{}", rule_id), _rule, body=body)


def _preview_call(
    destinations: Sequence[Mapping[str, Any]],
    amount: int | None,
    channel: str | None,
    payment_id: str | None,
    request_id: str | None,
) -> Call[SplitPreview]:
    body = compact(
        {
            "destinations": [dict(d) for d in destinations],
            "amount": amount,
            "channel": channel,
            "payment_id": payment_id,
        }
    )
    return Call("POST", "/split_rules/preview", _preview, body=body, request_id=request_id)


class SplitRules(SyncResource):
    """Split rules: create, retrieve, list, update, delete, preview."""

    def create(
        self,
        *,
        name: str,
        destinations: Sequence[Mapping[str, Any]],
        account_id: str | None = None,
        request_id: str | None = None,
    ) -> SplitRule:
        """A rule of up to 10 destinations (``{"kind": "account", "account_id", "percent"|"amount"}`` or
        ``{"kind": "bank", "beneficiary_id", …}``), optionally attached to an account."""
        return self._client._request(_create(name, destinations, account_id, request_id))

    def retrieve(self, rule_id: str) -> SplitRule:
        """Return one rule."""
        return self._client._request(Call("GET", path("/split_rules/{}", rule_id), _rule))

    def list(self, *, limit: int | None = None) -> SyncPager[SplitRule]:
        """Iterate the business's rules, newest first."""
        return self._client._pager(
            ListCall("/split_rules", compact({"limit": limit}), page_parser(SplitRule))
        )

    def update(
        self,
        rule_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        destinations: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        account_id: str | NotGiven = NOT_GIVEN,
    ) -> SplitRule:
        """Change a rule (payments created before keep their destinations)."""
        return self._client._request(_update(rule_id, name, destinations, account_id))

    def delete(self, rule_id: str) -> None:
        """Retire a rule."""
        self._client._request(Call("DELETE", path("/split_rules/{}", rule_id), _none))

    def preview(
        self,
        *,
        destinations: Sequence[Mapping[str, Any]],
        amount: int | None = None,
        channel: str | None = None,
        payment_id: str | None = None,
        request_id: str | None = None,
    ) -> SplitPreview:
        """Dry run: what each destination receives from a payment and the remainder (writes nothing)."""
        return self._client._request(_preview_call(destinations, amount, channel, payment_id, request_id))


class AsyncSplitRules(AsyncResource):
    """Split rules: create, retrieve, list, update, delete, preview."""

    async def create(
        self,
        *,
        name: str,
        destinations: Sequence[Mapping[str, Any]],
        account_id: str | None = None,
        request_id: str | None = None,
    ) -> SplitRule:
        """A rule of up to 10 destinations, optionally attached to an account."""
        return await self._client._request(_create(name, destinations, account_id, request_id))

    async def retrieve(self, rule_id: str) -> SplitRule:
        """Return one rule."""
        return await self._client._request(Call("GET", path("/split_rules/{}", rule_id), _rule))

    def list(self, *, limit: int | None = None) -> AsyncPager[SplitRule]:
        """Iterate the business's rules with ``async for``."""
        return self._client._pager(
            ListCall("/split_rules", compact({"limit": limit}), page_parser(SplitRule))
        )

    async def update(
        self,
        rule_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        destinations: Sequence[Mapping[str, Any]] | NotGiven = NOT_GIVEN,
        account_id: str | NotGiven = NOT_GIVEN,
    ) -> SplitRule:
        """Change a rule."""
        return await self._client._request(_update(rule_id, name, destinations, account_id))

    async def delete(self, rule_id: str) -> None:
        """Retire a rule."""
        await self._client._request(Call("DELETE", path("/split_rules/{}", rule_id), _none))

    async def preview(
        self,
        *,
        destinations: Sequence[Mapping[str, Any]],
        amount: int | None = None,
        channel: str | None = None,
        payment_id: str | None = None,
        request_id: str | None = None,
    ) -> SplitPreview:
        """Dry run: what each destination receives from a payment and the remainder."""
        return await self._client._request(
            _preview_call(destinations, amount, channel, payment_id, request_id)
        )
