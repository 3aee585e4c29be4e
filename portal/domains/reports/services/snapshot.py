"""What a statement is about (`StatementRequest`, `resolve`) and the one REPEATABLE READ snapshot its
header and entries are read in (`snapshot`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from portal.db import replica
from portal.domains.accounts import services as accounts
from portal.domains.accounts.services import AccountRow
from portal.domains.reports import rollup
from portal.domains.reports import sql as q
from portal.domains.reports.formats import StatementHeader, StatementLine
from portal.domains.reports.services.periods import validate_format, validate_period, wib_midnight
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import NotFound

# Entries fetched from the server-side cursor per round trip.
FETCH_BATCH = 5_000
# Files of a roll-up that list an internal transfer once (MT940 and camt.053 book each side on its
# account; the JSON pages list both sides too and the screen merges them).
NETTED_FORMATS = frozenset({"csv", "xlsx", "pdf"})


@dataclass(frozen=True)
class StatementRequest:
    """A validated statement request: the root account, the accounts it covers, the period."""

    business_id: str
    business_name: str
    account: AccountRow
    account_ids: tuple[str, ...]
    names: dict[str, str]
    start: date
    end: date
    include_descendants: bool
    # sub-accounts left out of a roll-up because they hold another currency
    other_currency_accounts: int = 0

    @property
    def currency(self) -> str:
        return self.account.currency

    @property
    def start_at(self) -> datetime:
        return wib_midnight(self.start)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (00:00 WIB of the day after `end`)."""
        return wib_midnight(self.end + timedelta(days=1))

    def identity(self) -> str:
        return f"{self.account.id}|{self.start}|{self.end}|{int(self.include_descendants)}"


async def _business_name(business_id: str) -> str:
    from portal.domains.identity.services import get_business

    try:
        return (await get_business(business_id)).name
    except NotFound:
        return business_id


async def resolve(
    actor: Actor,
    account_id: str,
    *,
    start: date | str | None,
    end: date | str | None,
    include_descendants: bool = False,
    fmt: str = "json",
) -> StatementRequest:
    """Check rights, scope (404 outside it), format and period; nothing is started."""
    actor.require("reports", "view")
    fmt = validate_format(fmt)
    account = await accounts.get_account_row(actor, account_id, pointer="/account_id")
    first, last = validate_period(start, end, fmt)
    names = {account.id: account.name}
    ids = [account.id]
    other = 0
    if include_descendants:
        for row in await sql.fetch(q.SUBTREE_ACCOUNTS, actor.business_id, f"{account.path}%"):
            if row["id"] == account.id:
                continue
            if row["currency"] != account.currency:
                other += 1
                continue
            ids.append(row["id"])
            names[row["id"]] = row["name"]
    return StatementRequest(
        business_id=actor.business_id,
        business_name=await _business_name(actor.business_id),
        account=account,
        account_ids=tuple(ids),
        names=names,
        start=first,
        end=last,
        include_descendants=include_descendants,
        other_currency_accounts=other,
    )


# --- one snapshot ---------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The statement's header and its entries, read in one REPEATABLE READ transaction."""

    request: StatementRequest
    header: StatementHeader
    conn: asyncpg.Connection
    names: dict[str, str] = field(default_factory=dict)
    _netted: StatementHeader | None = None

    async def file_header(self, fmt: str) -> StatementHeader:
        """The header a file of `fmt` is written with: a roll-up's CSV, XLSX and PDF net its internal
        transfers (`StatementHeader.netted`, from a scan of the period in this snapshot); every other
        statement has `header`."""
        r = self.request
        if fmt not in NETTED_FORMATS or not r.include_descendants:
            return self.header
        if self._netted is None:
            row = await self.conn.fetchrow(
                q.INTERNAL_TOTALS, list(r.account_ids), r.start_at, r.end_at, r.business_id
            )
            assert row is not None
            self._netted = self.header.netted(int(row["total"]), int(row["n"]))
        return self._netted

    async def _names_for(self, ids: set[str]) -> None:
        missing = [i for i in ids if i not in self.names]
        if missing:
            for row in await self.conn.fetch(q.ACCOUNT_NAMES, missing):
                self.names[row["id"]] = row["name"]

    async def to_lines(self, rows: list[asyncpg.Record], balance: int) -> tuple[list[StatementLine], int]:
        """Records → StatementLines with running balances, starting from `balance`."""
        await self._names_for({r["counterpart_id"] for r in rows})
        names = self.names
        lines = []
        for r in rows:
            amount = r["amount"]
            internal = 0
            if r.get("internal"):
                debit = credit = 0
                internal = amount
            elif r["side"] == 0:
                debit, credit = amount, 0
                balance -= amount
            else:
                debit, credit = 0, amount
                balance += amount
            lines.append(
                StatementLine(
                    booked_at=r["created_at"],
                    transaction_id=r["id"],
                    reference=r["reference"] or "",
                    description=r["description"] or "",
                    account_id=r["account_id"],
                    account_name=names.get(r["account_id"], ""),
                    counterpart_account_id=r["counterpart_id"],
                    counterpart_name=names.get(r["counterpart_id"], ""),
                    debit=debit,
                    credit=credit,
                    running_balance=balance,
                    kind=r["kind"],
                    internal=internal,
                )
            )
        return lines, balance

    async def batches(
        self, size: int = FETCH_BATCH, *, net: bool = False
    ) -> AsyncIterator[list[StatementLine]]:
        """Every entry of the period, in order, `size` at a time, from a server-side cursor; the next
        batch is fetched while the caller works on the current one. `net`: a roll-up's internal
        transfers once (for a file written with a netted `file_header`)."""
        r = self.request
        query = q.entries_query(net=net and r.include_descendants)
        cursor = await self.conn.cursor(query, list(r.account_ids), r.start_at, r.end_at)
        balance = self.header.opening_balance
        pending: asyncio.Future[list[asyncpg.Record]] | None = asyncio.ensure_future(cursor.fetch(size))
        try:
            while pending is not None:
                rows = await pending
                pending = asyncio.ensure_future(cursor.fetch(size)) if len(rows) == size else None
                if not rows:
                    break
                lines, balance = await self._lines_after(rows, balance, pending)
                yield lines
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending

    async def _lines_after(
        self, rows: list[asyncpg.Record], balance: int, pending: asyncio.Future[Any] | None
    ) -> tuple[list[StatementLine], int]:
        # Names of new counterparts need the connection, which the prefetch is using: wait for it.
        if pending is not None and any(r["counterpart_id"] not in self.names for r in rows):
            await asyncio.wait([pending])
        return await self.to_lines(rows, balance)


