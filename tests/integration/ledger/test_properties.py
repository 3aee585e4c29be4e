"""Ledger properties: random groups of transfers, holds, posts, voids and reversals through
the service into PostgreSQL; after every example the ledger invariants (docs/ledger.md) hold, and money is
neither created nor lost (Σ of the accounts' posted balances = what the world account put in)."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.domains.ledger import services as ledger
from portal.domains.ledger.invariants import check_all
from portal.lib import sql
from portal.lib.errors import NeracaError
from tests.support.ledger import fund, make_tree, run_sync

N = 4
account_index = st.integers(0, N - 1)
amount = st.integers(1, 3_000)
command = st.one_of(
    st.tuples(st.just("transfer"), account_index, account_index, amount),
    st.tuples(
        st.just("group"), st.lists(st.tuples(account_index, account_index, amount), min_size=1, max_size=4)
    ),
    st.tuples(st.just("hold"), account_index, account_index, amount),
    st.tuples(st.just("post"), st.integers(0, 10), st.integers(0, 100)),
    st.tuples(st.just("void"), st.integers(0, 10)),
    st.tuples(st.just("reverse"), st.integers(0, 20)),
    st.tuples(st.just("fund"), account_index, amount),
)


async def run_scenario(commands: list[Any], concurrent: bool) -> None:
    t = await make_tree(N)
    acc = t.accounts
    funded = 0
    holds: list[str] = []
    transfers: list[str] = []
    refs = iter(range(10_000))

    async def one(cmd: Any) -> None:
        nonlocal funded
        kind = cmd[0]
        try:
            if kind == "transfer":
                out = await ledger.create_transfer(
                    t.actor,
                    from_account_id=acc[cmd[1]],
                    to_account_id=acc[cmd[2]],
                    amount=cmd[3],
                    reference=f"t{next(refs)}",
                )
                transfers.append(out.id)
            elif kind == "group":
                group = await ledger.create_transfer_group(
                    t.actor,
                    reference=f"g{next(refs)}",
                    transfers=[
                        {"from_account_id": acc[i], "to_account_id": acc[j], "amount": a}
                        for i, j, a in cmd[1]
                    ],
                )
                transfers.extend(x.id for x in group.transfers)
            elif kind == "hold":
                hold = await ledger.create_hold(
                    t.actor,
                    from_account_id=acc[cmd[1]],
                    to_account_id=acc[cmd[2]],
                    amount=cmd[3],
                    reference=f"h{next(refs)}",
                )
                holds.append(hold.id)
            elif kind == "post" and holds:
                hold_id = holds[cmd[1] % len(holds)]
                held = (await ledger.get_hold(t.actor, hold_id)).amount
                await ledger.post_hold(t.actor, hold_id, amount=max(1, held * cmd[2] // 100))
            elif kind == "void" and holds:
                await ledger.void_hold(t.actor, holds[cmd[1] % len(holds)])
            elif kind == "reverse" and transfers:
                await ledger.reverse_transfer(
                    t.actor, transfers[cmd[1] % len(transfers)], reference=f"r{next(refs)}"
                )
            elif kind == "fund":
                await fund(t.business_id, acc[cmd[1]], cmd[2])
                funded += cmd[2]
        except NeracaError:
            pass  # refusals are expected; the invariants below decide whether they were right

    if concurrent:
        await asyncio.gather(*(one(c) for c in commands))
    else:
        for c in commands:
            await one(c)
    assert await check_all() == []
    posted = await sql.fetchval(
        "SELECT sum(credits_posted - debits_posted) FROM account WHERE business_id = $1 AND kind <> 'system'",
        t.business_id,
    )
    world_out = await sql.fetchval(
        "SELECT debits_posted - credits_posted FROM account WHERE business_id = $1 AND system_role = 'world'",
        t.business_id,
    )
    assert int(posted) == funded == int(world_out)
    low = await sql.fetchval(
        "SELECT min(credits_posted - debits_posted - debits_pending) FROM account "
        "WHERE business_id = $1 AND kind <> 'system'",
        t.business_id,
    )
    assert int(low) >= 0


async def test_random_scenarios_keep_the_invariants(db: str) -> None:
    loop = asyncio.get_running_loop()

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        commands=st.lists(command, min_size=1, max_size=25).map(
            lambda cs: [*(("fund", i, 3_000) for i in range(N)), *cs]
        ),
        concurrent=st.booleans(),
    )
    def scenario(commands: list[Any], concurrent: bool) -> None:
        run_sync(loop, run_scenario(commands, concurrent))

    await asyncio.to_thread(scenario)
