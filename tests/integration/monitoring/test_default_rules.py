"""Each default rule fires on a scenario that should trigger it and stays quiet on one that should not.

Rules that only alert are evaluated from the events (the consumer is run to the end here); the rules
that can only be seen before money moves (a payout to a beneficiary, the hour) are checked inline
through the screen, with their action set to block."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from portal.domains.ledger import services as ledger
from portal.domains.monitoring.services import evaluate_outgoing
from portal.lib import sql
from portal.lib.clock import set_clock
from portal.lib.ids import new_id
from portal.lib.screening import Outgoing
from tests.support.ledger import fund, make_tree
from tests.support.monitoring import (
    add_failed_charge,
    alerts_of,
    drain,
    only_rules,
    rule_of,
    set_rule,
    with_defaults,
)

pytestmark = pytest.mark.asyncio


async def _tree(kind: str, per: str | None = None, **params: object) -> tuple[object, str]:
    tree = await make_tree(2)
    await with_defaults(tree.business_id)
    await drain()
    rule = await rule_of(tree.business_id, kind, per)
    await only_rules(tree.business_id, rule["id"])
    if params:
        await set_rule(tree.business_id, rule["id"], **params)
    await fund(tree.business_id, tree.accounts[0], 1_000_000_000)
    return tree, rule["id"]


async def _send(tree: object, *amounts: int) -> None:
    for amount in amounts:
        await ledger.create_transfer(
            tree.actor,  # type: ignore[attr-defined]
            from_account_id=tree.accounts[0],  # type: ignore[attr-defined]
            to_account_id=tree.accounts[1],  # type: ignore[attr-defined]
            amount=amount,
            reference=new_id("ref"),
        )
    await drain()


async def _fired(tree: object, rule_id: str) -> int:
    return sum(1 for a in await alerts_of(tree.business_id) if a["rule_id"] == rule_id)  # type: ignore[attr-defined]


async def test_large_amount(db: str) -> None:
    tree, rule = await _tree("large_amount")
    await _send(tree, 99_999_999)
    assert await _fired(tree, rule) == 0
    await _send(tree, 100_000_000)
    alerts = await alerts_of(tree.business_id)
    assert [a["amount"] for a in alerts] == [100_000_000]
    assert alerts[0]["account_id"] == tree.accounts[0] and alerts[0]["object_id"].startswith("trf_")


async def test_count_velocity_per_account(db: str) -> None:
    tree, rule = await _tree("velocity_count", "account", max_count=3)
    await _send(tree, 1000, 1000, 1000)
    assert await _fired(tree, rule) == 0
    await _send(tree, 1000)
    assert await _fired(tree, rule) == 1
    evidence = json.loads((await alerts_of(tree.business_id))[0]["evidence"])
    assert len(evidence) == 4  # the operation and the three before it in the hour


async def test_sum_velocity_per_account(db: str) -> None:
    tree, rule = await _tree("velocity_sum", "account", max_sum=1_000_000)
    await _send(tree, 400_000, 400_000)
    assert await _fired(tree, rule) == 0
    await _send(tree, 400_000)
    assert await _fired(tree, rule) == 1


async def test_structuring(db: str) -> None:
    tree, rule = await _tree("structuring", limit=1_000_000, margin_pct=10, min_count=3)
    await _send(tree, 950_000, 800_000, 960_000, 1_000_000)
    assert await _fired(tree, rule) == 0  # two in the band, one below it, one at the limit
    await _send(tree, 990_000)
    assert await _fired(tree, rule) == 1


async def test_dormant_account_sending(db: str) -> None:
    tree, rule = await _tree("dormant", days=90, min_amount=1_000_000)
    await _send(tree, 5_000_000)
    assert await _fired(tree, rule) == 0  # opened today: not dormant
    other = await make_tree(2, business_id=tree.business_id)
    await sql.execute(
        "UPDATE account SET created_at = now() - interval '120 days' WHERE id = $1", other.accounts[0]
    )
    await fund(tree.business_id, other.accounts[0], 10_000_000)
    await _send(other, 5_000_000)
    assert await _fired(tree, rule) == 1
    await _send(other, 5_000_000)
    assert await _fired(tree, rule) == 1  # awake now


async def test_money_out_right_after_a_beneficiary_change(db: str) -> None:
    tree, rule = await _tree("recent_change", minutes=60, min_amount=1_000_000)
    await _send(tree, 2_000_000)
    assert await _fired(tree, rule) == 0
    await sql.execute(
        "INSERT INTO beneficiary (id, business_id, account_id, kind, bank_code, account_number, typed_name, "
        "holder_name, name_matches, verified_at, usable_from) "
        "VALUES ($1, $2, $3, 'bank', '014', '1234567890', 'Budi', 'BUDI', true, now(), now())",
        new_id("ben"),
        tree.business_id,
        tree.accounts[0],
    )
    await _send(tree, 500_000)
    assert await _fired(tree, rule) == 0  # below the amount
    await _send(tree, 2_000_000)
    assert await _fired(tree, rule) == 1


async def test_failed_card_charges_on_one_billing(db: str) -> None:
    tree, rule = await _tree("failed_charges", max_failures=3)
    await add_failed_charge(tree.business_id, "bil_a")
    await add_failed_charge(tree.business_id, "bil_a")
    await add_failed_charge(tree.business_id, "bil_b")
    await drain()
    assert await _fired(tree, rule) == 0
    await add_failed_charge(tree.business_id, "bil_a")
    await drain()
    assert await _fired(tree, rule) == 1
    assert (await alerts_of(tree.business_id))[0]["object_kind"] == "charge"


async def test_night_activity_is_screened_inline(db: str) -> None:
    tree, rule = await _tree("night", action="block", min_amount=1_000_000)
    out = Outgoing("transfer", tree.business_id, tree.accounts[0], 2_000_000, reference=new_id("ref"))
    try:
        set_clock(lambda: datetime(2026, 11, 30, 5, 0, tzinfo=UTC))  # 12:00 WIB
        assert (await evaluate_outgoing(tree.actor, out)).action == "allow"
        set_clock(lambda: datetime(2026, 11, 30, 16, 30, tzinfo=UTC))  # 23:30 WIB
        small = Outgoing("transfer", tree.business_id, tree.accounts[0], 500_000)
        assert (await evaluate_outgoing(tree.actor, small)).action == "allow"
        verdict = await evaluate_outgoing(tree.actor, out)
    finally:
        set_clock(None)
    assert verdict.action == "block" and verdict.code == "monitoring_blocked" and verdict.rule_ids == (rule,)


async def test_first_payout_to_a_new_beneficiary_is_screened_inline(db: str) -> None:
    tree, _ = await _tree("new_beneficiary", action="review", min_amount=25_000_000)
    payout = Outgoing("payout", tree.business_id, tree.accounts[0], 30_000_000, beneficiary_id="ben_new")
    assert (await evaluate_outgoing(tree.actor, payout)).action == "review"
    small = Outgoing("payout", tree.business_id, tree.accounts[0], 1_000_000, beneficiary_id="ben_new")
    assert (await evaluate_outgoing(tree.actor, small)).action == "allow"
    transfer = Outgoing("transfer", tree.business_id, tree.accounts[0], 30_000_000)
    assert (await evaluate_outgoing(tree.actor, transfer)).action == "allow"  # no beneficiary


async def test_per_beneficiary_velocity_needs_a_beneficiary(db: str) -> None:
    tree, rule = await _tree("velocity_count", "beneficiary", action="block", max_count=1)
    transfer = Outgoing("transfer", tree.business_id, tree.accounts[0], 1000)
    assert (await evaluate_outgoing(tree.actor, transfer)).action == "allow"
    await _send(tree, 1000, 1000)
    assert await _fired(tree, rule) == 0


async def test_the_inline_screen_counts_as_the_event_consumer(db: str) -> None:
    """The inline statement (each window read once, shared by the rules) and the consumer's statement
    (one count per rule) reach the same matches on the same history, for every kind screened inline."""
    from portal.domains.monitoring.services.evaluate import Booked, matching_rules, matching_rules_many

    tree = await make_tree(3)
    await with_defaults(tree.business_id)
    await drain()
    tuned = {
        ("velocity_count", "account"): {"max_count": 2},
        ("velocity_sum", "account"): {"max_sum": 2_000_000},
        ("structuring", None): {"limit": 1_000_000, "margin_pct": 10, "min_count": 2},
        ("dormant", None): {"days": 90, "min_amount": 1},
        ("recent_change", None): {"minutes": 60, "min_amount": 1},
        ("new_beneficiary", None): {"min_amount": 1},
        ("large_amount", None): {"amount": 10**12},
    }
    for (kind, per), params in tuned.items():
        await set_rule(tree.business_id, (await rule_of(tree.business_id, kind, per))["id"], **params)
    await fund(tree.business_id, tree.accounts[0], 1_000_000_000)
    await _send(tree, 950_000, 300_000)
    await sql.execute(
        "UPDATE account SET created_at = now() - interval '120 days' WHERE id = $1", tree.accounts[2]
    )
    await sql.execute(
        "INSERT INTO beneficiary (id, business_id, account_id, kind, bank_code, account_number, typed_name, "
        "holder_name, name_matches, verified_at, usable_from) "
        "VALUES ($1, $2, $3, 'bank', '014', '1234567890', 'Budi', 'BUDI', true, now(), now())",
        new_id("ben"),
        tree.business_id,
        tree.accounts[1],
    )
    at = await sql.fetchval("SELECT clock_timestamp()")
    cases = [
        (tree.accounts[0], 960_000, None),
        (tree.accounts[0], 100, None),
        (tree.accounts[0], 5_000_000, "ben_new"),
        (tree.accounts[1], 700_000, None),
        (tree.accounts[2], 700_000, "ben_new"),
    ]
    inline = [
        sorted(
            m.kind
            for m in await matching_rules(tree.business_id, account_id=a, amount=n, at=at, beneficiary_id=b)
        )
        for a, n, b in cases
    ]
    batch = await matching_rules_many(tree.business_id, [Booked(a, n, at, b, None) for a, n, b in cases])
    assert inline == [sorted(m.kind for m in found) for found in batch]
    assert inline[0] == ["structuring", "velocity_count", "velocity_sum"]
    assert inline[1] == ["velocity_count"]
    assert inline[2] == ["new_beneficiary", "velocity_count", "velocity_sum"]
    assert inline[3] == ["recent_change"]
    assert inline[4] == ["dormant", "new_beneficiary"]
