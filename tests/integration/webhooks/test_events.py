"""Events: written in the change's transaction, a gapless per-business sequence, the events API."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.webhooks import services
from portal.lib import sql
from portal.lib.sql import transaction
from tests.support.identity import make_business, signed_headers
from tests.support.ledger import Tree
from tests.support.webhooks import queued_jobs


async def test_emit_refuses_outside_a_transaction(tree: Tree) -> None:
    with pytest.raises(RuntimeError):
        await services.emit(tree.business_id, "transfer.created", {"id": "trf_x"})


async def test_emit_rolls_back_with_its_change(tree: Tree) -> None:
    with pytest.raises(ZeroDivisionError):
        async with transaction():
            await services.emit(tree.business_id, "transfer.created", {"id": "trf_x"})
            _ = 1 / 0
    assert await sql.fetchval("SELECT count(*) FROM event") == 0


async def test_unregistered_types_are_refused(tree: Tree) -> None:
    with pytest.raises(ValueError):
        async with transaction():
            await services.emit(tree.business_id, "transfer.exploded", {})


async def test_concurrent_emitters_get_a_gapless_sequence(tree: Tree) -> None:
    other = "biz_other"

    async def writer(i: int) -> None:
        async with transaction():
            await services.emit(tree.business_id, "transfer.created", {"i": i})
            await asyncio.sleep(0)
            await services.emit(tree.business_id, "hold.created", {"i": i})

    await asyncio.gather(*(writer(i) for i in range(20)))
    async with transaction(), sql.connection() as conn:
        await services.emit_many(
            conn,
            [(tree.business_id, "topup.paid", {"n": 1}, ()), (other, "topup.paid", {"n": 2}, ())]
            + [(tree.business_id, "topup.created", {"n": k}, ()) for k in range(5)],
        )
    numbers = [
        r["sequence"]
        for r in await sql.fetch(
            "SELECT sequence FROM event WHERE business_id = $1 ORDER BY sequence", tree.business_id
        )
    ]
    assert numbers == list(range(1, 47))
    assert await sql.fetchval("SELECT sequence FROM event WHERE business_id = $1", other) == 1


async def test_events_are_immutable(tree: Tree) -> None:
    async with transaction():
        event_id = await services.emit(tree.business_id, "transfer.created", {"id": "trf_x"})
    with pytest.raises(Exception, match="immutable"):
        await sql.execute("UPDATE event SET type = 'hold.created' WHERE id = $1", event_id)


async def _signed(client: Any, key: Any, secret: str, target: str) -> Any:
    return await client.get(target, headers=signed_headers(key.client_id, secret, "GET", target))


async def test_events_api_lists_filters_and_pages(client: Any, db: str) -> None:
    business, owner = await make_business()
    actor = user_actor(owner, business)
    key, secret = await identity.create_api_key(actor, name="k", permissions=frozenset({"developers:view"}))
    async with transaction():
        for i in range(5):
            await services.emit(business.id, "transfer.created", {"n": i})
        await services.emit(business.id, "topup.paid", {"n": 99})
    page = await _signed(client, key, secret, "/api/v1/events?limit=4")
    assert page.status_code == 200, page.text
    body = page.json()
    assert [e["sequence"] for e in body["data"]] == [6, 5, 4, 3]
    assert body["has_more"] is True
    rest = await _signed(client, key, secret, f"/api/v1/events?limit=4&after={body['next_cursor']}")
    assert [e["sequence"] for e in rest.json()["data"]] == [2, 1]
    assert rest.json()["has_more"] is False
    only = await _signed(client, key, secret, "/api/v1/events?type=topup.paid")
    assert [(e["type"], e["data"]) for e in only.json()["data"]] == [("topup.paid", {"n": 99})]
    one = await _signed(client, key, secret, f"/api/v1/events/{only.json()['data'][0]['id']}")
    assert one.json()["object"] == "event" and one.json()["sequence"] == 6
    bad = await _signed(client, key, secret, "/api/v1/events?type=nope.nope")
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_event_type"


async def test_events_of_another_business_or_subtree_are_hidden(client: Any, db: str) -> None:
    from portal.domains.accounts import services as accounts

    business, owner = await make_business(name="A")
    other, _ = await make_business(name="B")
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    div_a = await accounts.create_account(actor, name="Div A", kind="division", parent_id=main)
    div_b = await accounts.create_account(actor, name="Div B", kind="division", parent_id=main)
    async with transaction():
        seen = await services.emit(business.id, "transfer.created", {"n": 1}, account_ids=[div_a.id])
        hidden = await services.emit(business.id, "transfer.created", {"n": 2}, account_ids=[div_b.id])
        foreign = await services.emit(other.id, "transfer.created", {"n": 3})
    key, secret = await identity.create_api_key(
        actor, name="scoped", permissions=frozenset({"developers:view"}), scope_account_id=div_a.id
    )
    listed = await _signed(client, key, secret, "/api/v1/events?type=transfer.created")
    assert [e["id"] for e in listed.json()["data"]] == [seen]
    # Opening Div A is news of its subtree too; Div B's opening is not.
    opened = await _signed(client, key, secret, "/api/v1/events?type=account.created")
    assert [e["data"]["id"] for e in opened.json()["data"]] == [div_a.id]
    for event_id in (hidden, foreign):
        response = await _signed(client, key, secret, f"/api/v1/events/{event_id}")
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "not_found"
    assert json.loads((await _signed(client, key, secret, f"/api/v1/events/{seen}")).text)["id"] == seen


async def test_a_scoped_access_sees_its_subtree_in_the_console_and_manages_nothing(db: str) -> None:
    from portal.domains.accounts import services as accounts
    from portal.lib.errors import Forbidden

    business, owner = await make_business()
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    div_a = await accounts.create_account(actor, name="Div A", kind="division", parent_id=main)
    div_b = await accounts.create_account(actor, name="Div B", kind="division", parent_id=main)
    endpoint, _ = await services.create_endpoint(actor, url="http://127.0.0.1:9/hook")
    scoped = dataclasses.replace(actor, scope_account_id=div_a.id)
    shown = {e.type + ":" + e.id for e in await services.console(scoped)}
    everything = {e.type + ":" + e.id for e in await services.console(actor)}
    assert len(shown) == 1 and shown < everything  # Div A's opening only
    assert div_b.id
    for action in (
        services.send_test(scoped, endpoint.id),
        services.rotate_secret(scoped, endpoint.id),
        services.delete_endpoint(scoped, endpoint.id),
    ):
        with pytest.raises(Forbidden):
            await action


async def test_a_large_batch_is_written_by_copy_like_a_small_one(tree: Tree) -> None:
    """The same events emitted as a batch of `COPY_FROM` or more (COPY) and in small batches (one
    statement) give the same sequences, data, accounts and deliveries; `webhook.test` is never fanned."""
    other, _ = await make_business()
    every, _ = await services.create_endpoint(tree.actor, url="http://127.0.0.1:9/all", event_types=[])
    paid, _ = await services.create_endpoint(
        tree.actor, url="http://127.0.0.1:9/paid", event_types=["invoice.paid"]
    )
    off, _ = await services.create_endpoint(tree.actor, url="http://127.0.0.1:9/off", event_types=[])
    await sql.execute("UPDATE webhook_endpoint SET enabled = false WHERE id = $1", off.id)
    types = ("invoice.created", "invoice.paid", "webhook.test", "transfer.created")

    def batch(tag: str) -> list[services.EventRow]:
        return [
            (
                tree.business_id if k % 3 else other.id,
                types[k % len(types)],
                {"tag": tag, "k": k, "at": datetime(2026, 11, 30, 8, k % 60, tzinfo=UTC)},
                (f"acc_{k}", "acc_x") if k % 2 else (),
            )
            for k in range(services.COPY_FROM + 7)
        ]

    async with transaction(), sql.connection() as conn:
        large = await services.emit_many(conn, batch("large"))
    small: list[str] = []
    rows = batch("small")
    for start in range(0, len(rows), 100):
        async with transaction(), sql.connection() as conn:
            small += await services.emit_many(conn, rows[start : start + 100])

    async def written(ids: list[str]) -> list[tuple[Any, ...]]:
        found = {
            r["id"]: r
            for r in await sql.fetch(
                "SELECT id, business_id, sequence, type, data, account_ids FROM event WHERE id = ANY($1)", ids
            )
        }
        return [
            (
                found[i]["business_id"],
                found[i]["type"],
                {**json.loads(found[i]["data"]), "tag": None},
                list(found[i]["account_ids"]),
            )
            for i in ids
        ]

    assert await written(large) == await written(small)
    sequence = {
        r["id"]: r["sequence"]
        for r in await sql.fetch("SELECT id, sequence FROM event WHERE id = ANY($1)", large + small)
    }
    for business in (tree.business_id, other.id):
        # Gapless per business, in the order the events were given, the small batches after the large one.
        numbers = [
            sequence[i] for i, row in zip(large + small, rows + rows, strict=True) if row[0] == business
        ]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))

    async def deliveries(ids: list[str]) -> list[tuple[int, str]]:
        index = {event_id: n for n, event_id in enumerate(ids)}
        return sorted(
            (index[r["event_id"]], r["endpoint_id"])
            for r in await sql.fetch(
                "SELECT event_id, endpoint_id FROM webhook_delivery WHERE event_id = ANY($1)", ids
            )
        )

    expected = sorted(
        [
            (k, every.id)
            for k, row in enumerate(rows)
            if row[0] == tree.business_id and row[1] != "webhook.test"
        ]
        + [
            (k, paid.id)
            for k, row in enumerate(rows)
            if row[0] == tree.business_id and row[1] == "invoice.paid"
        ]
    )
    assert await deliveries(large) == expected
    assert await deliveries(small) == expected
    queued = sorted(tuple(pair) for job in await queued_jobs() for pair in job["d"])
    assert queued == sorted(
        (r["event_id"], r["endpoint_id"])
        for r in await sql.fetch("SELECT event_id, endpoint_id FROM webhook_delivery")
    )
