"""The CSV fast path (rows formatted by PostgreSQL's COPY) is byte for byte the reference Python writer."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.domains.reports import rollup, services
from portal.lib import clock, sql
from portal.lib.ids import new_id
from portal.lib.timefmt import WIB
from tests.support.database import truncate_all
from tests.support.reports import make_tree, world_of

EPOCH = datetime(2026, 11, 1, tzinfo=WIB)
FIXED_NOW = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
HOSTILE = [
    "=1+1",
    "+x",
    "-2",
    "@SUM(A1)",
    "\tTab",
    "\rCR",
    'say "hi"',
    "a,b",
    "line\nbreak",
    "x\r\ny",
    "Pembayaran ✓ 東京 Ünïcödé",
    '"',
    ",",
    "\n",
    "'quoted",
    " lead space",
    "trail space ",
    "\\.",
    "ok",
]
text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12).filter(lambda s: "\x00" not in s))


@pytest.fixture(autouse=True)
def fixed_clock() -> object:
    clock.set_clock(lambda: FIXED_NOW)
    yield None
    clock.set_clock(None)


async def insert(
    business_id: str, debit: str, credit: str, amount: int, at: datetime, currency: str, words: tuple
) -> None:
    reference, description, kind = words
    async with sql.connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO transfer (id, business_id, debit_account_id, credit_account_id, amount, currency, "
            "phase, kind, reference, description, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, 'posted', $7, $8, $9, $10)",
            new_id("trf"),
            business_id,
            debit,
            credit,
            amount,
            currency,
            kind or "transfer",
            reference or None,
            description,
            at,
        )
        await conn.execute(
            "UPDATE account SET debits_posted = debits_posted + $2 WHERE id = $1", debit, amount
        )
        await conn.execute(
            "UPDATE account SET credits_posted = credits_posted + $2 WHERE id = $1", credit, amount
        )


async def both_files(r: services.StatementRequest) -> tuple[bytes, bytes]:
    async with services.snapshot(r, FIXED_NOW) as snap:
        fast = b"".join([c async for c in services.stream_chunks(snap, "csv")])
    async with services.snapshot(r, FIXED_NOW) as snap:
        reference = b"".join([c async for c in services.reference_chunks(snap, "csv")])
    return fast, reference


moves = st.lists(
    st.tuples(
        st.one_of(
            st.integers(0, 4 * 86_400_000_000 - 1),  # microseconds from EPOCH
            st.builds(lambda d, us: d * 86_400_000_000 + us, st.integers(1, 3), st.integers(-1_500_000, 999)),
        ),
        st.sampled_from(["in", "ab", "ba", "out"]),
        st.integers(1, 10**12),
        st.tuples(text, text, st.one_of(st.just(""), text)),
    ),
    max_size=20,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    history=moves,
    currency=st.sampled_from(["IDR", "USD"]),
    names=st.tuples(text.filter(bool), text.filter(bool)),
    subtree=st.booleans(),
    rolled=st.booleans(),
    days=st.tuples(st.integers(0, 3), st.integers(0, 3)),
)
async def test_fast_csv_is_byte_identical_to_the_python_writer(
    db: str,
    history: list[tuple[int, str, int, tuple]],
    currency: str,
    names: tuple[str, str],
    subtree: bool,
    rolled: bool,
    days: tuple[int, int],
) -> None:
    await truncate_all()
    t = await make_tree(2, currency=currency)
    a, b = t.accounts
    for account, name in zip((a, b), names, strict=True):
        await sql.execute("UPDATE account SET name = $2 WHERE id = $1", account, name)
    world = await world_of(t.business_id, currency)
    balance = {a: 0, b: 0, world: 0}
    booked: list[tuple[datetime, str, str]] = []
    for micros, what, amount, words in sorted(history):
        at = EPOCH + timedelta(microseconds=micros)
        debit, credit = {"in": (world, a), "ab": (a, b), "ba": (b, a), "out": (b, world)}[what]
        if debit != world and balance[debit] < amount:
            continue
        await insert(t.business_id, debit, credit, amount, at, currency, words)
        booked.append((at, debit, credit))
        balance[debit] -= amount
        balance[credit] += amount
    if rolled:
        await rollup.rollup_days(EPOCH + timedelta(days=2, minutes=20))
    first = (EPOCH + timedelta(days=min(days))).date()
    last = (EPOCH + timedelta(days=max(days))).date()
    r = await services.resolve(
        t.actor, t.main if subtree else a, start=first, end=last, include_descendants=subtree, fmt="csv"
    )
    fast, reference = await both_files(r)
    assert fast == reference
    rows = list(csv.reader(io.StringIO(fast.decode("utf-8-sig"), newline="")))
    assert rows[-1][0] == "Total"
    columns = next(i for i, row in enumerate(rows) if row and row[0] == "Date (WIB)")
    entries = rows[columns + 1 : -1]
    # a transfer between two accounts of a roll-up is one row (its Internal cell), never a debit and a
    # credit; each other transfer is one row per covered side
    covered = set(r.account_ids)
    in_period = [(d, c) for at, d, c in booked if first <= at.date() <= last]
    internal = sum(1 for d, c in in_period if d in covered and c in covered) if subtree else 0
    assert len(entries) == sum((d in covered) + (c in covered) for d, c in in_period) - internal
    if subtree:
        assert rows[columns][10] == "Internal"
        assert sum(1 for row in entries if row[10]) == internal
    else:
        assert "Internal" not in rows[columns]


async def test_hostile_cells_are_escaped_and_quoted_like_the_writer(db: str) -> None:
    t = await make_tree(1)
    (a,) = t.accounts
    world = await world_of(t.business_id)
    for i, word in enumerate(HOSTILE):
        await insert(
            t.business_id, world, a, 1_000 + i, EPOCH + timedelta(hours=i), "IDR", (word, word, word)
        )
    r = await services.resolve(
        t.actor, a, start=EPOCH.date(), end=EPOCH.date() + timedelta(days=1), fmt="csv"
    )
    fast, reference = await both_files(r)
    assert fast == reference
    rows = list(csv.reader(io.StringIO(fast.decode("utf-8-sig"), newline="")))
    descriptions = [row[3] for row in rows[19:-1]]
    assert descriptions[:5] == ["'=1+1", "'+x", "'-2", "'@SUM(A1)", "'\tTab"]
    assert "line\nbreak" in descriptions and 'say "hi"' in descriptions


async def test_background_csv_export_uses_the_fast_path(db: str, tmp_path: object) -> None:
    from pathlib import Path

    t = await make_tree(1)
    (a,) = t.accounts
    world = await world_of(t.business_id)
    for i in range(30):
        await insert(t.business_id, world, a, 10 + i, EPOCH + timedelta(minutes=i), "IDR", ("r", "x\ny", ""))
    r = await services.resolve(t.actor, a, start=EPOCH.date(), end=EPOCH.date(), fmt="csv")
    target = Path(str(tmp_path)) / "s.csv"
    done: list[int] = []

    async def progress(n: int) -> None:
        done.append(n)

    async with services.snapshot(r, FIXED_NOW) as snap:
        size = await services.write_file(snap, "csv", target, on_batch=progress)
    _, reference = await both_files(r)
    assert target.read_bytes() == reference and size == len(reference)
