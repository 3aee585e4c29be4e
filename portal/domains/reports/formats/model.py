"""The statement every export format is written from.

A statement is a `StatementHeader` plus an iterable of `StatementLine`s in booking order. The writers never
hold the lines in a list: they consume the iterable once and check, as they go, that the lines agree with
the header (`StatementChecker`). Amounts are integers in minor units; they become decimal strings only at
the file edge, through `Decimal` (never floats).

Running balance: `running_balance` of a line is the statement's balance after that line, so
`previous balance + credit - debit == running_balance`, starting from `opening_balance` and ending at
`closing_balance`. On a subtree roll-up (`include_descendants`) it is the balance of the whole subtree.

Internal transfers (`nets_internal`): the CSV, XLSX and PDF files of a roll-up list a transfer between
two of its accounts once, as a line with `internal` set (from `account_id` to `counterpart_account_id`)
and neither debit nor credit, so it leaves the running balance as it is; the header's debits and credits
are then what went out to and came in from outside, and `internal_total`/`internal_count` what moved
between the accounts (`StatementHeader.netted`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")
TIMEZONE_NAME = "Asia/Jakarta"

# ISO 4217 minor-unit exponents of the currencies Neraca holds.
CURRENCY_EXPONENTS: dict[str, int] = {"IDR": 0, "USD": 2, "SGD": 2}


class BytesSink(Protocol):
    """A binary file object, or anything else with `write(bytes)`."""

    def write(self, data: bytes, /) -> object:
        """Write `data`."""
        ...


class StatementExportError(Exception):
    """Base class of the errors the statement writers raise."""


class StatementTooLarge(StatementExportError):
    """The statement has more lines than the format can hold (PDF has a cap)."""

    def __init__(self, limit: int, fmt: str) -> None:
        super().__init__(
            f"A {fmt} statement holds at most {limit:,} entries; choose a shorter period or CSV/XLSX."
        )
        self.limit = limit
        self.format = fmt


class StatementMismatch(StatementExportError):
    """The lines do not add up to the header (totals, count, running or closing balance)."""


def exponent(currency: str) -> int:
    """Minor-unit exponent of `currency` (IDR 0, USD/SGD 2); `ValueError` for other currencies."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"unsupported currency {currency!r}") from None


def to_major(amount: int, currency: str) -> Decimal:
    """Minor units as a `Decimal` in major units with exactly the currency's decimals (12345 USD → 123.45)."""
    return Decimal(amount).scaleb(-exponent(currency))


def format_plain(amount: int, currency: str) -> str:
    """Plain decimal string for machine formats: no separators, `.` decimals only for 2-decimal currencies."""
    if CURRENCY_EXPONENTS.get(currency) == 0:
        return str(amount)  # the same text as Decimal formatting, without the Decimal (hot path)
    return format(to_major(amount, currency), "f")


def format_swift(amount: int, currency: str) -> str:
    """SWIFT MT amount of an absolute value: comma decimal mark, always present (`1500000,`, `12,50`)."""
    if amount < 0:
        raise ValueError("SWIFT amounts are unsigned; pass the absolute value and a C/D mark")
    exp = exponent(currency)
    if exp == 0:
        return f"{amount},"
    whole, frac = divmod(amount, 10**exp)
    return f"{whole},{frac:0{exp}d}"


# Asia/Jakarta has been UTC+7 without daylight saving since 1964: a fixed offset converts the same,
# several times faster than the zoneinfo lookup (statements convert every line's time).
_WIB_FIXED = timezone(timedelta(hours=7), "WIB")
_FIXED_SINCE = datetime(1970, 1, 1, tzinfo=UTC)


def to_wib(value: datetime) -> datetime:
    """An aware datetime in Asia/Jakarta time (WIB); naive datetimes are refused."""
    if value.tzinfo is None:
        raise ValueError("naive datetime; statement times must be timezone-aware")
    if value >= _FIXED_SINCE:
        return value.astimezone(_WIB_FIXED)
    return value.astimezone(WIB)


