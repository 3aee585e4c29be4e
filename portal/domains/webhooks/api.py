"""Events and webhook endpoints JSON API (/api/v1/events, /api/v1/webhook_endpoints)."""

from __future__ import annotations

from litestar import delete, get, patch, post

from portal.domains.webhooks import services
from portal.domains.webhooks.event_types import EVENT_TYPES
from portal.domains.webhooks.schemas import (
    EndpointCreate,
    EndpointOut,
    EndpointPage,
    EndpointUpdate,
    EventOut,
    EventPage,
    EventTypeOut,
)
from portal.lib.actor import Actor
from portal.server.guards import ACTOR_DEPENDENCY, object_first, requires

DEPS = {"actor": ACTOR_DEPENDENCY}
TAGS = ["webhooks"]


@get(
    "/api/v1/events",
    operation_id="list_events",
    guards=[requires("developers")],
    dependencies=DEPS,
    tags=TAGS,
)
async def list_events(
    actor: Actor, type: str | None = None, limit: int | None = None, after: str | None = None
) -> EventPage:
    """Events of the business (a scoped key: of its subtree), newest first; filter by `type`."""
    return await services.list_events(actor, type=type, limit=limit, after=after)


@get(
    "/api/v1/events/{event_id:str}",
    operation_id="retrieve_event",
    guards=[requires("developers")],
    dependencies=DEPS,
    tags=TAGS,
)
async def retrieve_event(actor: Actor, event_id: str) -> EventOut:
    """One event, as it was delivered to webhook endpoints."""
    return await services.get_event(actor, event_id)


@get(
    "/api/v1/event_types",
    operation_id="list_event_types",
    guards=[requires("developers")],
    dependencies=DEPS,
    tags=TAGS,
)
async def list_event_types(actor: Actor) -> list[EventTypeOut]:
    """Every event type with what it means (the values `event_types` filters accept)."""
    return [EventTypeOut(type=t, description=d) for t, d in EVENT_TYPES.items()]


@post(
    "/api/v1/webhook_endpoints",
    operation_id="create_webhook_endpoint",
    guards=[requires("developers", "manage")],
    dependencies=DEPS,
    tags=TAGS,
)
async def create_webhook_endpoint(actor: Actor, data: EndpointCreate) -> EndpointOut:
    """Add an endpoint. The answer carries its signing `secret` (whsec_…), shown this once."""
    endpoint, secret = await services.create_endpoint(
        actor, url=data.url, description=data.description, event_types=data.event_types, enabled=data.enabled
    )
    return endpoint.out(secret)


@get(
    "/api/v1/webhook_endpoints",
    operation_id="list_webhook_endpoints",
    guards=[requires("developers")],
    dependencies=DEPS,
    tags=TAGS,
)
async def list_webhook_endpoints(
    actor: Actor, limit: int | None = None, after: str | None = None
) -> EndpointPage:
    """The business's endpoints, oldest first."""
    return await services.list_endpoints(actor, limit=limit, after=after)


@get(
    "/api/v1/webhook_endpoints/{endpoint_id:str}",
    operation_id="retrieve_webhook_endpoint",
    guards=[requires("developers")],
    dependencies=DEPS,
    tags=TAGS,
)
async def retrieve_webhook_endpoint(actor: Actor, endpoint_id: str) -> EndpointOut:
    """One endpoint (never its secret)."""
    return (await services.get_endpoint(actor, endpoint_id)).out()


@patch(
    "/api/v1/webhook_endpoints/{endpoint_id:str}",
    operation_id="update_webhook_endpoint",
    guards=[requires("developers", "manage")],
    before_request=object_first(services.find_endpoint, "endpoint_id"),
    dependencies=DEPS,
    tags=TAGS,
)
async def update_webhook_endpoint(actor: Actor, endpoint_id: str, data: EndpointUpdate) -> EndpointOut:
    """Change the given fields only; `enabled: true` re-enables an endpoint that was disabled."""
    return (await services.update_endpoint(actor, endpoint_id, data.changes())).out()


@delete(
    "/api/v1/webhook_endpoints/{endpoint_id:str}",
    operation_id="delete_webhook_endpoint",
    guards=[requires("developers", "manage")],
    dependencies=DEPS,
    tags=TAGS,
    status_code=204,
)
async def delete_webhook_endpoint(actor: Actor, endpoint_id: str) -> None:
    """Remove an endpoint and its delivery log."""
    await services.delete_endpoint(actor, endpoint_id)


@post(
    "/api/v1/webhook_endpoints/{endpoint_id:str}/rotate_secret",
    operation_id="rotate_webhook_endpoint_secret",
    guards=[requires("developers", "manage")],
    before_request=object_first(services.find_endpoint, "endpoint_id"),
    dependencies=DEPS,
    tags=TAGS,
    status_code=200,
)
async def rotate_webhook_endpoint_secret(actor: Actor, endpoint_id: str) -> EndpointOut:
    """A new `secret` (shown this once); the old one keeps signing beside it for 24 hours."""
    endpoint, secret = await services.rotate_secret(actor, endpoint_id)
    return endpoint.out(secret)


ROUTES = [
    list_events,
    retrieve_event,
    list_event_types,
    create_webhook_endpoint,
    list_webhook_endpoints,
    retrieve_webhook_endpoint,
    update_webhook_endpoint,
    delete_webhook_endpoint,
    rotate_webhook_endpoint_secret,
]
