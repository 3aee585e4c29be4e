"""Stateful model: a RuleBasedStateMachine keeps accounts and holds in memory, drives the
ledger service, and compares every account's four balance columns with the model after every step."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, rule

from portal.domains.accounts import services as accounts
from portal.domains.ledger import services as ledger
from portal.domains.ledger.invariants import check_all
from portal.lib import sql
from portal.lib.errors import NeracaError
from tests.support.ledger import fund, make_tree, run_sync

N = 3


class LedgerModel(RuleBasedStateMachine):
    loop: Any = None
    holds = Bundle("holds")

    def call(self, coro: Any) -> Any:
        return run_sync(self.loop, coro)

    @initialize()
    def setup(self) -> None:
        self.tree = self.call(make_tree(N))
        self.world = self.call(accounts.system_account_id(self.tree.business_id, "IDR", "world"))
        self.ids = [*self.tree.accounts, self.world]
        # id -> [debits_posted, credits_posted, debits_pending, credits_pending]
        self.model = {i: [0, 0, 0, 0] for i in self.ids}
        self.hold_state: dict[str, tuple[str, str, int]] = {}
        self.frozen: set[str] = set()
        self.n = 0

    def available(self, account_id: str) -> int:
        dp, cp, dpend, _ = self.model[account_id]
        return cp - dp - dpend

    def ref(self) -> str:
        self.n += 1
        return f"m{self.n}"

    @rule(i=st.integers(0, N - 1), amount=st.integers(1, 5_000))
    def fund(self, i: int, amount: int) -> None:
        target = self.tree.accounts[i]
        self.call(fund(self.tree.business_id, target, amount))
        self.model[self.world][0] += amount
        self.model[target][1] += amount

    @rule(i=st.integers(0, N - 1), j=st.integers(0, N - 1), amount=st.integers(1, 4_000))
    def transfer(self, i: int, j: int, amount: int) -> None:
        a, b = self.tree.accounts[i], self.tree.accounts[j]
        expect_ok = i != j and a not in self.frozen and self.available(a) >= amount
        try:
            self.call(
                ledger.create_transfer(
                    self.tree.actor, from_account_id=a, to_account_id=b, amount=amount, reference=self.ref()
                )
            )
            ok = True
        except NeracaError:
            ok = False
        assert ok == expect_ok
        if ok:
            self.model[a][0] += amount
            self.model[b][1] += amount

    @rule(target=holds, i=st.integers(0, N - 1), j=st.integers(0, N - 1), amount=st.integers(1, 4_000))
    def hold(self, i: int, j: int, amount: int) -> str:
        a, b = self.tree.accounts[i], self.tree.accounts[j]
        expect_ok = i != j and a not in self.frozen and self.available(a) >= amount
        try:
            hold = self.call(
                ledger.create_hold(
                    self.tree.actor, from_account_id=a, to_account_id=b, amount=amount, reference=self.ref()
                )
            )
        except NeracaError:
            assert not expect_ok
            return "none"
        assert expect_ok
        self.model[a][2] += amount
        self.model[b][3] += amount
        self.hold_state[hold.id] = (a, b, amount)
        return str(hold.id)

    @rule(hold_id=consumes(holds), percent=st.integers(1, 100))
    def post(self, hold_id: str, percent: int) -> None:
        if hold_id not in self.hold_state:
            return
        a, b, held = self.hold_state[hold_id]
        amount = max(1, held * percent // 100)
        # A user's post moves the money out now, so a frozen source refuses it; the hold stays pending.
        expect_ok = a not in self.frozen
        try:
            self.call(ledger.post_hold(self.tree.actor, hold_id, amount=amount))
        except NeracaError:
            assert not expect_ok
            return
        assert expect_ok
        del self.hold_state[hold_id]
        self.model[a][2] -= held
        self.model[b][3] -= held
        self.model[a][0] += amount
        self.model[b][1] += amount

    @rule(hold_id=consumes(holds))
    def void(self, hold_id: str) -> None:
        if hold_id not in self.hold_state:
            return
        a, b, held = self.hold_state.pop(hold_id)
        self.call(ledger.void_hold(self.tree.actor, hold_id))
        self.model[a][2] -= held
        self.model[b][3] -= held

    @rule(i=st.integers(0, N - 1))
    def toggle_freeze(self, i: int) -> None:
        a = self.tree.accounts[i]
        if a in self.frozen:
            self.call(accounts.set_status(self.tree.actor, a, "unfreeze"))
            self.frozen.discard(a)
        else:
            self.call(accounts.set_status(self.tree.actor, a, "freeze"))
            self.frozen.add(a)

    @invariant()
    def balances_match_the_model(self) -> None:
        if not hasattr(self, "model"):
            return
        rows = self.call(
            sql.fetch(
                "SELECT id, debits_posted, credits_posted, debits_pending, credits_pending FROM account "
                "WHERE id = ANY($1::text[])",
                self.ids,
            )
        )
        actual = {
            r["id"]: [r["debits_posted"], r["credits_posted"], r["debits_pending"], r["credits_pending"]]
            for r in rows
        }
        assert actual == self.model

    def teardown(self) -> None:
        if hasattr(self, "model"):
            assert self.call(check_all()) == []


async def test_ledger_matches_the_in_memory_model(db: str) -> None:
    LedgerModel.loop = asyncio.get_running_loop()
    test_case = LedgerModel.TestCase
    test_case.settings = settings(
        max_examples=15, stateful_step_count=20, deadline=None, suppress_health_check=list(HealthCheck)
    )
    await asyncio.to_thread(lambda: test_case("runTest").runTest())
