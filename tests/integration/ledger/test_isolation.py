"""One bad operation never breaks another: operations of several businesses share a group commit, and
the one the database refuses (text it cannot store, a failing commit hook) fails alone; every other
gets the answer it would have had alone. Also: a hold on a frozen account, and a lost connection."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import pytest

from portal.db.embedded import DATABASE_NAME
from portal.domains.accounts import services as accounts
from portal.domains.identity import services as identity
from portal.domains.identity.auth import user_actor
from portal.domains.ledger import engine
from portal.domains.ledger import services as ledger
from portal.domains.ledger.engine import Leg, Operation, OperationResult
from portal.domains.ledger.invariants import check_all
from portal.lib import sql
from portal.lib.errors import NeracaError, ServiceUnavailable, ValidationFailed
from tests.support.identity import make_business, signed_headers
from tests.support.ledger import Tree, fund, make_tree

# Four of 24 callers, two of each business.
POISONED = {0, 7, 12, 19}


async def _balance(account_id: str) -> int:
    return int(
        await sql.fetchval("SELECT credits_posted - debits_posted FROM account WHERE id = $1", account_id)
    )


async def test_poisoned_operations_of_one_business_fail_alone_in_a_shared_batch(db: str) -> None:
    one, two = await make_tree(2), await make_tree(2)
    for tree in (one, two):
        await fund(tree.business_id, tree.accounts[0], 100_000)

    def transfer(tree: Tree, i: int, description: str) -> Any:
        return ledger.create_transfer(
            tree.actor,
            from_account_id=tree.accounts[0],
            to_account_id=tree.accounts[1],
            amount=1_000,
            reference=f"ISO-{i}",
            description=description,
        )

    # 24 callers queued before the committer runs: one batch, both businesses, 4 poisoned (NUL).
    poisoned = POISONED
    calls = [
        transfer((one, two)[i % 2], i, "poison\x00" if i in poisoned else f"good {i}") for i in range(24)
    ]
    batches_before = engine.committer().batches
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert engine.committer().batches - batches_before < 24, "the operations shared batches"
    for i, result in enumerate(results):
        if i in poisoned:
            assert isinstance(result, ValidationFailed), result
        else:
            assert not isinstance(result, BaseException), (i, result)
    assert await _balance(one.accounts[1]) == await _balance(two.accounts[1]) == 10_000
    references = {r["reference"] for r in await sql.fetch("SELECT reference FROM transfer")}
    assert not {f"ISO-{i}" for i in poisoned} & references
    assert not await sql.fetchval(
        "SELECT count(*) FROM ledger_reference WHERE reference = ANY($1::text[])",
        [f"ISO-{i}" for i in poisoned],
    )
    assert await check_all() == []


async def test_a_failing_commit_hook_fails_its_own_operation_only(db: str) -> None:
    one, two = await make_tree(2), await make_tree(2)
    for tree in (one, two):
        await fund(tree.business_id, tree.accounts[0], 10_000)

    async def broken_hook(conn: asyncpg.Connection, op: Operation, result: OperationResult) -> None:
        await conn.execute("SELECT 1 / 0")

    def operation(tree: Tree, i: int) -> Operation:
        leg = Leg(tree.accounts[0], tree.accounts[1], 100)
        return Operation(
            tree.business_id,
            [leg],
            reference=f"HOOK-{i}",
            reference_object_id=leg.transfer_id,
            on_commit=broken_hook if i == 5 else None,
        )

    results = await asyncio.gather(
        *(engine.execute(operation((one, two)[i % 2], i)) for i in range(12)), return_exceptions=True
    )
    # The culprit's fault is ours (a broken hook): its own server error, not another caller's.
    assert isinstance(results[5], asyncpg.exceptions.DivisionByZeroError)
    assert all(isinstance(r, OperationResult) for i, r in enumerate(results) if i != 5), results
    assert await _balance(two.accounts[1]) == 500 and await _balance(one.accounts[1]) == 600
    assert await check_all() == []


async def _api_pair(client: Any) -> tuple[str, str, str, str]:
    business, owner = await make_business()
    actor = user_actor(owner, business)
    main = await accounts.ensure_business_accounts(business.id)
    source = await accounts.create_account(actor, name="Source", kind="partner", parent_id=main)
    sink = await accounts.create_account(actor, name="Sink", kind="partner", parent_id=main)
    await fund(business.id, source.id, 100_000)
    key, secret = await identity.create_api_key(
        actor, name="isolation", permissions=frozenset({"transfers:manage"})
    )
    return key.client_id, secret, source.id, sink.id


async def test_poisoned_api_requests_of_two_businesses_do_not_fail_the_others(client: Any) -> None:
    pairs = [await _api_pair(client), await _api_pair(client)]

    async def post(i: int) -> Any:
        client_id, secret, source, sink = pairs[i % 2]
        description = "poison\u0000" if i in POISONED else f"good {i}"
        raw = json.dumps(
            {
                "from_account_id": source,
                "to_account_id": sink,
                "amount": 1_000,
                "reference": f"HTTP-{i}-{uuid.uuid4().hex[:6]}",
                "description": description,
            }
        ).encode()
        headers = signed_headers(client_id, secret, "POST", "/api/v1/transfers", raw)
        return await client.post("/api/v1/transfers", content=raw, headers=headers)

    responses = await asyncio.gather(*(post(i) for i in range(24)))
    for i, response in enumerate(responses):
        if i in POISONED:
            assert 400 <= response.status_code < 500, response.text
            assert response.json()["errors"][0]["pointer"] == "/description"
        else:
            assert response.status_code == 201, (i, response.text)
    assert await _balance(pairs[0][3]) == await _balance(pairs[1][3]) == 10_000
    assert await check_all() == []


async def test_a_hold_on_a_frozen_account_does_not_post_but_may_be_voided(db: str) -> None:
    tree = await make_tree(2)
    a, b = tree.accounts
    await fund(tree.business_id, a, 10_000)
    first = await ledger.create_hold(
        tree.actor, from_account_id=a, to_account_id=b, amount=4_000, reference="H1"
    )
    second = await ledger.create_hold(
        tree.actor, from_account_id=a, to_account_id=b, amount=1_000, reference="H2"
    )
    await accounts.set_status(tree.actor, a, "freeze")

    with pytest.raises(ValidationFailed) as refused:
        await ledger.post_hold(tree.actor, first.id)
    assert refused.value.code == "account_frozen"
    assert (await ledger.get_hold(tree.actor, first.id)).status == "pending"
    assert await _balance(b) == 0
    # Releasing a reservation moves no money: allowed while frozen.
    assert (await ledger.void_hold(tree.actor, second.id)).status == "voided"
    await accounts.set_status(tree.actor, a, "unfreeze")
    assert (await ledger.post_hold(tree.actor, first.id)).status == "posted"
    assert await _balance(b) == 4_000
    assert await check_all() == []


async def test_a_paid_withdrawal_still_settles_on_a_frozen_account(db: str) -> None:
    business, _owner = await make_business()
    tree = await make_tree(1, business_id=business.id)
    (a,) = tree.accounts
    await fund(tree.business_id, a, 50_000)
    await accounts.update_account(
        tree.actor,
        a,
        {"settlement_bank": {"bank_code": "014", "account_number": "1234567890", "holder_name": "Budi"}},
    )
    withdrawal = await ledger.create_withdrawal(tree.actor, account_id=a, amount=20_000, reference="W1")
    await accounts.set_status(tree.actor, a, "freeze")
    # The bank already paid it out: the freeze cannot undo that, so the ledger books it.
    paid = await ledger.mark_withdrawal_paid(tree.actor, withdrawal.id)
    assert paid.status == "paid"
    assert await check_all() == []


async def _end_connections(dsn: str, *, accept_new: bool = True) -> None:
    """What a PostgreSQL restart does to the portal: every backend of its database is ended. With
    `accept_new=False` the database also refuses new connections (the server is "down") until it is
    called again with True."""
    conn = await asyncpg.connect(dsn, database="postgres")
    try:
        await conn.execute(f'ALTER DATABASE "{DATABASE_NAME}" WITH ALLOW_CONNECTIONS {accept_new}')
        # With a timeout the call returns once each backend has exited (without one, only once signalled:
        # a write could still run on a backend about to die, and the test would race the restart).
        await conn.execute(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            DATABASE_NAME,
        )
    finally:
        await conn.close()


async def _write(tree: Tree, reference: str) -> NeracaError | None:
    try:
        await ledger.create_transfer(
            tree.actor,
            from_account_id=tree.accounts[0],
            to_account_id=tree.accounts[1],
            amount=1,
            reference=reference,
        )
    except NeracaError as exc:
        return exc
    return None


async def test_after_postgres_restarts_the_next_write_succeeds(db: str, client: Any) -> None:
    tree = await make_tree(2)
    await fund(tree.business_id, tree.accounts[0], 1_000)
    assert await _write(tree, "before") is None
    await _end_connections(db)
    # The batch that finds its connection dead fails once, as unavailable; the next one works.
    first = await _write(tree, "after-1")
    assert first is None or isinstance(first, ServiceUnavailable), first
    assert await _write(tree, "after-2") is None
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert await check_all() == []


async def test_while_postgres_is_down_writes_are_unavailable_and_readyz_says_so(db: str, client: Any) -> None:
    tree = await make_tree(2)
    await fund(tree.business_id, tree.accounts[0], 1_000)
    assert await _write(tree, "before") is None
    await _end_connections(db, accept_new=False)
    try:
        down = await _write(tree, "down")
        assert isinstance(down, ServiceUnavailable), down
        assert down.status == 503 and down.code == "ledger_unavailable"
        assert (await client.get("/readyz")).status_code == 503
        assert await engine.write_path_problem() is not None, "the ledger's own readiness says so too"
    finally:
        await _end_connections(db, accept_new=True)
    first = await _write(tree, "up-1")
    assert first is None or isinstance(first, ServiceUnavailable), first
    assert await _write(tree, "up-2") is None
    assert await engine.write_path_problem() is None
    assert (await client.get("/readyz")).status_code == 200
    assert await check_all() == []


async def test_a_nul_in_metadata_is_refused_on_its_field_and_the_batch_goes_on(db: str) -> None:
    tree = await make_tree(2)
    await fund(tree.business_id, tree.accounts[0], 1_000)
    calls = [
        ledger.create_transfer(
            tree.actor,
            from_account_id=tree.accounts[0],
            to_account_id=tree.accounts[1],
            amount=10,
            reference=f"META-{i}",
            metadata={"note": "bad\x00" if i == 3 else "fine"},
        )
        for i in range(6)
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    refused = results.pop(3)
    assert isinstance(refused, ValidationFailed) and refused.errors[0].pointer == "/metadata", refused
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert await _balance(tree.accounts[1]) == 50
    assert await check_all() == []
