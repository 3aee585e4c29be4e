"""Delivery per Standard Webhooks to a real receiver on 127.0.0.1: signatures checked by an independent
implementation and by the SDK, retries, 410, three days of failure, misbehaving receivers, rotation."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import standardwebhooks
from neraca import webhooks as sdk_webhooks

from portal.domains.webhooks import delivery, services
from portal.lib import sql
from portal.lib.sql import transaction
from tests.support.ledger import Tree
from tests.support.webhooks import (
    Receiver,
    deliver_due,
    pending_pairs,
    queued_jobs,
    run_queued_jobs,
    self_signed_tls,
    until,
)


async def _endpoint(tree: Tree, url: str, **kwargs: object) -> tuple[str, str]:
    endpoint, secret = await services.create_endpoint(tree.actor, url=url, **kwargs)  # type: ignore[arg-type]
    return endpoint.id, secret


async def _emit(tree: Tree, event_type: str = "transfer.created", data: dict | None = None) -> str:
    async with transaction():
        return await services.emit(tree.business_id, event_type, data or {"id": "trf_1", "amount": 5000})


async def test_delivery_is_signed_per_standard_webhooks(tree: Tree, receiver: Receiver) -> None:
    endpoint_id, secret = await _endpoint(tree, receiver.url("/ok"))
    event_id = await _emit(tree)
    # The event's transaction queued one job naming the delivery.
    assert await queued_jobs() == [{"d": [[event_id, endpoint_id]], "t": "automatic"}]
    outcomes = await deliver_due()
    assert [o.status_code for o in outcomes] == [200]
    (got,) = receiver.requests
    # An independent implementation (the standardwebhooks package) accepts the signature...
    payload = standardwebhooks.Webhook(secret).verify(got.body, got.headers)
    assert payload["id"] == event_id and payload["type"] == "transfer.created"
    assert payload["data"] == {"id": "trf_1", "amount": 5000} and payload["sequence"] == 1
    # ...and so does the SDK's verifier (the contract the SDK documents).
    assert sdk_webhooks.verify(got.body, got.headers, secret)["id"] == event_id
    assert got.headers["webhook-id"] == event_id
    # A tampered body fails both.
    tampered = got.body.replace(b"5000", b"9000")
    for check in (
        lambda: standardwebhooks.Webhook(secret).verify(tampered, got.headers),
        lambda: sdk_webhooks.verify(tampered, got.headers, secret),
    ):
        try:
            check()
        except Exception:
            pass
        else:
            raise AssertionError("a tampered body verified")
    row = await sql.fetchrow("SELECT status, attempts FROM webhook_delivery WHERE event_id = $1", event_id)
    assert (row["status"], row["attempts"]) == ("succeeded", 1)
    attempt = await sql.fetchrow("SELECT status_code, response_body, succeeded FROM webhook_attempt")
    assert (attempt["status_code"], attempt["response_body"], attempt["succeeded"]) == (200, "thanks", True)
    # Delivered once: running the job again (a duplicate job) sends nothing.
    assert await delivery.deliver([(event_id, endpoint_id)]) == []
    assert len(receiver.requests) == 1


async def test_event_type_filter_and_disabled_endpoints(tree: Tree, receiver: Receiver) -> None:
    topups, _ = await _endpoint(tree, receiver.url("/ok/topups"), event_types=["topup.paid"])
    everything, _ = await _endpoint(tree, receiver.url("/ok/all"))
    off, _ = await _endpoint(tree, receiver.url("/ok/off"), enabled=False)
    await _emit(tree, "transfer.created")
    await _emit(tree, "topup.paid")
    await deliver_due()
    assert sorted(r.path for r in receiver.requests) == ["/ok/all", "/ok/all", "/ok/topups"]
    assert off not in {e for _, e in await pending_pairs()}
    assert topups and everything


async def test_failures_retry_on_the_schedule_then_give_up(tree: Tree, receiver: Receiver) -> None:
    endpoint_id, _ = await _endpoint(tree, receiver.url("/fail"))
    event_id = await _emit(tree)
    await deliver_due()
    row = await sql.fetchrow(
        "SELECT status, attempts, next_attempt_at - now() AS wait FROM webhook_delivery WHERE event_id = $1",
        event_id,
    )
    assert row["status"] == "pending" and row["attempts"] == 1
    assert timedelta(seconds=4) < row["wait"] <= timedelta(seconds=5.5)
    jobs = await queued_jobs()
    assert jobs[-1] == {"d": [[event_id, endpoint_id]], "t": "automatic"}
    assert await sql.fetchval("SELECT failing_since IS NOT NULL FROM webhook_endpoint") is True
    # Walk the whole schedule: each attempt made on time, the tenth failure is final.
    for _ in range(2, len(delivery.SCHEDULE) + 1):
        await sql.execute("UPDATE webhook_delivery SET next_attempt_at = now() WHERE event_id = $1", event_id)
        await deliver_due()
    row = await sql.fetchrow("SELECT status, attempts FROM webhook_delivery WHERE event_id = $1", event_id)
    assert (row["status"], row["attempts"]) == ("failed", len(delivery.SCHEDULE))
    assert len(receiver.to("/fail")) == len(delivery.SCHEDULE)


def test_the_retry_schedule_is_the_documented_one() -> None:
    import random

    rng = random.Random(7)
    expected = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    for made, base in enumerate(expected):
        delay = delivery.retry_delay(made, rng)
        assert delay is not None and base * 0.9 <= delay <= base * 1.1
    assert delivery.retry_delay(len(expected), rng) is None


async def test_410_disables_the_endpoint_and_tells_the_business(tree: Tree, receiver: Receiver) -> None:
    endpoint_id, _ = await _endpoint(tree, receiver.url("/gone"))
    event_id = await _emit(tree)
    await deliver_due()
    endpoint = await sql.fetchrow(
        "SELECT enabled, disabled_reason FROM webhook_endpoint WHERE id = $1", endpoint_id
    )
    assert (endpoint["enabled"], endpoint["disabled_reason"]) == (False, "gone")
    assert await sql.fetchval("SELECT status FROM webhook_delivery WHERE event_id = $1", event_id) == "failed"
    note = await sql.fetchrow("SELECT kind, params, account_id FROM notification")
    assert note["kind"] == "webhook_endpoint.disabled" and note["account_id"] == tree.main
    # A disabled endpoint gets no new deliveries.
    await _emit(tree)
    assert await pending_pairs() == []


async def test_three_days_of_failure_disable_the_endpoint(tree: Tree, receiver: Receiver) -> None:
    endpoint_id, _ = await _endpoint(tree, receiver.url("/fail"))
    await _emit(tree)
    await deliver_due()
    assert await sql.fetchval("SELECT enabled FROM webhook_endpoint WHERE id = $1", endpoint_id) is True
    # The run of failures started three days and a minute ago; the next failure ends it.
    await sql.execute(
        "UPDATE webhook_endpoint SET failing_since = now() - interval '3 days 1 minute' WHERE id = $1",
        endpoint_id,
    )
    await sql.execute("UPDATE webhook_delivery SET next_attempt_at = now()")
    await deliver_due()
    endpoint = await sql.fetchrow(
        "SELECT enabled, disabled_reason FROM webhook_endpoint WHERE id = $1", endpoint_id
    )
    assert (endpoint["enabled"], endpoint["disabled_reason"]) == (False, "failing")
    params = await sql.fetchval("SELECT params FROM notification WHERE kind = 'webhook_endpoint.disabled'")
    assert json.loads(params)["reason"] == "failing"


async def test_a_success_ends_the_run_of_failures(tree: Tree, receiver: Receiver) -> None:
    endpoint_id, _ = await _endpoint(tree, receiver.url("/fail"))
    await _emit(tree)
    await deliver_due()
    await services.update_endpoint(tree.actor, endpoint_id, {"url": receiver.url("/ok")})
    await sql.execute("UPDATE webhook_delivery SET next_attempt_at = now()")
    await deliver_due()
    assert await sql.fetchval("SELECT failing_since FROM webhook_endpoint WHERE id = $1", endpoint_id) is None


async def test_misbehaving_receivers_do_not_stall_the_others(tree: Tree, receiver: Receiver) -> None:
    for path in ("/hang", "/big", "/redirect", "/fail", "/ok"):
        await _endpoint(tree, receiver.url(path))
    await _emit(tree)
    run = asyncio.create_task(deliver_due())
    # While the hanging receiver still holds its request, every other attempt is already recorded.
    await until("SELECT count(*) FROM webhook_attempt", 4, seconds=10)
    assert not run.done()
    rows = await sql.fetch(
        "SELECT w.url, a.status_code, a.succeeded, length(a.response_body) AS kept FROM webhook_attempt a "
        "JOIN webhook_endpoint w ON w.id = a.endpoint_id"
    )
    got = {r["url"].rsplit("/", 1)[1]: (r["status_code"], r["succeeded"], r["kept"]) for r in rows}
    assert got["ok"] == (200, True, 6)
    assert got["fail"] == (500, False, 2)
    assert got["redirect"] == (302, False, 0)  # not followed, not a success
    assert got["big"][0:2] == (200, True) and got["big"][2] <= 1024  # only the first 1 KB read
    assert len(receiver.to("/ok")) == 1  # the redirect was not followed
    outcomes = await run
    hung = [o for o in outcomes if o.endpoint_id and o.status_code is None]
    assert [o.error for o in hung] == [delivery.ERROR_TIMEOUT]
    assert (
        await sql.fetchval(
            "SELECT status FROM webhook_delivery d JOIN webhook_endpoint w ON w.id = d.endpoint_id "
            "WHERE w.url LIKE '%/hang'"
        )
        == "pending"
    )


async def test_rotation_signs_with_both_secrets_for_a_day(tree: Tree, receiver: Receiver) -> None:
    endpoint_id, old = await _endpoint(tree, receiver.url("/ok"))
    _, new = await services.rotate_secret(tree.actor, endpoint_id)
    assert new != old and new.startswith("whsec_")
    await _emit(tree)
    await deliver_due()
    (got,) = receiver.requests
    assert len(got.headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        assert standardwebhooks.Webhook(secret).verify(got.body, got.headers)["type"] == "transfer.created"
        assert sdk_webhooks.verify(got.body, got.headers, secret)["sequence"] == 1
    # After the overlap only the new secret signs.
    await sql.execute("UPDATE webhook_endpoint SET previous_secret_expires_at = now() - interval '1 second'")
    await _emit(tree)
    await deliver_due()
    last = receiver.requests[-1]
    assert len(last.headers["webhook-signature"].split()) == 1
    standardwebhooks.Webhook(new).verify(last.body, last.headers)
    try:
        standardwebhooks.Webhook(old).verify(last.body, last.headers)
    except standardwebhooks.webhooks.WebhookVerificationError:
        pass
    else:
        raise AssertionError("the expired secret still signs")


async def test_resend_test_event_and_resend_failed(tree: Tree, receiver: Receiver) -> None:
    endpoint_id, _ = await _endpoint(tree, receiver.url("/ok"))
    event_id = await _emit(tree)
    await run_queued_jobs()
    await services.resend(tree.actor, event_id, endpoint_id)
    await run_queued_jobs()
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event_id, event_id]
    test_id = await services.send_test(tree.actor, endpoint_id)
    await run_queued_jobs()
    assert json.loads(receiver.requests[-1].body)["type"] == "webhook.test"
    triggers = [r["trigger"] for r in await sql.fetch("SELECT trigger FROM webhook_attempt ORDER BY id")]
    assert triggers == ["automatic", "manual", "test"]
    # Resend all failed since a time: only failed deliveries at or after it go again.
    await sql.execute(
        "UPDATE webhook_delivery SET status = 'failed', last_attempt_at = now() "
        "WHERE event_id = ANY ($1::text[])",
        [event_id, test_id],
    )
    from datetime import UTC, datetime

    count = await services.resend_failed_since(tree.actor, datetime.now(UTC) - timedelta(minutes=1))
    assert count == 2
    await run_queued_jobs()
    assert len(receiver.requests) == 5
    console = await services.console(tree.actor)
    assert [e.id for e in console] == [test_id, event_id]
    assert [len(d.history) for d in console[1].deliveries] == [3]


async def test_an_endpoint_deleted_during_its_attempt(tree: Tree, receiver: Receiver) -> None:
    endpoint_id, _ = await _endpoint(tree, receiver.url("/hang"))
    await _emit(tree)
    run = asyncio.create_task(deliver_due())
    await receiver.wait_for(1)
    await services.delete_endpoint(tree.actor, endpoint_id)
    outcomes = await run  # the attempt times out; recording it must not fail
    assert [o.error for o in outcomes] == [delivery.ERROR_TIMEOUT]
    assert await sql.fetchval("SELECT count(*) FROM webhook_attempt") == 0


async def test_https_receivers_must_present_a_trusted_certificate(tree: Tree, tmp_path: Any) -> None:
    """TLS is verified: a receiver with a certificate nobody vouches for gets no event."""
    server = await Receiver().start(tls=self_signed_tls(tmp_path))
    try:
        await _endpoint(tree, server.url("/ok", scheme="https"))
        await _emit(tree)
        outcomes = await deliver_due()
        assert [(o.status_code, o.error) for o in outcomes] == [(None, delivery.ERROR_CONNECT)]
        assert server.requests == []
    finally:
        await delivery.close_clients()
        await server.stop()
