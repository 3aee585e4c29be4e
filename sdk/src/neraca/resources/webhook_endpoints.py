"""``client.webhook_endpoints``: where Neraca POSTs events, signed the Standard Webhooks way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
from ..models import NeracaObject
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncWebhookEndpoints", "WebhookEndpoint", "WebhookEndpoints"]


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookEndpoint(NeracaObject):
    """A URL that receives events. ``secret`` is set only on the results of ``create`` and
    ``rotate_secret``: keep it then, it is never shown again (verify deliveries with
    ``neraca.webhooks.verify(raw_body, headers, secret)``)."""

    id: str
    url: str
    description: str
    event_types: list[str] = field(default_factory=list)
    """Types received; empty for every type."""
    enabled: bool
    disabled_reason: str | None = None
    """``manual``, ``gone`` (the receiver answered 410) or ``failing`` (3 days of failures)."""
    created_at: datetime
    updated_at: datetime
    secret: str | None = None


_endpoint = model_parser(WebhookEndpoint)


def _create(
    *,
    url: str,
    description: str | None,
    event_types: Sequence[str] | None,
    enabled: bool,
    request_id: str | None,
) -> Call[WebhookEndpoint]:
    body: dict[str, Any] = compact(
        {"url": url, "description": description, "event_types": list(event_types) if event_types else None}
    )
    body["enabled"] = enabled
    return Call("POST", "/webhook_endpoints", _endpoint, body=body, request_id=request_id)


def _update(
    endpoint_id: str,
    *,
    url: str | NotGiven,
    description: str | NotGiven | None,
    event_types: Sequence[str] | NotGiven | None,
    enabled: bool | NotGiven,
) -> Call[WebhookEndpoint]:
    types = (
        list(event_types)
        if isinstance(event_types, Sequence) and not isinstance(event_types, str)
        else event_types
    )
    body = given({"url": url, "description": description, "event_types": types, "enabled": enabled})
    return Call("PATCH", path("/webhook_endpoints/{}", endpoint_id), _endpoint, body=body)


def _list(limit: int | None) -> ListCall[WebhookEndpoint]:
    return ListCall("/webhook_endpoints", compact({"limit": limit}), page_parser(WebhookEndpoint))


def _none(_data: Any) -> None:
    return None


class WebhookEndpoints(SyncResource):
    """Webhook endpoints: create, retrieve, list, update, delete, rotate_secret."""

    def create(
        self,
        *,
        url: str,
        description: str | None = None,
        event_types: Sequence[str] | None = None,
        enabled: bool = True,
        request_id: str | None = None,
    ) -> WebhookEndpoint:
        """Add an endpoint (https, public address); the result carries its ``secret``, shown once."""
        return self._client._request(
            _create(
                url=url,
                description=description,
                event_types=event_types,
                enabled=enabled,
                request_id=request_id,
            )
        )

    def retrieve(self, endpoint_id: str) -> WebhookEndpoint:
        """Return one endpoint (without its secret)."""
        return self._client._request(Call("GET", path("/webhook_endpoints/{}", endpoint_id), _endpoint))

    def list(self, *, limit: int | None = None) -> SyncPager[WebhookEndpoint]:
        """Iterate the business's endpoints, oldest first."""
        return self._client._pager(_list(limit))

    def update(
        self,
        endpoint_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        event_types: Sequence[str] | NotGiven | None = NOT_GIVEN,
        enabled: bool | NotGiven = NOT_GIVEN,
    ) -> WebhookEndpoint:
        """Change the given fields only; ``enabled=True`` re-enables a disabled endpoint."""
        return self._client._request(
            _update(endpoint_id, url=url, description=description, event_types=event_types, enabled=enabled)
        )

    def delete(self, endpoint_id: str) -> None:
        """Remove an endpoint and its delivery log."""
        self._client._request(Call("DELETE", path("/webhook_endpoints/{}", endpoint_id), _none))

    def rotate_secret(self, endpoint_id: str, *, request_id: str | None = None) -> WebhookEndpoint:
        """A new ``secret`` (on the result, shown once); the old one keeps signing beside it for 24 h."""
        return self._client._request(
            Call(
                "POST",
                path("/webhook_endpoints/{}/rotate_secret", endpoint_id),
                _endpoint,
                request_id=request_id,
            )
        )


class AsyncWebhookEndpoints(AsyncResource):
    """Webhook endpoints: create, retrieve, list, update, delete, rotate_secret (awaited)."""

    async def create(
        self,
        *,
        url: str,
        description: str | None = None,
        event_types: Sequence[str] | None = None,
        enabled: bool = True,
        request_id: str | None = None,
    ) -> WebhookEndpoint:
        """Add an endpoint (https, public address); the result carries its ``secret``, shown once."""
        return await self._client._request(
            _create(
                url=url,
                description=description,
                event_types=event_types,
                enabled=enabled,
                request_id=request_id,
            )
        )

    async def retrieve(self, endpoint_id: str) -> WebhookEndpoint:
        """Return one endpoint (without its secret)."""
        return await self._client._request(Call("GET", path("/webhook_endpoints/{}", endpoint_id), _endpoint))

    def list(self, *, limit: int | None = None) -> AsyncPager[WebhookEndpoint]:
        """Iterate the business's endpoints with ``async for``, oldest first."""
        return self._client._pager(_list(limit))

    async def update(
        self,
        endpoint_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        event_types: Sequence[str] | NotGiven | None = NOT_GIVEN,
        enabled: bool | NotGiven = NOT_GIVEN,
    ) -> WebhookEndpoint:
        """Change the given fields only; ``enabled=True`` re-enables a disabled endpoint."""
        return await self._client._request(
            _update(endpoint_id, url=url, description=description, event_types=event_types, enabled=enabled)
        )

    async def delete(self, endpoint_id: str) -> None:
        """Remove an endpoint and its delivery log."""
        await self._client._request(Call("DELETE", path("/webhook_endpoints/{}", endpoint_id), _none))

    async def rotate_secret(self, endpoint_id: str, *, request_id: str | None = None) -> WebhookEndpoint:
        """A new ``secret`` (on the result, shown once); the old one keeps signing beside it for 24 h."""
        return await self._client._request(
            Call(
                "POST",
                path("/webhook_endpoints/{}/rotate_secret", endpoint_id),
                _endpoint,
                request_id=request_id,
            )
        )
