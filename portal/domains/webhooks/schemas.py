"""API shapes of events and webhook endpoints (docs/api-contract.md)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from portal.domains.webhooks.event_types import EVENT_TYPES
from portal.lib.api_types import Timestamp

_TYPES = "; ".join(f"`{t}`: {d}" for t, d in EVENT_TYPES.items())

EventId = Annotated[str, msgspec.Meta(description="an event id", examples=["evt_01jd8p4r6t8v0x2z4b6d8f0h2k"])]
EventType = Annotated[
    str, msgspec.Meta(description=f"the event's type, one of: {_TYPES}", examples=["topup.paid"])
]
EndpointId = Annotated[
    str, msgspec.Meta(description="a webhook endpoint id", examples=["we_01jd8p4r6t8v0x2z4b6d8f0h2k"])
]
Url = Annotated[
    str,
    msgspec.Meta(
        description="where events are POSTed: https, at most 2,048 characters, a public address",
        examples=["https://example.com/neraca/webhooks"],
    ),
]
EventTypes = Annotated[
    list[str],
    msgspec.Meta(description="event types to receive; empty for every type", examples=[["topup.paid"]]),
]


class EventOut(msgspec.Struct):
    id: EventId
    type: EventType
    sequence: Annotated[int, msgspec.Meta(description="gapless per business, from 1", examples=[42])]
    data: dict[str, Any]
    created_at: Timestamp
    object: str = "event"


class EventPage(msgspec.Struct):
    data: list[EventOut]
    has_more: bool
    next_cursor: str | None


class EndpointCreate(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    description: str | None = None
    event_types: EventTypes | None = None
    enabled: bool = True


class EndpointUpdate(msgspec.Struct, forbid_unknown_fields=True):
    url: Url | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType | None = msgspec.UNSET
    event_types: EventTypes | msgspec.UnsetType | None = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET

    def changes(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__struct_fields__ if getattr(self, f) is not msgspec.UNSET}


class EndpointOut(msgspec.Struct):
    id: EndpointId
    url: Url
    description: str
    event_types: EventTypes
    enabled: bool
    disabled_reason: Annotated[
        str | None,
        msgspec.Meta(description="manual, gone (the receiver answered 410) or failing (3 days of failures)"),
    ]
    created_at: Timestamp
    updated_at: Timestamp
    # Only in the answers of create and rotate_secret: it is never shown again.
    secret: Annotated[
        str | None, msgspec.Meta(description="whsec_…, only when created or rotated", examples=[None])
    ] = None
    object: str = "webhook_endpoint"


class EndpointPage(msgspec.Struct):
    data: list[EndpointOut]
    has_more: bool
    next_cursor: str | None


class EventTypeOut(msgspec.Struct):
    type: EventType
    description: str