@dataclass(frozen=True)
class PeriodTotals:
    """Posted balance now, the period's count and totals, the net movement after the period, and the
    rollup watermark they were read with."""

    posted_now: int
    entries: int
    debits: int
    credits: int
    after_net: int
    complete_before: date | None


async def _period_totals(conn: asyncpg.Connection, r: StatementRequest) -> PeriodTotals:
    """The figures behind the header, in the caller's snapshot: closed days from the rollup
    (`statement_day_total`, at most one row per account and day), the days after the watermark from a
    scan of the transfers. Equal to a scan of every transfer from the period start (see rollup.py)."""
    ids = list(r.account_ids)
    posted_now = int(await conn.fetchval(q.POSTED_NOW, ids))
    rolled = await conn.fetchrow(q.ROLLED_UP_FROM_START, ids, r.start, r.end + timedelta(days=1))
    assert rolled is not None
    complete_before: date | None = rolled["complete_before"]
    scan_from = r.start_at
    if complete_before is not None:
        scan_from = max(scan_from, wib_midnight(complete_before))
    row = await conn.fetchrow(q.TOTALS_FROM_START, ids, scan_from, r.end_at)
    assert row is not None
    return PeriodTotals(
        posted_now=posted_now,
        entries=int(rolled["entries"]) + int(row["entries"]),
        debits=int(rolled["debits"]) + int(row["debits"]),
        credits=int(rolled["credits"]) + int(row["credits"]),
        after_net=int(rolled["after_net"]) + int(row["after_net"]),
        complete_before=complete_before,
    )


async def scanned_period_totals(conn: asyncpg.Connection, r: StatementRequest) -> PeriodTotals:
    """The same figures from the transfers alone (no rollup): the reference the rollup is tested against."""
    ids = list(r.account_ids)
    posted_now = int(await conn.fetchval(q.POSTED_NOW, ids))
    row = await conn.fetchrow(q.TOTALS_FROM_START, ids, r.start_at, r.end_at)
    assert row is not None
    return PeriodTotals(
        posted_now, int(row["entries"]), int(row["debits"]), int(row["credits"]), int(row["after_net"]), None
    )


async def _compute_header(
    conn: asyncpg.Connection, r: StatementRequest, generated_at: datetime
) -> tuple[StatementHeader, date | None]:
    totals = await _period_totals(conn, r)
    entries, debits, credits = totals.entries, totals.debits, totals.credits
    opening = totals.posted_now - totals.after_net - (credits - debits)
    header = StatementHeader(
        business_name=r.business_name,
        account_id=r.account.id,
        account_name=r.account.name,
        account_number="",
        currency=r.currency,
        period_start=r.start,
        period_end=r.end,
        opening_balance=opening,
        closing_balance=opening + credits - debits,
        total_debits=debits,
        total_credits=credits,
        entry_count=entries,
        generated_at=generated_at,
        include_descendants=r.include_descendants,
    )
    return header, totals.complete_before


@contextlib.asynccontextmanager
async def snapshot(r: StatementRequest, generated_at: datetime) -> AsyncIterator[Snapshot]:
    """Open the statement's read-only snapshot on a connection of its own (kept until the block ends):
    the streaming replica when one is configured and has replayed everything committed so far."""
    seen: list[date | None] = []
    async with (
        replica.read_connection() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        header, complete_before = await _compute_header(conn, r, generated_at)
        seen.append(complete_before)
        yield Snapshot(r, header, conn, dict(r.names))
    if seen:
        # A rollup far behind (or never run) makes statements scan more: make sure its job is queued.
        await rollup.kick_if_behind(seen[0])


async def statement_header(r: StatementRequest, generated_at: datetime | None = None) -> StatementHeader:
    async with snapshot(r, generated_at or clock.now()) as snap:
        return snap.header
