"""Statement computation against PostgreSQL: balances across period boundaries, order, determinism."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.domains.ledger.invariants import check_all
from portal.domains.reports import services
from portal.domains.reports.formats import write_statement_csv
from portal.lib import clock
from portal.lib.errors import NotFound, ValidationFailed
from portal.lib.timefmt import WIB
from tests.support.database import truncate_all
from tests.support.reports import book, make_tree, owner, world_of

FIXED_NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)  # 11:00 WIB


@pytest.fixture(autouse=True)
def fixed_clock() -> object:
    clock.set_clock(lambda: FIXED_NOW)
    yield None
    clock.set_clock(None)


def wib(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=WIB)


async def all_lines(r: services.StatementRequest, generated_at: datetime = FIXED_NOW) -> tuple[object, list]:
    async with services.snapshot(r, generated_at) as snap:
        lines = [line async for batch in snap.batches(size=7) for line in batch]
        return snap.header, lines


async def test_opening_movements_closing_across_month_boundary_in_wib(db: str) -> None:
    t = await make_tree(2)
    a, b = t.accounts
    world = await world_of(t.business_id)
    await book(t.business_id, world, a, 100_000, wib(2026, 10, 31, 23, 59, 59))  # October in WIB
    await book(t.business_id, world, a, 50_000, wib(2026, 11, 1, 0, 0, 0))  # first instant of November
    await book(t.business_id, a, b, 30_000, wib(2026, 11, 15, 12), kind="transfer", description="rent")
    await book(t.business_id, a, world, 6_000, wib(2026, 11, 15, 12), kind="fee", description="fee")
    await book(t.business_id, world, a, 1_000, wib(2026, 12, 1, 0, 0, 0))  # December: not in November
    clock.set_clock(lambda: datetime(2026, 12, 5, tzinfo=UTC))
    r = await services.resolve(t.actor, a, start="2026-11-01", end="2026-11-30")
    header, lines = await all_lines(r)
    assert header.opening_balance == 100_000
    assert header.total_credits == 50_000 and header.total_debits == 36_000
    assert header.closing_balance == 114_000 == header.opening_balance + 50_000 - 36_000
    assert [line.kind for line in lines] == ["transfer", "transfer", "fee"]
    assert [line.running_balance for line in lines] == [150_000, 120_000, 114_000]
    assert lines[2].debit == 6_000 and lines[2].counterpart_account_id == world
    # The month of December starts where November closed.
    dec = await services.resolve(t.actor, a, start="2026-12-01", end="2026-12-04")
    dec_header, _ = await all_lines(dec)
    assert dec_header.opening_balance == header.closing_balance
    assert await check_all() == []


async def test_subtree_rollup_carries_each_account_and_nets_internal_moves(db: str) -> None:
    t = await make_tree(2)
    a, b = t.accounts
    world = await world_of(t.business_id)
    await book(t.business_id, world, a, 10_000, wib(2026, 11, 2, 9))
    await book(t.business_id, a, b, 4_000, wib(2026, 11, 3, 9))
    r = await services.resolve(
        t.actor, t.main, start="2026-11-01", end="2026-11-21", include_descendants=True
    )
    header, lines = await all_lines(r)
    assert header.opening_balance == 0 and header.closing_balance == 10_000
    assert [(line.account_id, line.debit, line.credit) for line in lines] == [
        (a, 0, 10_000),
        (a, 4_000, 0),
        (b, 0, 4_000),
    ]
    assert [line.running_balance for line in lines] == [10_000, 6_000, 10_000]


async def test_pending_holds_are_not_entries(db: str) -> None:
    from portal.domains.ledger import services as ledger
    from tests.support.ledger import fund

    clock.set_clock(None)
    t = await make_tree(2)
    a, b = t.accounts
    await fund(t.business_id, a, 20_000)
    await ledger.create_hold(t.actor, from_account_id=a, to_account_id=b, amount=5_000, reference="H-1")
    today = services.today_wib()
    r = await services.resolve(t.actor, a, start=today, end=today)
    header, lines = await all_lines(r, datetime.now(UTC))
    assert header.entry_count == 1 and header.closing_balance == 20_000
    assert [line.credit for line in lines] == [20_000]


async def test_same_period_twice_is_byte_identical(db: str) -> None:
    t = await make_tree(1)
    a = t.accounts[0]
    world = await world_of(t.business_id)
    for i in range(30):
        await book(t.business_id, world, a, 1_000 + i, wib(2026, 11, 1 + i % 20, 10))
    r = await services.resolve(t.actor, a, start="2026-11-01", end="2026-11-21")
    files = []
    for _ in range(2):
        header, lines = await all_lines(r, datetime(2026, 11, 22, tzinfo=UTC))
        buf = io.BytesIO()
        write_statement_csv(header, lines, buf)
        files.append(buf.getvalue())
    assert files[0] == files[1] and files[0].count(b"\r\n") > 30


@pytest.mark.parametrize(
    ("start", "end", "fmt", "code", "pointer"),
    [
        ("2026-11-23", "2026-11-23", "csv", "period_in_future", "/start"),
        ("2026-11-01", "2026-12-31", "csv", "period_in_future", "/end"),
        ("2026-11-10", "2026-11-01", "csv", "invalid_period", "/start"),
        ("2026-13-01", "2026-11-01", "csv", "invalid_period", "/start"),
        ("", "2026-11-01", "csv", "invalid_period", "/start"),
        ("2025-01-01", "2026-11-01", "xlsx", "period_too_long", "/end"),
        ("2025-01-01", "2026-11-01", "mt940", "period_too_long", "/end"),
        ("2026-11-01", "2026-11-02", "docx", "unknown_format", "/format"),
    ],
)
async def test_bad_input_is_refused_with_a_specific_error(
    db: str, start: str, end: str, fmt: str, code: str, pointer: str
) -> None:
    t = await make_tree(1)
    with pytest.raises(ValidationFailed) as caught:
        await services.resolve(t.actor, t.accounts[0], start=start, end=end, fmt=fmt)
    assert caught.value.code == code
    assert caught.value.errors[0].pointer == pointer


async def test_csv_may_cover_more_than_366_days(db: str) -> None:
    t = await make_tree(1)
    r = await services.resolve(t.actor, t.accounts[0], start="2024-01-01", end="2026-11-21", fmt="csv")
    assert r.start == date(2024, 1, 1)


async def test_other_business_and_sibling_subtree_are_not_found(db: str) -> None:
    t = await make_tree(2)
    other = await make_tree(1)
    with pytest.raises(NotFound):
        await services.resolve(other.actor, t.accounts[0], start="2026-11-01", end="2026-11-02")
    scoped = owner(t.business_id, scope=t.accounts[0])
    with pytest.raises(NotFound):
        await services.resolve(scoped, t.accounts[1], start="2026-11-01", end="2026-11-02")
    with pytest.raises(NotFound):
        await services.resolve(scoped, t.main, start="2026-11-01", end="2026-11-02", include_descendants=True)
    ok = await services.resolve(scoped, t.accounts[0], start="2026-11-01", end="2026-11-02")
    assert ok.account_ids == (t.accounts[0],)


async def test_pages_continue_the_running_balance_and_cursor_is_tamper_proof(db: str) -> None:
    t = await make_tree(1)
    a = t.accounts[0]
    world = await world_of(t.business_id)
    for i in range(12):
        await book(t.business_id, world, a, 100, wib(2026, 11, 3, 10, i))
    r = await services.resolve(t.actor, a, start="2026-11-01", end="2026-11-21")
    seen = []
    after = None
    while True:
        page = await services.statement_page(r, limit=5, after=after)
        seen.extend(line.running_balance for line in page.lines)
        if not page.has_more:
            break
        after = page.next_cursor
    assert seen == [100 * (i + 1) for i in range(12)]
    first = await services.statement_page(r, limit=5)
    assert first.next_cursor is not None
    tampered = first.next_cursor[:-3] + ("AAA" if not first.next_cursor.endswith("AAA") else "BBB")
    with pytest.raises(ValidationFailed):
        await services.statement_page(r, limit=5, after=tampered)
    other = await services.resolve(t.actor, a, start="2026-11-02", end="2026-11-21")
    with pytest.raises(ValidationFailed):
        await services.statement_page(other, limit=5, after=first.next_cursor)


# --- random histories ------------------------------------------------------------------------------

EPOCH = wib(2026, 10, 1)
moves = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=45 * 24 * 60 - 1),  # minute offset from EPOCH (Oct 1 .. Nov 14)
        st.sampled_from(["in", "out", "ab", "ba", "fee"]),
        st.integers(min_value=1, max_value=50_000),
    ),
    max_size=25,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=moves, start_day=st.integers(0, 40), length=st.integers(1, 8))
async def test_random_histories_opening_plus_movements_is_closing(
    db: str, history: list[tuple[int, str, int]], start_day: int, length: int
) -> None:
    await truncate_all()
    t = await make_tree(2)
    a, b = t.accounts
    world = await world_of(t.business_id)
    fees = await services.accounts.system_account_id(t.business_id, "IDR", "fees")
    balances = {a: 0, b: 0}
    booked: list[tuple[datetime, int]] = []  # (time, signed amount for a)
    for minute, what, amount in sorted(history):
        at = EPOCH + timedelta(minutes=minute)
        if what == "in":
            await book(t.business_id, world, a, amount, at)
            balances[a] += amount
            booked.append((at, amount))
        elif what in ("out", "fee", "ab") and balances[a] >= amount:
            target = {"out": world, "fee": fees, "ab": b}[what]
            await book(t.business_id, a, target, amount, at, kind="fee" if what == "fee" else "transfer")
            balances[a] -= amount
            if what == "ab":
                balances[b] += amount
            booked.append((at, -amount))
        elif what == "ba" and balances[b] >= amount:
            await book(t.business_id, b, a, amount, at)
            balances[b] -= amount
            balances[a] += amount
            booked.append((at, amount))
    first = (EPOCH + timedelta(days=start_day)).date()
    last = first + timedelta(days=length - 1)
    r = await services.resolve(t.actor, a, start=first, end=last)
    header, lines = await all_lines(r)
    begin, stop = services.wib_midnight(first), services.wib_midnight(last + timedelta(days=1))
    assert header.opening_balance == sum(v for at, v in booked if at < begin)
    in_period = [v for at, v in booked if begin <= at < stop]
    assert header.total_credits == sum(v for v in in_period if v > 0)
    assert header.total_debits == -sum(v for v in in_period if v < 0)
    assert header.closing_balance == header.opening_balance + header.total_credits - header.total_debits
    assert len(lines) == header.entry_count == len(in_period)
    running = header.opening_balance
    for line in lines:
        running += line.credit - line.debit
        assert line.running_balance == running
    assert running == header.closing_balance
    assert await check_all() == []
