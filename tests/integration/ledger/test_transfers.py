"""Transfers, groups, holds, reversals and bad input through the ledger service."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from portal.domains.accounts import services as accounts
from portal.domains.ledger import services as ledger
from portal.domains.ledger.invariants import check_all
from portal.lib import clock, sql
from portal.lib.errors import Conflict, NeracaError, NotFound, ValidationFailed
from tests.support.ledger import fund, make_tree, owner


async def available(account_id: str) -> int:
    return int(
        await sql.fetchval(
            "SELECT credits_posted - debits_posted - debits_pending FROM account WHERE id = $1", account_id
        )
    )


async def test_transfer_moves_money_and_keeps_invariants(db: str) -> None:
    t = await make_tree(2)
    a, b = t.accounts
    await fund(t.business_id, a, 100_000)
    out = await ledger.create_transfer(
        t.actor, from_account_id=a, to_account_id=b, amount=30_000, reference="T-1"
    )
    assert out.amount == 30_000 and out.kind == "transfer" and out.id.startswith("trf_")
    assert await available(a) == 70_000
    assert await available(b) == 30_000
    assert await check_all() == []
    logged = await sql.fetch("SELECT action, refs FROM activity WHERE action = 'transfer.created'")
    assert len(logged) == 1 and "T-1" in str(logged[0]["refs"])
    assert (
        await sql.fetchval(
            "SELECT count(*) FROM notification WHERE account_id = $1 AND kind = 'transfer.received'", b
        )
        == 1
    )


async def test_concurrent_transfers_are_batched_and_each_gets_its_result(db: str) -> None:
    t = await make_tree(2)
    a, b = t.accounts
    await fund(t.business_id, a, 10_000)
    results = await asyncio.gather(
        *[
            ledger.create_transfer(
                t.actor, from_account_id=a, to_account_id=b, amount=1_000, reference=f"C-{i}"
            )
            for i in range(25)
        ],
        return_exceptions=True,
    )
    ok = [r for r in results if not isinstance(r, BaseException)]
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(ok) == 10
    assert all(isinstance(f, ValidationFailed) and f.code == "insufficient_funds" for f in failed)
    assert await available(a) == 0
    assert await check_all() == []


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (0, "validation_failed"),
        (-5, "validation_failed"),
        (10**15, "validation_failed"),
        (1.5, "validation_failed"),
    ],
)
async def test_bad_amounts_are_refused_and_nothing_is_written(db: str, amount: object, code: str) -> None:
    t = await make_tree(2)
    a, b = t.accounts
    await fund(t.business_id, a, 100)
    with pytest.raises(ValidationFailed) as info:
        await ledger.create_transfer(
            t.actor, from_account_id=a, to_account_id=b, amount=amount, reference="X"
        )  # type: ignore[arg-type]
    assert info.value.code == code
    assert await sql.fetchval("SELECT count(*) FROM transfer WHERE reference = 'X'") == 0


async def test_refusals_have_specific_codes(db: str) -> None:
    t = await make_tree(3)
    a, b, c = t.accounts
    await fund(t.business_id, a, 1_000)
    usd = await accounts.create_account(t.actor, name="USD", kind="partner", parent_id=t.main, currency="USD")
    other = await make_tree(1)

    async def refused(exc_type: type[NeracaError], code: str, **kwargs: object) -> None:
        before = await sql.fetchval("SELECT count(*) FROM transfer")
        args = {"from_account_id": a, "to_account_id": b, "amount": 100, "reference": "R", **kwargs}
        with pytest.raises(exc_type) as info:
            await ledger.create_transfer(t.actor, **args)  # type: ignore[arg-type]
        assert info.value.code == code, info.value.detail
        assert await sql.fetchval("SELECT count(*) FROM transfer") == before
        assert await sql.fetchval("SELECT count(*) FROM ledger_reference WHERE reference = 'R'") == 0

    await refused(ValidationFailed, "insufficient_funds", amount=5_000)
    await refused(ValidationFailed, "same_account", to_account_id=a)
    await refused(ValidationFailed, "currency_mismatch", to_account_id=usd.id)
    await refused(NotFound, "not_found", to_account_id=other.accounts[0])
    await refused(NotFound, "not_found", from_account_id=other.accounts[0])
    world = await accounts.system_account_id(t.business_id, "IDR", "world")
    await refused(NotFound, "not_found", from_account_id=world)
    await accounts.set_status(t.actor, a, "freeze")
    await refused(ValidationFailed, "account_frozen")
    # Frozen accounts still receive.
    await fund(t.business_id, c, 5)
    await ledger.create_transfer(t.actor, from_account_id=c, to_account_id=a, amount=5, reference="in")
    await accounts.set_status(t.actor, a, "unfreeze")
    await accounts.set_status(t.actor, c, "close")
    await refused(ValidationFailed, "account_closed", to_account_id=c)
    # Out of the actor's subtree → 404 as if it did not exist.
    scoped = owner(t.business_id, scope=b)
    with pytest.raises(NotFound):
        await ledger.create_transfer(scoped, from_account_id=a, to_account_id=b, amount=1, reference="S")
    assert await check_all() == []


async def test_reference_is_unique_per_business_forever(db: str) -> None:
    t = await make_tree(2)
    a, b = t.accounts
    await fund(t.business_id, a, 1_000)
    await ledger.create_transfer(t.actor, from_account_id=a, to_account_id=b, amount=1, reference="DUP")
    with pytest.raises(Conflict) as info:
        await ledger.create_transfer(t.actor, from_account_id=a, to_account_id=b, amount=2, reference="DUP")
    assert info.value.code == "duplicate_reference"
    other = await make_tree(2)
    await fund(other.business_id, other.accounts[0], 10)
    await ledger.create_transfer(
        other.actor,
        from_account_id=other.accounts[0],
        to_account_id=other.accounts[1],
        amount=1,
        reference="DUP",
    )
    assert await check_all() == []


async def test_group_is_all_or_nothing(db: str) -> None:
    t = await make_tree(3)
    a, b, c = t.accounts
    await fund(t.business_id, a, 1_000)
    with pytest.raises(ValidationFailed) as info:
        await ledger.create_transfer_group(
            t.actor,
            reference="G-1",
            transfers=[
                {"from_account_id": a, "to_account_id": b, "amount": 600},
                {"from_account_id": a, "to_account_id": c, "amount": 600},
            ],
        )
    assert info.value.code == "insufficient_funds"
    assert info.value.errors[0].pointer == "/transfers/1/amount"
    assert await available(b) == 0
    group = await ledger.create_transfer_group(
        t.actor,
        reference="G-1",
        transfers=[
            {"from_account_id": a, "to_account_id": b, "amount": 600},
            {"from_account_id": a, "to_account_id": c, "amount": 400},
        ],
    )
    assert [x.amount for x in group.transfers] == [600, 400]
    assert {x.group_id for x in group.transfers} == {group.id}
    assert await available(a) == 0
    assert await check_all() == []


async def test_holds_post_in_part_void_and_expire(db: str) -> None:
    t = await make_tree(2)
    a, b = t.accounts
    await fund(t.business_id, a, 1_000)
    hold = await ledger.create_hold(t.actor, from_account_id=a, to_account_id=b, amount=700, reference="H-1")
    assert hold.status == "pending"
    bal = await ledger.balance(t.actor, a)
    assert (bal.available, bal.on_hold, bal.posted) == (300, 700, 1_000)
    assert (await ledger.balance(t.actor, b)).pending_in == 700
    with pytest.raises(ValidationFailed) as info:
        await ledger.create_transfer(t.actor, from_account_id=a, to_account_id=b, amount=301, reference="T")
    assert info.value.code == "insufficient_funds"
    posted = await ledger.post_hold(t.actor, hold.id, amount=500)
    assert (posted.status, posted.posted_amount) == ("posted", 500)
    assert await available(a) == 500 and await available(b) == 500
    with pytest.raises(Conflict):
        await ledger.void_hold(t.actor, hold.id)

    second = await ledger.create_hold(
        t.actor, from_account_id=a, to_account_id=b, amount=200, reference="H-2"
    )
    assert (await ledger.void_hold(t.actor, second.id)).status == "voided"
    assert await available(a) == 500

    third = await ledger.create_hold(
        t.actor,
        from_account_id=a,
        to_account_id=b,
        amount=100,
        reference="H-3",
        expires_at=clock.now() + timedelta(minutes=5),
    )
    assert await ledger.expire_hold(t.business_id, third.id) is False  # not yet due
    clock.set_clock(lambda: clock.datetime.now(clock.UTC) + timedelta(minutes=6))
    try:
        assert await ledger.expire_hold(t.business_id, third.id) is True
        assert await ledger.expire_hold(t.business_id, third.id) is False
    finally:
        clock.set_clock(None)
    assert (await ledger.get_hold(t.actor, third.id)).status == "expired"
    assert await available(a) == 500
    assert await check_all() == []


async def test_reversal_and_balance_as_of(db: str) -> None:
    t = await make_tree(2)
    a, b = t.accounts
    await fund(t.business_id, a, 1_000)
    first = await ledger.create_transfer(
        t.actor, from_account_id=a, to_account_id=b, amount=400, reference="R-1"
    )
    moment = first.created_at
    await asyncio.sleep(0.01)
    reversal = await ledger.reverse_transfer(t.actor, first.id, reference="R-1-rev")
    assert reversal.kind == "reversal" and reversal.from_account_id == b
    with pytest.raises(Conflict):
        await ledger.reverse_transfer(t.actor, first.id, reference="R-1-rev2")
    assert (await ledger.balance(t.actor, a)).available == 1_000
    assert (await ledger.balance(t.actor, a, as_of=moment)).available == 600
    assert (await ledger.balance(t.actor, b, as_of=moment - timedelta(seconds=1))).available == 0
    assert await check_all() == []


async def test_transfers_are_immutable_and_the_database_refuses_overdraft(db: str) -> None:
    import asyncpg

    t = await make_tree(2)
    a, b = t.accounts
    await fund(t.business_id, a, 100)
    await ledger.create_transfer(t.actor, from_account_id=a, to_account_id=b, amount=10, reference="I")
    with pytest.raises(asyncpg.RestrictViolationError, match="immutable"):
        await sql.execute("UPDATE transfer SET amount = 1")
    with pytest.raises(asyncpg.RestrictViolationError, match="immutable"):
        await sql.execute("DELETE FROM transfer")
    with pytest.raises(asyncpg.CheckViolationError):
        await sql.execute("UPDATE account SET debits_posted = debits_posted + 1000 WHERE id = $1", a)


async def test_verify_finds_a_tampered_balance(db: str) -> None:
    t = await make_tree(2)
    a, b = t.accounts
    await fund(t.business_id, a, 100)
    await sql.execute("UPDATE account SET credits_posted = credits_posted + 5 WHERE id = $1", b)
    found = {v.invariant for v in await check_all()}
    assert {"balanced_per_currency", "columns_match_transfers"} <= found


async def test_out_of_scope_objects_are_404_before_their_input_or_status(db: str) -> None:
    """Regression (mark-failed answered 422 for an object the caller may not see): a caller scoped to a
    sibling subtree gets 404 for a hold, top-up, withdrawal or account whatever the input or status."""
    from tests.support.identity import make_business

    business, _ = await make_business()
    t = await make_tree(2, business_id=business.id)
    a, b = t.accounts
    await fund(t.business_id, a, 100_000)
    await accounts.update_account(
        t.actor,
        a,
        {"settlement_bank": {"bank_code": "014", "account_number": "1234567890", "holder_name": "A"}},
    )
    hold = await ledger.create_hold(t.actor, from_account_id=a, to_account_id=b, amount=500, reference="H")
    voided = await ledger.create_hold(t.actor, from_account_id=a, to_account_id=b, amount=5, reference="V")
    await ledger.void_hold(t.actor, voided.id)
    topup = await ledger.create_topup(t.actor, account_id=a, amount=10_000, reference="TU")
    withdrawal = await ledger.create_withdrawal(t.actor, account_id=a, amount=1_000, reference="WD")
    sibling = owner(t.business_id, scope=b)
    live_sibling = dataclasses.replace(sibling, business_mode="live")
    attempts = [
        ledger.post_hold(sibling, hold.id, amount=10**9),  # would be 422 (more than held)
        ledger.post_hold(sibling, voided.id),  # would be 409 (not pending)
        ledger.void_hold(sibling, voided.id),
        ledger.mark_withdrawal_failed(sibling, withdrawal.id, reason=""),  # would be 422 (no reason)
        ledger.mark_withdrawal_paid(sibling, withdrawal.id),
        ledger.simulate_topup_payment(live_sibling, topup.id),  # would be 409 (not sandbox)
        accounts.update_account(sibling, a, {"name": ""}),  # would be 422 (name required)
        accounts.set_status(sibling, a, "close"),  # would be 409 (balance not zero)
    ]
    for attempt in attempts:
        with pytest.raises(NotFound):
            await attempt
    assert (await ledger.get_withdrawal(t.actor, withdrawal.id)).status == "pending"
    assert (await ledger.get_hold(t.actor, hold.id)).status == "pending"
    assert await check_all() == []
