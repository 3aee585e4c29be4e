"""``client.events``: what happened in the business, in order (the same objects webhooks deliver)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .._base_client import Call, ListCall, compact, model_parser, page_parser, path
from ..models import NeracaObject
from ..pagination import AsyncPager, SyncPager
from ._base import AsyncResource, SyncResource

__all__ = ["AsyncEvents", "Event", "Events"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event(NeracaObject):
    """Something that changed (``topup.paid``, ``transfer.created``, ...), written with the change itself.

    ``sequence`` counts the business's events from 1 without gaps: a receiver that sees 41 then 43 knows
    42 is still on its way (or can fetch it with ``client.events.list``).
    """

    id: str
    type: str
    sequence: int
    data: dict[str, Any] = field(default_factory=dict)
    created_at: datetime


_event = model_parser(Event)


def _list(*, type: str | None, limit: int | None) -> ListCall[Event]:
    return ListCall("/events", compact({"type": type, "limit": limit}), page_parser(Event))


class Events(SyncResource):
    """Events of the business (a scoped key: of its subtree), newest first."""

    def list(self, *, type: str | None = None, limit: int | None = None) -> SyncPager[Event]:
        """Iterate events, newest first, optionally of one ``type`` (e.g. ``"topup.paid"``)."""
        return self._client._pager(_list(type=type, limit=limit))

    def retrieve(self, event_id: str) -> Event:
        """Return one event by id (``evt_...``, the ``webhook-id`` of its deliveries)."""
        return self._client._request(Call("GET", path("/events/{}", event_id), _event))


class AsyncEvents(AsyncResource):
    """Events of the business (a scoped key: of its subtree), newest first."""

    def list(self, *, type: str | None = None, limit: int | None = None) -> AsyncPager[Event]:
        """Iterate events with ``async for``, newest first, optionally of one ``type``."""
        return self._client._pager(_list(type=type, limit=limit))

    async def retrieve(self, event_id: str) -> Event:
        """Return one event by id (``evt_...``, the ``webhook-id`` of its deliveries)."""
        return await self._client._request(Call("GET", path("/events/{}", event_id), _event))
