"""client.events and client.webhook_endpoints: the route, query and body sent, and the typed result."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from sdk_support import Recorder, make_client, page_json

from neraca import Event, Neraca, WebhookEndpoint

NOW = "2026-11-29T08:00:00Z"


def event_json(**over: Any) -> dict[str, Any]:
    return {
        "id": "evt_1",
        "object": "event",
        "type": "topup.paid",
        "sequence": 42,
        "data": {"id": "top_1", "amount": 150000},
        "created_at": NOW,
    } | over


def endpoint_json(**over: Any) -> dict[str, Any]:
    return {
        "id": "we_1",
        "object": "webhook_endpoint",
        "url": "https://example.com/hooks",
        "description": "Orders",
        "event_types": ["topup.paid"],
        "enabled": True,
        "disabled_reason": None,
        "secret": None,
        "created_at": NOW,
        "updated_at": NOW,
    } | over


# (name, call, answer, method, path, query, body, result type); body None means "no body at all".
ROWS: list[tuple[str, Callable[[Neraca], Any], Any, str, str, dict[str, list[str]], Any, Any]] = [
    (
        "events.list",
        lambda c: c.events.list(type="topup.paid", limit=5).first(),
        page_json([event_json()], None),
        "GET",
        "/api/v1/events",
        {"type": ["topup.paid"], "limit": ["5"]},
        None,
        Event,
    ),
    (
        "events.retrieve",
        lambda c: c.events.retrieve("evt_1"),
        event_json(),
        "GET",
        "/api/v1/events/evt_1",
        {},
        None,
        Event,
    ),
    (
        "webhook_endpoints.create",
        lambda c: c.webhook_endpoints.create(url="https://example.com/hooks", event_types=["topup.paid"]),
        endpoint_json(secret="whsec_abc="),
        "POST",
        "/api/v1/webhook_endpoints",
        {},
        {"url": "https://example.com/hooks", "event_types": ["topup.paid"], "enabled": True},
        WebhookEndpoint,
    ),
    (
        "webhook_endpoints.retrieve",
        lambda c: c.webhook_endpoints.retrieve("we_1"),
        endpoint_json(),
        "GET",
        "/api/v1/webhook_endpoints/we_1",
        {},
        None,
        WebhookEndpoint,
    ),
    (
        "webhook_endpoints.list",
        lambda c: c.webhook_endpoints.list(limit=10).first(),
        page_json([endpoint_json()], None),
        "GET",
        "/api/v1/webhook_endpoints",
        {"limit": ["10"]},
        None,
        WebhookEndpoint,
    ),
    (
        "webhook_endpoints.update",
        lambda c: c.webhook_endpoints.update("we_1", enabled=False, description=None),
        endpoint_json(enabled=False, disabled_reason="manual"),
        "PATCH",
        "/api/v1/webhook_endpoints/we_1",
        {},
        {"enabled": False, "description": None},
        WebhookEndpoint,
    ),
    (
        "webhook_endpoints.delete",
        lambda c: c.webhook_endpoints.delete("we_1"),
        None,
        "DELETE",
        "/api/v1/webhook_endpoints/we_1",
        {},
        None,
        type(None),
    ),
    (
        "webhook_endpoints.rotate_secret",
        lambda c: c.webhook_endpoints.rotate_secret("we_1"),
        endpoint_json(secret="whsec_new="),
        "POST",
        "/api/v1/webhook_endpoints/we_1/rotate_secret",
        {},
        None,
        WebhookEndpoint,
    ),
]


@pytest.mark.parametrize(
    ("call", "answer", "method", "path", "params", "body", "result_type"),
    [pytest.param(*row[1:], id=row[0]) for row in ROWS],
)
def test_endpoint(
    call: Callable[[Neraca], Any],
    answer: Any,
    method: str,
    path: str,
    params: dict[str, list[str]],
    body: Any,
    result_type: type,
) -> None:
    response = httpx.Response(204) if answer is None else httpx.Response(200, json=answer)
    recorder = Recorder([response])
    result = call(make_client(recorder))
    (request,) = recorder.requests
    assert (request.method, request.url.path) == (method, path)
    assert parse_qs(request.url.query.decode()) == params
    if body is None:
        assert request.content == b""
    else:
        assert json.loads(request.content) == body
    assert isinstance(result, result_type)


def test_every_method_has_a_row() -> None:
    client = make_client(Recorder([httpx.Response(200, json={})]))
    names = {row[0] for row in ROWS}
    for resource in ("events", "webhook_endpoints"):
        obj = getattr(client, resource)
        for attr in dir(obj):
            if not attr.startswith("_") and callable(getattr(obj, attr)):
                assert f"{resource}.{attr}" in names, f"{resource}.{attr} has no test row"


def test_the_secret_is_on_create_and_rotate_only() -> None:
    created = make_client(Recorder([httpx.Response(200, json=endpoint_json(secret="whsec_abc="))]))
    endpoint = created.webhook_endpoints.create(url="https://example.com/hooks")
    assert endpoint.secret == "whsec_abc=" and endpoint.event_types == ["topup.paid"]
    fetched = make_client(Recorder([httpx.Response(200, json=endpoint_json())]))
    assert fetched.webhook_endpoints.retrieve("we_1").secret is None
    event = make_client(Recorder([httpx.Response(200, json=event_json())])).events.retrieve("evt_1")
    assert event.sequence == 42 and event.data["amount"] == 150000 and event.created_at.tzinfo is not None
