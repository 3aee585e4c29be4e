"""A group large enough for the engine's COPY write (a settlement batch's size): every transfer stored as
its leg says, the balances, the holds its commit hook makes, and the invariants."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from portal.domains.accounts import services as accounts
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation
from portal.domains.ledger.invariants import check_all
from portal.domains.ledger.services.holds import hold_legs_committed
from portal.lib import sql
from portal.lib.ids import new_id
from tests.support.ledger import make_tree

BALANCES = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


def _legs(world: str, parts: list[str], n: int) -> tuple[list[Leg], list[tuple[Leg, str, None]]]:
    """n legs: money in from the world, then transfers and holds between the partners."""
    legs: list[Leg] = []
    holds: list[tuple[Leg, str, None]] = []
    for k in range(n):
        a, b = parts[k % len(parts)], parts[(k + 1) % len(parts)]
        if k % 3 == 0:
            leg = Leg(world, a, 10_000 + k, kind="topup", metadata={"k": k, "note": "Rp dan ü"})
        elif k % 3 == 1:
            leg = Leg(a, b, 1_000 + k, kind="transfer", description=f"Bagi {k}", metadata={"nested": [k]})
        else:
            hold_id = new_id("hld")
            leg = Leg(a, world, 500 + k, kind="payout", phase="pending", hold_id=hold_id)
            holds.append((leg, hold_id, None))
        legs.append(leg)
    return legs, holds


async def _balances(ids: list[str]) -> dict[str, tuple[int, ...]]:
    rows = await sql.fetch(f"SELECT id, {', '.join(BALANCES)} FROM account WHERE id = ANY($1::text[])", ids)
    return {r["id"]: tuple(int(r[c]) for c in BALANCES) for r in rows}


def _expected(before: dict[str, tuple[int, ...]], legs: list[Leg]) -> dict[str, tuple[int, ...]]:
    moved = {k: list(v) for k, v in before.items()}
    for leg in legs:
        posted = leg.phase == "posted"
        moved[leg.debit_account_id][0 if posted else 2] += leg.amount
        moved[leg.credit_account_id][1 if posted else 3] += leg.amount
    return {k: tuple(v) for k, v in moved.items()}


async def test_a_group_above_the_copy_threshold_stores_every_leg_balance_and_hold(db: str) -> None:
    tree = await make_tree(4)
    world = await accounts.system_account_id(tree.business_id, "IDR", "world")
    legs, holds = _legs(world, tree.accounts, engine.COPY_ROWS + 400)
    assert len(legs) >= engine.COPY_ROWS  # the COPY path, not the unnest insert
    ids = [*tree.accounts, world]
    before = await _balances(ids)
    group_id = new_id("grp")
    result = await engine.execute(
        Operation(
            tree.business_id,
            legs,
            group_id=group_id,
            source_id="stl_test",
            internal=True,
            on_commit=hold_legs_committed(holds, None, tree.business_id),
        )
    )

    assert [t["id"] for t in result.transfers] == [leg.transfer_id for leg in legs]
    stored = {
        r["id"]: r
        for r in await sql.fetch(
            "SELECT t.*, now() AS read_at FROM transfer t WHERE business_id = $1 AND group_id = $2",
            tree.business_id,
            group_id,
        )
    }
    assert len(stored) == len(legs)
    for leg, answered in zip(legs, result.transfers, strict=True):
        row = stored[leg.transfer_id]
        assert (row["debit_account_id"], row["credit_account_id"], row["amount"], row["phase"]) == (
            leg.debit_account_id,
            leg.credit_account_id,
            leg.amount,
            leg.phase,
        )
        assert (row["kind"], row["description"], row["hold_id"], row["source_id"], row["currency"]) == (
            leg.kind,
            leg.description,
            leg.hold_id,
            "stl_test",
            "IDR",
        )
        assert json.loads(row["metadata"]) == (leg.metadata or {})
        # The answer carries what was stored (the transaction's time for every row).
        assert answered["created_at"] == row["created_at"]
    assert len({r["created_at"] for r in stored.values()}) == 1

    assert await _balances(ids) == _expected(before, legs)
    made = await sql.fetch(
        "SELECT id, transfer_id, amount, status FROM hold WHERE business_id = $1 AND id = ANY($2::text[])",
        tree.business_id,
        [hold_id for _, hold_id, _ in holds],
    )
    assert {(r["id"], r["transfer_id"], r["amount"], r["status"]) for r in made} == {
        (hold_id, leg.transfer_id, leg.amount, "pending") for leg, hold_id, _ in holds
    }
    assert await check_all() == []


async def test_a_large_imported_group_keeps_its_booking_time(db: str) -> None:
    tree = await make_tree(2)
    world = await accounts.system_account_id(tree.business_id, "IDR", "world")
    legs, _ = _legs(world, tree.accounts, engine.COPY_ROWS)
    legs = [leg for leg in legs if leg.phase == "posted"]
    legs += [Leg(world, tree.accounts[0], 7, kind="topup") for _ in range(engine.COPY_ROWS - len(legs))]
    booked_at = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
    result = await engine.execute(
        Operation(tree.business_id, legs, group_id=new_id("grp"), internal=True, booked_at=booked_at)
    )
    assert len(legs) == engine.COPY_ROWS
    assert {t["created_at"] for t in result.transfers} == {booked_at}
    assert await sql.fetchval(
        "SELECT array_agg(DISTINCT created_at) FROM transfer WHERE business_id = $1 AND id = ANY($2::text[])",
        tree.business_id,
        [leg.transfer_id for leg in legs],
    ) == [booked_at]
    assert await check_all() == []
