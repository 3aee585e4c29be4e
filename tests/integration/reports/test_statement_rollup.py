"""The per-day rollup (`statement_day_total`): statements computed from it equal the scan of the transfers,
whether the rollup is current, behind, mid-period or has never run."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.domains.reports import jobs, rollup, services
from portal.lib import clock, sql
from portal.lib.ids import new_id
from portal.lib.timefmt import WIB
from tests.support.database import truncate_all
from tests.support.reports import book, make_tree, world_of

EPOCH = datetime(2026, 11, 1, tzinfo=WIB)  # 00:00 WIB
DAYS = 7
FIXED_NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fixed_clock() -> object:
    clock.set_clock(lambda: FIXED_NOW)
    yield None
    clock.set_clock(None)


async def hold_leg(business_id: str, debit: str, credit: str, amount: int, at: datetime, phase: str) -> None:
    """A hold's transfer: `pending` is never an entry nor in the rollup; `post_pending` (the hold
    posted) is a posted movement like any other."""
    await sql.execute(
        "INSERT INTO transfer (id, business_id, debit_account_id, credit_account_id, amount, currency, "
        "phase, released_amount, hold_id, kind, description, created_at) "
        "VALUES ($1, $2, $3, $4, $5, 'IDR', $6, $7, $8, 'transfer', '', $9)",
        new_id("trf"),
        business_id,
        debit,
        credit,
        amount,
        phase,
        amount if phase == "post_pending" else 0,
        new_id("hld"),
        at,
    )
    if phase == "post_pending":
        await sql.execute(
            "UPDATE account SET debits_posted = debits_posted + $2 WHERE id = $1", debit, amount
        )
        await sql.execute(
            "UPDATE account SET credits_posted = credits_posted + $2 WHERE id = $1", credit, amount
        )


async def both_ways(r: services.StatementRequest) -> tuple[services.PeriodTotals, services.PeriodTotals]:
    async with services.snapshot(r, FIXED_NOW) as snap:
        fast = await services._period_totals(snap.conn, r)
        scanned = await services.scanned_period_totals(snap.conn, r)
        h = snap.header
        assert h.opening_balance == scanned.posted_now - scanned.after_net - (
            scanned.credits - scanned.debits
        )
        assert (h.entry_count, h.total_debits, h.total_credits) == (
            scanned.entries,
            scanned.debits,
            scanned.credits,
        )
        return fast, scanned


# (second offset from EPOCH, what, amount): seconds cluster around WIB midnights half of the time.
moment = st.one_of(
    st.integers(0, DAYS * 86_400 - 1),
    st.builds(lambda d, s: d * 86_400 + s, st.integers(1, DAYS - 1), st.integers(-2, 1)),
)
moves = st.lists(
    st.tuples(moment, st.sampled_from(["in", "ab", "ba", "out", "hold", "post"]), st.integers(1, 9_999)),
    max_size=30,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    history=moves,
    rolled_until=st.lists(st.integers(-1, DAYS + 1), max_size=2),
    chunk=st.integers(1, 3),
    start_day=st.integers(0, DAYS - 1),
    length=st.integers(1, DAYS),
    subtree=st.booleans(),
)
async def test_rollup_totals_equal_the_scan_for_random_histories_and_periods(
    db: str,
    history: list[tuple[int, str, int]],
    rolled_until: list[int],
    chunk: int,
    start_day: int,
    length: int,
    subtree: bool,
) -> None:
    await truncate_all()
    t = await make_tree(2)
    a, b = t.accounts
    world = await world_of(t.business_id)
    balance = {a: 0, b: 0, world: 0}
    for second, what, amount in sorted(history):
        at = EPOCH + timedelta(seconds=second)
        debit, credit = {"in": (world, a), "ab": (a, b), "ba": (b, a), "out": (b, world)}.get(what, (a, b))
        if debit != world and balance[debit] < amount:
            continue  # no overdrafts
        if what == "hold":
            await hold_leg(t.business_id, debit, credit, amount, at, "pending")
            continue
        if what == "post":
            await hold_leg(t.business_id, debit, credit, amount, at, "post_pending")
        else:
            await book(t.business_id, debit, credit, amount, at, kind="fee" if what == "ba" else "transfer")
        balance[debit] -= amount
        balance[credit] += amount
    # The rollup has closed the days before a random day (or never ran), possibly in two steps, in
    # chunks of 1-3 days; each run's "now" is `SAFETY_MARGIN` after that day starts.
    for day in sorted(rolled_until):
        now = EPOCH + timedelta(days=day) + rollup.SAFETY_MARGIN
        await rollup.rollup_days(now, chunk_days=chunk)
        await rollup.rollup_days(now, chunk_days=chunk)  # re-running changes nothing
    first = (EPOCH + timedelta(days=start_day)).date()
    last = min(first + timedelta(days=length - 1), (EPOCH + timedelta(days=DAYS - 1)).date())
    root = t.main if subtree else a
    r = await services.resolve(t.actor, root, start=first, end=last, include_descendants=subtree)
    fast, scanned = await both_ways(r)
    assert (fast.posted_now, fast.entries, fast.debits, fast.credits, fast.after_net) == (
        scanned.posted_now,
        scanned.entries,
        scanned.debits,
        scanned.credits,
        scanned.after_net,
    )


async def test_days_close_only_after_the_safety_margin(db: str) -> None:
    t = await make_tree(1)
    (a,) = t.accounts
    world = await world_of(t.business_id)
    await book(t.business_id, world, a, 100, EPOCH + timedelta(hours=23, minutes=59, seconds=59))
    await book(t.business_id, world, a, 200, EPOCH + timedelta(days=1))
    midnight = EPOCH + timedelta(days=1)
    assert await rollup.rollup_days(midnight + timedelta(minutes=14)) == EPOCH.date()  # nothing closed
    assert await sql.fetchval("SELECT count(*) FROM statement_day_total") == 0
    assert await rollup.rollup_days(midnight + rollup.SAFETY_MARGIN) == date(2026, 11, 2)
    rows = await sql.fetch("SELECT account_id, day, debits, credits, entries FROM statement_day_total")
    assert sorted(tuple(r) for r in rows) == sorted(
        [(a, date(2026, 11, 1), 0, 100, 1), (world, date(2026, 11, 1), 100, 0, 1)]
    )


async def test_an_open_transaction_holds_the_watermark_back(db: str) -> None:
    from portal.db.piccolo_conf import DB

    t = await make_tree(1)
    (a,) = t.accounts
    world = await world_of(t.business_id)
    await book(t.business_id, world, a, 100, EPOCH)
    assert DB.pool is not None
    async with DB.pool.acquire() as other, other.transaction():
        started = await other.fetchval("SELECT now()")  # a transaction that could still book at `started`
        mark = await rollup.rollup_days(datetime.now(UTC) + timedelta(days=3))
        assert mark is not None and mark <= started.astimezone(WIB).date()
    mark = await rollup.rollup_days(datetime.now(UTC) + timedelta(days=3))
    assert mark is not None and mark > started.astimezone(WIB).date()


async def test_job_rolls_up_and_the_sweep_is_registered(db: str) -> None:
    from portal.lib.jobs import PERIODIC

    t = await make_tree(1)
    (a,) = t.accounts
    world = await world_of(t.business_id)
    await book(t.business_id, world, a, 100, EPOCH)
    await jobs.rollup_days({})
    assert await rollup.watermark() == rollup.closable_before(FIXED_NOW)
    sweep = PERIODIC["reports.jobs.rollup_sweep"]
    assert sweep.cron == "*/5 * * * *"
    # A statement's kick queues one run per slot, however many statements see the watermark behind.
    assert await rollup.schedule() is True
    assert await rollup.schedule() is False
    queued = await sql.fetchval("SELECT count(*) FROM pgqueuer WHERE entrypoint = $1", rollup.JOB)
    assert queued == 1