def wib_text(value: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS` wall time in WIB."""
    return to_wib(value).replace(tzinfo=None).isoformat(" ", "seconds")


def short_id(value: str, max_len: int, prefix: str = "NRC") -> str:
    """`value` if it fits in `max_len`, else `prefix` + a hash of it, `max_len` chars long (deterministic)."""
    if len(value) <= max_len:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest().upper()
    return (prefix + digest)[:max_len]


@dataclass(frozen=True, slots=True)
class StatementHeader:
    """What a statement is about and its totals, known before the first line is written."""

    business_name: str
    account_id: str
    account_name: str
    account_number: str
    currency: str
    period_start: date
    period_end: date  # inclusive
    opening_balance: int
    closing_balance: int
    total_debits: int
    total_credits: int
    entry_count: int
    generated_at: datetime
    include_descendants: bool = False
    statement_id: str = ""
    timezone: str = TIMEZONE_NAME
    # a roll-up whose internal transfers are lines of their own (see the module's docstring)
    nets_internal: bool = False
    internal_total: int = 0
    internal_count: int = 0

    def __post_init__(self) -> None:
        exponent(self.currency)
        if self.generated_at.tzinfo is None:
            raise ValueError("generated_at must be timezone-aware")
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        if min(self.total_debits, self.total_credits, self.entry_count, self.internal_total) < 0:
            raise ValueError("totals and entry count are never negative")
        if self.internal_count < 0 or (self.internal_count and not self.nets_internal):
            raise ValueError("internal transfers are counted only on a statement that nets them")
        if self.opening_balance + self.total_credits - self.total_debits != self.closing_balance:
            raise StatementMismatch(
                f"opening {self.opening_balance} + credits {self.total_credits} - debits "
                f"{self.total_debits} != closing {self.closing_balance}"
            )
        if not self.account_number:
            object.__setattr__(self, "account_number", self.account_id)
        if not self.statement_id:
            object.__setattr__(
                self,
                "statement_id",
                f"stmt_{self.account_id}_{self.period_start.isoformat()}_{self.period_end.isoformat()}",
            )

    def netted(self, internal_total: int, internal_count: int) -> StatementHeader:
        """This roll-up's header with its internal transfers shown once: `internal_count` transfers of
        `internal_total` between its own accounts leave the debits and credits (each was one of both)
        and become one entry each instead of two."""
        if not self.include_descendants:
            raise ValueError("only a roll-up has internal transfers")
        return replace(
            self,
            total_debits=self.total_debits - internal_total,
            total_credits=self.total_credits - internal_total,
            entry_count=self.entry_count - internal_count,
            nets_internal=True,
            internal_total=internal_total,
            internal_count=internal_count,
        )

    @property
    def exponent(self) -> int:
        """Minor-unit exponent of the statement currency."""
        return exponent(self.currency)

    @property
    def period_start_wib(self) -> datetime:
        """First instant of the period (00:00 WIB of `period_start`)."""
        return datetime.combine(self.period_start, datetime.min.time(), tzinfo=WIB)

    @property
    def period_end_wib(self) -> datetime:
        """Last whole second of the period (23:59:59 WIB of `period_end`)."""
        return datetime.combine(self.period_end, datetime.min.time(), tzinfo=WIB) + timedelta(
            days=1, seconds=-1
        )


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One booked entry on the statement, from the point of view of `account_id`."""

    booked_at: datetime
    transaction_id: str
    reference: str
    description: str
    account_id: str
    account_name: str
    counterpart_account_id: str
    counterpart_name: str
    debit: int
    credit: int
    running_balance: int
    kind: str
    # the amount of a transfer between two accounts of a netted roll-up (then debit and credit are 0)
    internal: int = 0

    def __post_init__(self) -> None:
        if self.booked_at.tzinfo is None:
            raise ValueError(f"{self.transaction_id}: booked_at must be timezone-aware")
        if self.internal:
            if self.internal < 0 or self.debit or self.credit:
                raise ValueError(f"{self.transaction_id}: an internal line has neither debit nor credit")
        elif self.debit < 0 or self.credit < 0 or (self.debit > 0) == (self.credit > 0):
            raise ValueError(f"{self.transaction_id}: exactly one of debit/credit must be > 0")

    @property
    def amount(self) -> int:
        """Signed amount: credit positive, debit negative."""
        return self.credit - self.debit

    @property
    def is_credit(self) -> bool:
        """True for money coming into the account."""
        return self.credit > 0


class StatementChecker:
    """Follows the lines as a writer streams them and raises `StatementMismatch` when they disagree with
    the header: each running balance must follow from the previous one, and at the end the count,
    totals and closing balance must be the header's."""

    __slots__ = ("balance", "count", "credits", "debits", "header", "internal", "internal_count")

    def __init__(self, header: StatementHeader) -> None:
        self.header = header
        self.balance = header.opening_balance
        self.count = 0
        self.debits = 0
        self.credits = 0
        self.internal = 0
        self.internal_count = 0

    def add(self, line: StatementLine) -> StatementLine:
        """Account for one line; returns it so a writer can use this inside a loop expression."""
        self.count += 1
        day = to_wib(line.booked_at).date()
        if not self.header.period_start <= day <= self.header.period_end:
            raise StatementMismatch(
                f"line {self.count} ({line.transaction_id}): booked on {day} (WIB), outside the period"
            )
        if line.internal:
            if not self.header.nets_internal:
                raise StatementMismatch(
                    f"line {self.count} ({line.transaction_id}): an internal line on a statement that "
                    "lists both sides of its transfers"
                )
            self.internal += line.internal
            self.internal_count += 1
        self.debits += line.debit
        self.credits += line.credit
        self.balance += line.credit - line.debit
        if line.running_balance != self.balance:
            raise StatementMismatch(
                f"line {self.count} ({line.transaction_id}): running balance {line.running_balance} "
                f"!= {self.balance} expected"
            )
        return line

    def finish(self) -> None:
        """Check the count and totals once the last line has been written."""
        h = self.header
        got = (self.count, self.debits, self.credits, self.balance, self.internal, self.internal_count)
        if got != (
            h.entry_count,
            h.total_debits,
            h.total_credits,
            h.closing_balance,
            h.internal_total,
            h.internal_count,
        ):
            raise StatementMismatch(
                f"lines give count={self.count} debits={self.debits} credits={self.credits} "
                f"closing={self.balance} internal={self.internal}/{self.internal_count}; header says "
                f"count={h.entry_count} debits={h.total_debits} credits={h.total_credits} "
                f"closing={h.closing_balance} internal={h.internal_total}/{h.internal_count}"
            )


def checked(header: StatementHeader, lines: Iterable[StatementLine]) -> Iterator[StatementLine]:
    """Yield the lines one by one, checking them against the header (see `StatementChecker`)."""
    checker = StatementChecker(header)
    for line in lines:
        yield checker.add(line)
    checker.finish()
