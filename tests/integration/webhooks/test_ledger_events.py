"""The ledger writes its events in the same transaction as the money: one per change, the API object as
data, inside the group commit set-based, with deliveries queued for subscribed endpoints."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from portal.domains.accounts import services as accounts
from portal.domains.ledger import services as ledger
from portal.domains.webhooks import services as webhooks
from portal.lib import clock, sql
from portal.lib.errors import NeracaError
from tests.support.identity import make_business
from tests.support.ledger import Tree, fund, make_tree
from tests.support.webhooks import queued_jobs


@pytest.fixture
async def tree(db: str) -> Tree:
    """Two partner accounts of a real business (top-ups and withdrawals read its fee schedule)."""
    business, _owner = await make_business()
    return await make_tree(2, business_id=business.id)


async def events(*, accounts_too: bool = False) -> list[tuple[int, str, dict[str, Any]]]:
    """The events so far, in sequence; those of opening the fixture's accounts left out unless asked."""
    rows = await sql.fetch("SELECT sequence, type, data FROM event ORDER BY sequence")
    return [
        (r["sequence"], r["type"], json.loads(r["data"]))
        for r in rows
        if accounts_too or not r["type"].startswith("account.")
    ]


async def test_every_ledger_change_writes_its_event(tree: Tree) -> None:
    a, b = tree.accounts
    await fund(tree.business_id, a, 1_000_000)
    transfer = await ledger.create_transfer(
        tree.actor, from_account_id=a, to_account_id=b, amount=1_000, reference="T-1"
    )
    hold = await ledger.create_hold(
        tree.actor, from_account_id=a, to_account_id=b, amount=500, reference="H-1"
    )
    posted = await ledger.post_hold(tree.actor, hold.id, amount=200)
    other = await ledger.create_hold(
        tree.actor, from_account_id=a, to_account_id=b, amount=50, reference="H-2"
    )
    voided = await ledger.void_hold(tree.actor, other.id)
    topup = await ledger.create_topup(tree.actor, account_id=a, amount=10_000, reference="TOP-1")
    paid = await ledger.simulate_topup_payment(tree.actor, topup.id)
    await accounts.update_account(
        tree.actor,
        a,
        {"settlement_bank": {"bank_code": "014", "account_number": "1234567890", "holder_name": "Partner"}},
    )
    withdrawal = await ledger.create_withdrawal(tree.actor, account_id=a, amount=5_000, reference="W-1")
    failed = await ledger.mark_withdrawal_failed(tree.actor, withdrawal.id, reason="closed account")
    got = await events()
    first = got[0][0]
    assert [(n, t) for n, t, _ in got] == list(
        enumerate(
            [
                "transfer.created",
                "hold.created",
                "hold.posted",
                "hold.created",
                "hold.voided",
                "topup.created",
                "topup.paid",
                "withdrawal.created",
                "withdrawal.failed",
            ],
            start=first,
        )
    )
    as_api = [
        msgspec.to_builtins(x)
        for x in (transfer, hold, posted, other, voided, topup, paid, withdrawal, failed)
    ]
    assert [data for _, _, data in got] == as_api
    # Refused changes write no event.
    with pytest.raises(NeracaError):
        await ledger.create_transfer(
            tree.actor, from_account_id=b, to_account_id=a, amount=10**12, reference="T-2"
        )
    assert len(await events()) == len(got)


async def test_group_commit_emits_set_based_and_queues_deliveries(tree: Tree) -> None:
    import asyncio

    a, b = tree.accounts
    await fund(tree.business_id, a, 1_000_000)
    endpoint, _ = await webhooks.create_endpoint(
        tree.actor, url="http://127.0.0.1:9/hook", event_types=["transfer.created"]
    )
    await asyncio.gather(
        *(
            ledger.create_transfer(
                tree.actor, from_account_id=a, to_account_id=b, amount=1, reference=f"G-{i}"
            )
            for i in range(30)
        )
    )
    got = await events()
    assert [n for n, _, _ in got] == list(range(got[0][0], got[0][0] + 30))
    assert {d["reference"] for _, _, d in got} == {f"G-{i}" for i in range(30)}
    assert (
        await sql.fetchval("SELECT count(*) FROM webhook_delivery WHERE endpoint_id = $1", endpoint.id) == 30
    )
    jobs = await queued_jobs()
    assert sorted(e for job in jobs for e, _ in job["d"]) == sorted(
        r["id"] for r in await sql.fetch("SELECT id FROM event WHERE type = 'transfer.created'")
    )
    # Fewer jobs than transfers: the batches of the group commit each queued one.
    assert 1 <= len(jobs) <= 30


async def test_account_changes_write_events(tree: Tree) -> None:
    created = await accounts.create_account(tree.actor, name="Cabang", kind="division", parent_id=tree.main)
    await accounts.set_status(tree.actor, created.id, "freeze")
    await accounts.set_status(tree.actor, created.id, "unfreeze")
    closed = await accounts.set_status(tree.actor, created.id, "close")
    got = [e for e in await events(accounts_too=True) if e[2]["id"] == created.id]
    assert [t for _, t, _ in got] == [
        "account.created",
        "account.frozen",
        "account.unfrozen",
        "account.closed",
    ]
    assert got[0][2] == msgspec.to_builtins(created.out())
    assert got[-1][2]["status"] == "closed" == closed.status


async def test_expiries_write_events(tree: Tree) -> None:
    a, b = tree.accounts
    await fund(tree.business_id, a, 1_000)
    hold = await ledger.create_hold(
        tree.actor,
        from_account_id=a,
        to_account_id=b,
        amount=100,
        reference="H-EXP",
        expires_at=clock.now() + timedelta(minutes=1),
    )
    topup = await ledger.create_topup(tree.actor, account_id=a, amount=10_000, reference="TOP-EXP")
    await sql.execute("UPDATE hold SET expires_at = now() - interval '1 second' WHERE id = $1", hold.id)
    await sql.execute("UPDATE topup SET expires_at = now() - interval '1 second' WHERE id = $1", topup.id)
    assert await ledger.expire_hold(tree.business_id, hold.id)
    assert await ledger.expire_due_topups() == 1
    types = [t for _, t, _ in await events()]
    assert types == ["hold.created", "topup.created", "hold.expired", "topup.expired"]
