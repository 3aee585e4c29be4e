"""Statement test data: deterministic generated statements whose lines are produced lazily (never a list)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from portal.domains.reports.formats.model import StatementHeader, StatementLine

KINDS = ("transfer", "topup", "fee", "withdrawal", "hold_post", "reversal")
GENERATED_AT = datetime(2026, 12, 1, 1, 2, 3, tzinfo=UTC)


@dataclass(frozen=True)
class GeneratedStatement:
    """A header plus a way to produce its lines again and again without storing them."""

    header: StatementHeader
    make_lines: Callable[[], Iterator[StatementLine]]


def generate_statement(
    count: int,
    *,
    currency: str = "IDR",
    opening: int = 1_500_000,
    seed: int = 7,
    include_descendants: bool = False,
    start: date = date(2026, 11, 1),
    end: date = date(2026, 11, 30),
) -> GeneratedStatement:
    """A statement of `count` generated lines booked between `start` and `end` (WIB), balance never < 0."""
    # Spread the bookings over the period in UTC: 00:00 WIB of `start` is 17:00 UTC the day before.
    first = datetime(start.year, start.month, start.day, tzinfo=UTC) - timedelta(hours=7)
    span = (end - start).days + 1
    step = timedelta(days=span) / max(count, 1)

    def lines() -> Iterator[StatementLine]:
        rng = random.Random(seed)
        balance = opening
        for i in range(count):
            kind = KINDS[i % len(KINDS)]
            amount = rng.randint(1, 5_000_000 if currency == "IDR" else 500_000)
            credit = kind in ("topup", "reversal") or balance < amount or rng.random() < 0.5
            balance += amount if credit else -amount
            account = f"acc_sub{i % 3}" if include_descendants else "acc_main"
            yield StatementLine(
                booked_at=first + step * i,
                transaction_id=f"trf_{seed:04d}{i:022d}",
                reference=f"REF-{i:07d}",
                description=f"Generated {kind} number {i}",
                account_id=account,
                account_name=f"Account {account}",
                counterpart_account_id=f"acc_cp{i % 5}",
                counterpart_name=f"Counterpart {i % 5}",
                debit=0 if credit else amount,
                credit=amount if credit else 0,
                running_balance=balance,
                kind=kind,
            )

    debits = credits = n = 0
    for line in lines():
        debits += line.debit
        credits += line.credit
        n += 1
    header = StatementHeader(
        business_name="PT Maju Bersama",
        account_id="acc_main",
        account_name="Main account",
        account_number="",
        currency=currency,
        period_start=start,
        period_end=end,
        opening_balance=opening,
        closing_balance=opening + credits - debits,
        total_debits=debits,
        total_credits=credits,
        entry_count=n,
        generated_at=GENERATED_AT,
        include_descendants=include_descendants,
    )
    return GeneratedStatement(header, lines)


def line(
    booked_at: datetime,
    *,
    debit: int = 0,
    credit: int = 0,
    running_balance: int,
    description: str = "Payment",
    reference: str = "REF-1",
    transaction_id: str = "trf_01JD4X2Q9TPV7ZK8M3N5B6C7D8",
    kind: str = "transfer",
    counterpart_name: str = "Warung Sejahtera",
    counterpart_account_id: str = "acc_01JD4X2Q9TPV7ZK8M3N5B6C7CP",
    account_id: str = "acc_main",
    account_name: str = "Main account",
) -> StatementLine:
    """One hand-written statement line (keyword arguments for what the test cares about)."""
    return StatementLine(
        booked_at=booked_at,
        transaction_id=transaction_id,
        reference=reference,
        description=description,
        account_id=account_id,
        account_name=account_name,
        counterpart_account_id=counterpart_account_id,
        counterpart_name=counterpart_name,
        debit=debit,
        credit=credit,
        running_balance=running_balance,
        kind=kind,
    )


def header_for(
    lines: list[StatementLine],
    *,
    opening: int = 0,
    currency: str = "IDR",
    start: date = date(2026, 11, 1),
    end: date = date(2026, 11, 30),
    business_name: str = "PT Maju Bersama",
    account_name: str = "Main account",
    include_descendants: bool = False,
) -> StatementHeader:
    """The header that matches a small hand-written list of lines."""
    debits = sum(ln.debit for ln in lines)
    credits = sum(ln.credit for ln in lines)
    return StatementHeader(
        business_name=business_name,
        account_id="acc_main",
        account_name=account_name,
        account_number="",
        currency=currency,
        period_start=start,
        period_end=end,
        opening_balance=opening,
        closing_balance=opening + credits - debits,
        total_debits=debits,
        total_credits=credits,
        entry_count=len(lines),
        generated_at=GENERATED_AT,
        include_descendants=include_descendants,
    )


def chain(opening: int, specs: list[tuple[datetime, int, str]]) -> list[StatementLine]:
    """Lines from (booked_at, signed amount, description) with running balances from `opening`."""
    out = []
    balance = opening
    for i, (when, amount, description) in enumerate(specs):
        balance += amount
        out.append(
            line(
                when,
                debit=-amount if amount < 0 else 0,
                credit=amount if amount > 0 else 0,
                running_balance=balance,
                description=description,
                reference=f"REF-{i}",
                transaction_id=f"trf_01JD4X2Q9TPV7ZK8M3N5B6C{i:03d}",
            )
        )
    return out
