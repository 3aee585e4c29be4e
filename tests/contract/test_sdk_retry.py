"""Retries and idempotency against a real misbehaving server: the SDK talks to the live server through
`tests/support/proxy.py`, which drops connections after the server committed, hangs, or answers 503/429
with Retry-After. A retried transfer must be booked exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import neraca
import pytest

from portal.domains.ledger.invariants import check_all
from portal.lib import sql
from tests.support.contract import Key, collect, first, funded, res
from tests.support.proxy import DROP_AFTER, DROP_BEFORE, HANG_AFTER, FaultyProxy, Reply

TRANSFERS = "POST /api/v1/transfers"


@pytest.fixture(params=["sync", "async"])
async def via_proxy(request: pytest.FixtureRequest, key: Key, proxy: FaultyProxy) -> AsyncIterator[Any]:
    """An SDK client (blocking, then asyncio) whose requests go through the faulty proxy."""
    client = key.client(request.param, base_url=proxy.url, timeout=5.0)
    yield client
    await res(client.close())


async def booked_once(client: Any, reference: str, to_account_id: str, amount: int) -> None:
    """Exactly one transfer under `reference`, and the destination credited once."""
    listed = await collect(client.transfers.list(reference=reference))
    assert len(listed) == 1, listed
    assert [t.amount for t in await collect(client.transfers.list(account_id=to_account_id))] == [amount]
    assert (await res(client.balances.retrieve(to_account_id))).available == amount
    assert await check_all() == []


async def test_connection_dropped_after_commit_is_retried_and_booked_once(
    via_proxy: Any, proxy: FaultyProxy
) -> None:
    main, division, _ = await funded(via_proxy)
    proxy.plan(TRANSFERS, DROP_AFTER, DROP_AFTER)
    transfer = await res(
        via_proxy.transfers.create(
            from_account_id=main.id, to_account_id=division.id, amount=250_000, reference="DROP-1"
        )
    )
    attempts = proxy.requests(TRANSFERS)
    assert [a.action for a in attempts] == [DROP_AFTER, DROP_AFTER, "pass"]
    assert len({a.request_id for a in attempts}) == 1, "one Request-Id for every attempt of the call"
    assert [a.replayed for a in attempts] == [False, True, True]  # the server booked it on attempt 1
    assert transfer.reference == "DROP-1" and transfer.amount == 250_000
    await booked_once(via_proxy, "DROP-1", division.id, 250_000)


async def test_timeout_after_commit_is_retried_and_booked_once(key: Key, proxy: FaultyProxy) -> None:
    client = key.client("sync", base_url=proxy.url, timeout=1.0)
    main, division, _ = await funded(client)
    proxy.plan(TRANSFERS, HANG_AFTER)
    transfer = client.transfers.create(
        from_account_id=main.id, to_account_id=division.id, amount=1_000, reference="HANG-1"
    )
    attempts = proxy.requests(TRANSFERS)
    assert [(a.action, a.replayed) for a in attempts] == [(HANG_AFTER, False), ("pass", True)]
    assert transfer.amount == 1_000
    await booked_once(client, "HANG-1", division.id, 1_000)
    client.close()


async def test_out_of_retries_then_the_caller_repeats_with_its_own_request_id(
    via_proxy: Any, proxy: FaultyProxy
) -> None:
    main, division, _ = await funded(via_proxy)
    proxy.plan(TRANSFERS, DROP_AFTER)
    once = via_proxy.with_options(max_retries=0)

    def send() -> Any:
        return once.transfers.create(
            from_account_id=main.id,
            to_account_id=division.id,
            amount=5_000,
            reference="PAYOUT-77",
            request_id="payout-77",
        )

    with pytest.raises(neraca.APIConnectionError) as info:
        await res(send())
    assert not isinstance(info.value, neraca.APITimeoutError)
    # The caller comes back later (e.g. after its own process restarted): by then the server has
    # recorded the first answer (stored responses are written just after the reply is sent).
    await _answer_recorded("payout-77")
    again = await res(send())
    assert again.reference == "PAYOUT-77"
    assert [a.replayed for a in proxy.requests(TRANSFERS)] == [False, True]
    await booked_once(via_proxy, "PAYOUT-77", division.id, 5_000)


async def _answer_recorded(request_id: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = await sql.fetchval("SELECT state FROM api_request WHERE request_id = $1", request_id)
        if state == "done":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the server never recorded its answer to {request_id}")


async def test_get_retries_use_a_fresh_request_id(via_proxy: Any, proxy: FaultyProxy) -> None:
    main = await first(via_proxy.accounts.list(kind="main"))
    proxy.plan("GET /api/v1/balances/", DROP_BEFORE, DROP_AFTER)
    balance = await res(via_proxy.balances.retrieve(main.id))
    assert balance.account_id == main.id
    attempts = proxy.requests("GET /api/v1/balances/")
    assert [a.action for a in attempts] == [DROP_BEFORE, DROP_AFTER, "pass"]
    assert len({a.request_id for a in attempts}) == 3  # a GET's Request-Id is a nonce


async def test_503_with_retry_after_is_honoured(via_proxy: Any, proxy: FaultyProxy) -> None:
    main, division, _ = await funded(via_proxy)
    proxy.plan(TRANSFERS, Reply(503, {"Retry-After": "1"}), Reply(503, {"Retry-After": "1"}))
    started = time.monotonic()
    await res(
        via_proxy.transfers.create(
            from_account_id=main.id, to_account_id=division.id, amount=7_000, reference="BUSY-1"
        )
    )
    elapsed = time.monotonic() - started
    attempts = proxy.requests(TRANSFERS)
    assert [a.status for a in attempts] == [503, 503, 201]
    assert elapsed >= 2.0, elapsed  # two waits of Retry-After: 1
    assert attempts[1].at - attempts[0].at >= 1.0 and attempts[2].at - attempts[1].at >= 1.0
    await booked_once(via_proxy, "BUSY-1", division.id, 7_000)


async def test_429_with_retry_after_is_honoured(via_proxy: Any, proxy: FaultyProxy) -> None:
    main = await first(via_proxy.accounts.list(kind="main"))
    proxy.plan("GET /api/v1/accounts/", Reply(429, {"Retry-After": "2"}))
    started = time.monotonic()
    account = await res(via_proxy.accounts.retrieve(main.id))
    assert account.id == main.id
    assert time.monotonic() - started >= 2.0
    assert [a.status for a in proxy.requests("GET /api/v1/accounts/")] == [429, 200]


async def test_retries_exhausted_raise_the_last_error(via_proxy: Any, proxy: FaultyProxy) -> None:
    main, division, _ = await funded(via_proxy)
    proxy.plan(TRANSFERS, *[Reply(503, {"Retry-After": "0"})] * 3)
    with pytest.raises(neraca.InternalServerError) as info:
        await res(
            via_proxy.transfers.create(
                from_account_id=main.id, to_account_id=division.id, amount=1, reference="DOWN-1"
            )
        )
    assert (info.value.status_code, info.value.code) == (503, "service_unavailable")
    assert len(proxy.requests(TRANSFERS)) == 3  # the first attempt and max_retries=2
    proxy.plan("POST /api/v1/accounts", Reply(429, {"Retry-After": "0"}))
    with pytest.raises(neraca.RateLimitError) as limited:
        await res(
            via_proxy.with_options(max_retries=0).accounts.create(
                name="X", kind="division", parent_id=main.id
            )
        )
    assert limited.value.code == "rate_limited"
    assert await collect(via_proxy.transfers.list(reference="DOWN-1")) == []


async def test_bad_request_is_not_retried(via_proxy: Any, proxy: FaultyProxy) -> None:
    main, division, _ = await funded(via_proxy, 10)
    with pytest.raises(neraca.UnprocessableEntityError):
        await res(
            via_proxy.transfers.create(
                from_account_id=main.id, to_account_id=division.id, amount=11, reference="NO-1"
            )
        )
    assert [a.status for a in proxy.requests(TRANSFERS)] == [422]
