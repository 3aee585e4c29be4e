"""client.webhook_endpoints and client.events against the live server, blocking and asyncio."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import neraca
import pytest
from neraca import Event, WebhookEndpoint

from portal.domains.webhooks import services
from portal.lib.sql import transaction
from tests.support.contract import Key, collect, res

DEVELOPER = frozenset({"developers:manage", "accounts:view"})


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_webhook_endpoints_and_events(kind: str, key_factory: Callable[..., Awaitable[Key]]) -> None:
    key = await key_factory(DEVELOPER)
    client: Any = key.client(kind)
    try:
        created = await res(
            client.webhook_endpoints.create(
                url="http://127.0.0.1:9/hook", description="Orders", event_types=["topup.paid"]
            )
        )
        assert isinstance(created, WebhookEndpoint)
        assert created.secret is not None and created.secret.startswith("whsec_")
        assert created.event_types == ["topup.paid"] and created.enabled
        fetched = await res(client.webhook_endpoints.retrieve(created.id))
        assert fetched.secret is None and fetched.url == created.url
        updated = await res(client.webhook_endpoints.update(created.id, enabled=False, description=None))
        assert (updated.enabled, updated.disabled_reason, updated.description) == (False, "manual", "")
        rotated = await res(client.webhook_endpoints.rotate_secret(created.id))
        assert rotated.secret and rotated.secret != created.secret
        assert [e.id for e in await collect(client.webhook_endpoints.list())] == [created.id]
        with pytest.raises(neraca.UnprocessableEntityError) as caught:
            await res(client.webhook_endpoints.create(url="https://example.com/" + "a" * 2100))
        assert caught.value.errors[0].pointer == "/url"
        async with transaction():
            for n in range(3):
                await services.emit(key.business_id, "topup.paid", {"n": n})
        events = await collect(client.events.list(type="topup.paid", limit=2))
        assert [e.sequence for e in events] == [3, 2, 1]
        assert all(isinstance(e, Event) for e in events)
        one = await res(client.events.retrieve(events[0].id))
        assert one.data == {"n": 2} and one.type == "topup.paid"
        await res(client.webhook_endpoints.delete(created.id))
        with pytest.raises(neraca.NotFoundError):
            await res(client.webhook_endpoints.retrieve(created.id))
    finally:
        if kind == "sync":
            client.close()
        else:
            await client.close()
