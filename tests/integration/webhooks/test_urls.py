"""Webhook URLs: length, scheme and SSRF refusals (at creation and again at delivery time)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.webhooks import delivery, services, urls
from portal.lib import sql
from portal.lib.errors import ValidationFailed
from portal.lib.sql import transaction
from tests.support.identity import make_business, signed_headers
from tests.support.ledger import Tree
from tests.support.webhooks import Receiver, deliver_due

PRIVATE = [
    "https://127.0.0.1/hook",
    "https://127.1.2.3:8443/hook",
    "https://10.0.0.5/hook",
    "https://172.16.0.1/hook",
    "https://192.168.1.10/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://0.0.0.0/hook",
    "https://[::1]/hook",
    "https://[fe80::1]/hook",
    "https://[fd00::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://100.64.0.1/hook",
    "https://localhost/hook",
]


@pytest.mark.parametrize("url", PRIVATE)
async def test_outside_development_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await urls.resolve(url, environment="production")
    assert caught.value.errors[0].pointer == "/url"
    assert caught.value.errors[0].code == "url_not_public"


@pytest.mark.parametrize(
    "url", ["http://example.com/hook", "http://127.0.0.1:9000/hook", "ftp://example.com/x"]
)
async def test_outside_development_only_https(url: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await urls.resolve(url, environment="production")
    assert caught.value.errors[0].code == "url_not_https"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://example.com/" + "a" * 2030, "url_too_long"),
        ("", "url_required"),
        ("not a url", "url_not_https"),
        ("ftp://127.0.0.1/x", "url_not_https"),
        ("https://user:pw@127.0.0.1/x", "invalid_url"),
        ("http://127.0.0.1:99999/x", "invalid_url"),
        ("http://127.0.0.1/\x00", "invalid_url"),
        ("http://127.0.0.1/a b", "invalid_url"),
        ("http://bücher.example/x", "invalid_url"),
    ],
)
async def test_malformed_urls_are_refused_everywhere(url: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await urls.resolve(url, environment="test")
    assert caught.value.errors[0].code == code


async def test_in_development_a_local_http_receiver_is_allowed() -> None:
    target = await urls.resolve("http://127.0.0.1:9000/hook", environment="development")
    assert (target.address, target.port) == ("127.0.0.1", 9000)


async def test_the_api_refuses_a_long_url_with_a_field_error(client: Any, db: str) -> None:
    business, owner = await make_business()
    key, secret = await identity.create_api_key(
        user_actor(owner, business), name="k", permissions=frozenset({"developers:manage"})
    )
    target = "/api/v1/webhook_endpoints"
    for url in ("https://example.com/" + "a" * 2100, "ftp://example.com/x"):
        body = json.dumps({"url": url}).encode()
        response = await client.post(
            target, content=body, headers=signed_headers(key.client_id, secret, "POST", target, body)
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["pointer"] == "/url"
    assert await sql.fetchval("SELECT count(*) FROM webhook_endpoint") == 0


async def test_delivery_checks_the_url_again(tree: Tree, receiver: Receiver) -> None:
    """Saved while local receivers were allowed; delivered where they are not: nothing is sent."""
    await services.create_endpoint(tree.actor, url=receiver.url("/ok"))
    async with transaction():
        await services.emit(tree.business_id, "transfer.created", {"id": "trf_1"})
    outcomes = await deliver_due(environment="production")
    assert [(o.status_code, o.error) for o in outcomes] == [(None, delivery.ERROR_REFUSED_URL)]
    assert receiver.requests == []
    assert await sql.fetchval("SELECT status FROM webhook_delivery") == "pending"
