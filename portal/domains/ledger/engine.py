"""The ledger's write path: operations applied set-based under row locks, coalesced by group commit.

An *operation* is one all-or-nothing unit (a transfer, a group, a hold, a hold's post or void, a
reversal). `apply_operations` applies many operations in ONE database transaction:

1. the operations' references go into `ledger_reference` (sorted, ON CONFLICT DO NOTHING): a conflict
   fails that operation alone with `duplicate_reference`;
2. every account the batch touches is locked once, in id order (`FOR NO KEY UPDATE`), so concurrent
   batches in any number of processes never deadlock and a hot account (the fees account every
   transfer credits) is locked once per batch instead of once per transfer;
3. each operation is checked and applied in memory in arrival order (scope, business, currency,
   status, overdraft); a failing operation is undone and fails alone;
4. balances are written with one `UPDATE … FROM unnest(…)`, transfers with one `INSERT … unnest(…)`.

`GroupCommitter` feeds it: concurrent callers in one process are queued while the previous batch
commits and go in together. PostgreSQL stays the arbiter (row locks, the reference key, the CHECK
constraint), so several processes can each run their own committer.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import asyncpg
import structlog

from portal.lib.errors import N_, Amount, Conflict, FieldError, NeracaError, NotFound, ValidationFailed
from portal.lib.ids import new_id
from portal.lib.sql import engine, transaction

log = structlog.get_logger("neraca.ledger")

Phase = Literal["posted", "pending", "post_pending", "void_pending"]
MAX_BATCH = 512


@dataclass
class Leg:
    """One transfer of an operation."""

    debit_account_id: str
    credit_account_id: str
    amount: int
    kind: str = "transfer"
    description: str = ""
    metadata: dict[str, Any] | None = None
    phase: Phase = "posted"
    hold_id: str | None = None
    released_amount: int = 0
    reverses_id: str | None = None
    # JSON pointer prefix for field errors ("" for a single transfer, "/transfers/2" in a group).
    pointer: str = ""
    transfer_id: str = field(default_factory=lambda: new_id("trf"))


@dataclass
class OperationResult:
    transfers: list[dict[str, Any]]


CommitHook = Callable[[asyncpg.Connection, "Operation", OperationResult], Awaitable[None]]


@dataclass
class Operation:
    business_id: str
    legs: list[Leg]
    reference: str | None = None
    reference_object_id: str | None = None
    group_id: str | None = None
    source_id: str | None = None
    # The actor's subtree root: every account named must lie inside it (else 404).
    scope_account_id: str | None = None
    # Internal operations (top-ups, withdrawals, fees) may touch the hidden system accounts.
    internal: bool = False
    # Runs inside the batch's transaction once the operation is applied (audit, notifications, rows).
    on_commit: CommitHook | None = None
    # Booking time for imported history (demo data, migrations from another system); None = now().
    booked_at: datetime | None = None


@dataclass
class DeferredWrites:
    """Activity-log rows and notifications produced by a batch's commit hooks, written set-based once."""

    audits: list[tuple[Any, str, str, dict[str, str]]] = field(default_factory=list)
    notifications: list[tuple[str, str, str, dict[str, Any], str]] = field(default_factory=list)


_deferred: contextvars.ContextVar[DeferredWrites | None] = contextvars.ContextVar(
    "ledger_deferred", default=None
)


def deferred() -> DeferredWrites | None:
    """The batch's collector while commit hooks run (None elsewhere)."""
    return _deferred.get()


async def _flush(writes: DeferredWrites) -> None:
    if writes.notifications:
        from portal.domains.notifications.services import notify_many

        await notify_many(writes.notifications)
    if writes.audits:
        from portal.domains.audit.services import record_many

        await record_many(writes.audits)


@dataclass
class _Account:
    id: str
    business_id: str
    path: str
    kind: str
    currency: str
    status: str
    dp: int
    cp: int
    dpend: int
    cpend: int
    delta: list[int] = field(default_factory=lambda: [0, 0, 0, 0])

    @property
    def available(self) -> int:
        return self.cp - self.dp - self.dpend


def _visible(op: Operation, account: _Account | None) -> bool:
    if account is None or account.business_id != op.business_id:
        return False
    if account.kind == "system":
        return op.internal
    return op.scope_account_id is None or f"/{op.scope_account_id}/" in account.path


def _apply_leg(debit: _Account, credit: _Account, leg: Leg, sign: int) -> None:
    a = leg.amount * sign
    r = leg.released_amount * sign
    if leg.phase == "posted":
        debit.dp += a
        debit.delta[0] += a
        credit.cp += a
        credit.delta[1] += a
    elif leg.phase == "pending":
        debit.dpend += a
        debit.delta[2] += a
        credit.cpend += a
        credit.delta[3] += a
    else:
        debit.dpend -= r
        debit.delta[2] -= r
        credit.cpend -= r
        credit.delta[3] -= r
        if leg.phase == "post_pending":
            debit.dp += a
            debit.delta[0] += a
            credit.cp += a
            credit.delta[1] += a


def _check_leg(op: Operation, leg: Leg, debit: _Account | None, credit: _Account | None) -> None:
    p = leg.pointer
    if not _visible(op, debit):
        raise NotFound(
            N_("Account %(id)s was not found."),
            params={"id": leg.debit_account_id},
            errors=[FieldError(f"{p}/from_account_id", N_("not found"))],
        )
    if not _visible(op, credit):
        raise NotFound(
            N_("Account %(id)s was not found."),
            params={"id": leg.credit_account_id},
            errors=[FieldError(f"{p}/to_account_id", N_("not found"))],
        )
    assert debit is not None and credit is not None
    if debit.currency != credit.currency:
        raise ValidationFailed(
            N_(
                "Account %(debit)s holds %(debit_currency)s but %(credit)s holds %(credit_currency)s; "
                "a transfer moves one currency."
            ),
            params={
                "debit": debit.id,
                "debit_currency": debit.currency,
                "credit": credit.id,
                "credit_currency": credit.currency,
            },
            code="currency_mismatch",
            errors=[FieldError(f"{p}/to_account_id", N_("currency differs from the source account"))],
        )
    if leg.phase in ("posted", "pending"):
        for account, pointer, side in ((debit, "from_account_id", "debited"), (credit, "to_account_id", "")):
            if account.status == "closed":
                raise ValidationFailed(
                    N_("Account %(id)s is closed."),
                    params={"id": account.id},
                    code="account_closed",
                    errors=[FieldError(f"{p}/{pointer}", N_("account is closed"))],
                )
            if side and account.status == "frozen":
                raise ValidationFailed(
                    N_("Account %(id)s is frozen: nothing can be debited from it."),
                    params={"id": account.id},
                    code="account_frozen",
                    errors=[FieldError(f"{p}/{pointer}", N_("account is frozen"))],
                )


def _apply_operation(op: Operation, accounts: dict[str, _Account]) -> None:
    """Check and apply one operation to the in-memory balances; undo it and raise on any failure."""
    applied: list[Leg] = []
    before = {
        leg.debit_account_id: accounts[leg.debit_account_id].available
        for leg in op.legs
        if leg.debit_account_id in accounts
    }
    try:
        for leg in op.legs:
            debit = accounts.get(leg.debit_account_id)
            credit = accounts.get(leg.credit_account_id)
            _check_leg(op, leg, debit, credit)
            assert debit is not None and credit is not None
            _apply_leg(debit, credit, leg, 1)
            applied.append(leg)
        # Checked after every leg (a group may pass through a dip); blame the last leg debiting it.
        for leg in reversed(op.legs):
            debit = accounts[leg.debit_account_id]
            if debit.kind != "system" and debit.available < 0:
                had = before[debit.id]
                raise ValidationFailed(
                    N_("Account %(account)s has %(available)s available; %(needed)s is needed."),
                    params={
                        "account": debit.id,
                        "available": Amount(had, debit.currency),
                        "needed": Amount(had - debit.available, debit.currency),
                    },
                    code="insufficient_funds",
                    title=N_("Insufficient funds"),
                    errors=[FieldError(f"{leg.pointer}/amount", N_("more than the available balance"))],
                )
    except NeracaError:
        for leg in reversed(applied):
            _apply_leg(accounts[leg.debit_account_id], accounts[leg.credit_account_id], leg, -1)
        raise


async def apply_operations(
    conn: asyncpg.Connection, ops: list[Operation]
) -> list[OperationResult | NeracaError]:
    """Apply `ops` inside the caller's open transaction; each gets a result or its own error."""
    results: list[OperationResult | NeracaError | None] = [None] * len(ops)

    # 1. References: unique per business forever; the database decides between processes.
    seen: set[tuple[str, str]] = set()
    ref_rows: list[tuple[str, str, str]] = []
    for i, op in enumerate(ops):
        if op.reference is None:
            continue
        key = (op.business_id, op.reference)
        if key in seen:
            results[i] = _duplicate(op.reference)
            continue
        seen.add(key)
        ref_rows.append((op.business_id, op.reference, op.reference_object_id or op.legs[0].transfer_id))
    if ref_rows:
        inserted = await conn.fetch(
            "INSERT INTO ledger_reference (business_id, reference, object_id) "
            "SELECT b, r, o FROM unnest($1::text[], $2::text[], $3::text[]) AS t(b, r, o) ORDER BY b, r "
            "ON CONFLICT DO NOTHING RETURNING business_id, reference",
            [r[0] for r in ref_rows],
            [r[1] for r in ref_rows],
            [r[2] for r in ref_rows],
        )
        won = {(row["business_id"], row["reference"]) for row in inserted}
        for i, op in enumerate(ops):
            if results[i] is None and op.reference is not None and (op.business_id, op.reference) not in won:
                results[i] = _duplicate(op.reference)

    # 2. Lock every account of the batch once, in id order.
    ids = sorted(
        {
            aid
            for i, op in enumerate(ops)
            if results[i] is None
            for leg in op.legs
            for aid in (leg.debit_account_id, leg.credit_account_id)
        }
    )
    rows = await conn.fetch(
        "SELECT id, business_id, path, kind, currency, status, debits_posted, credits_posted, "
        "debits_pending, credits_pending FROM account WHERE id = ANY($1::text[]) ORDER BY id "
        "FOR NO KEY UPDATE",
        ids,
    )
    accounts = {
        row["id"]: _Account(
            row["id"],
            row["business_id"],
            row["path"],
            row["kind"],
            row["currency"],
            row["status"],
            row["debits_posted"],
            row["credits_posted"],
            row["debits_pending"],
            row["credits_pending"],
        )
        for row in rows
    }

    # 3. Check and apply in arrival order.
    ok: list[int] = []
    for i, op in enumerate(ops):
        if results[i] is not None:
            continue
        try:
            _apply_operation(op, accounts)
        except NeracaError as exc:
            results[i] = exc
            continue
        ok.append(i)
    failed_refs = [
        (op.business_id, op.reference)
        for i, op in enumerate(ops)
        if op.reference is not None
        and isinstance(results[i], NeracaError)
        and (op.business_id, op.reference) in seen
        and getattr(results[i], "code", "") != "duplicate_reference"
    ]
    if failed_refs:
        await conn.execute(
            "DELETE FROM ledger_reference WHERE (business_id, reference) IN "
            "(SELECT * FROM unnest($1::text[], $2::text[]))",
            [r[0] for r in failed_refs],
            [r[1] for r in failed_refs],
        )

    # 4. Write balances and transfers set-based.
    touched = [a for a in accounts.values() if any(a.delta)]
    if touched:
        await conn.execute(
            "UPDATE account AS a SET debits_posted = a.debits_posted + v.dp, "
            "credits_posted = a.credits_posted + v.cp, debits_pending = a.debits_pending + v.dpend, "
            "credits_pending = a.credits_pending + v.cpend, updated_at = now() "
            "FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) "
            "AS v(id, dp, cp, dpend, cpend) WHERE a.id = v.id",
            [a.id for a in touched],
            [a.delta[0] for a in touched],
            [a.delta[1] for a in touched],
            [a.delta[2] for a in touched],
            [a.delta[3] for a in touched],
        )
    # One dict per transfer serves both the insert's column arrays and the operation's result.
    rows_by_op: list[tuple[int, list[dict[str, Any]]]] = []
    columns: list[list[Any]] = [[] for _ in _TRANSFER_COLUMNS]
    for i in ok:
        op = ops[i]
        op_rows = []
        for leg in op.legs:
            row = {
                "id": leg.transfer_id,
                "business_id": op.business_id,
                "debit_account_id": leg.debit_account_id,
                "credit_account_id": leg.credit_account_id,
                "amount": leg.amount,
                "currency": accounts[leg.debit_account_id].currency,
                "phase": leg.phase,
                "released_amount": leg.released_amount,
                "hold_id": leg.hold_id,
                "kind": leg.kind,
                "reference": op.reference,
                "description": leg.description,
                "metadata": leg.metadata or {},
                "group_id": op.group_id,
                "reverses_id": leg.reverses_id,
                "source_id": op.source_id,
                "created_at": op.booked_at,
            }
            op_rows.append(row)
            for column, name in zip(columns, _TRANSFER_COLUMNS, strict=True):
                column.append(json.dumps(row["metadata"]) if name == "metadata" else row[name])
        rows_by_op.append((i, op_rows))
    created_at: datetime | None = None
    if ok:
        created_at = await conn.fetchval(_INSERT_TRANSFERS, *columns)
        for _, op_rows in rows_by_op:
            for row in op_rows:
                if row["created_at"] is None:
                    row["created_at"] = created_at
    writes = DeferredWrites()
    token = _deferred.set(writes)
    try:
        await _results_and_hooks(conn, ops, rows_by_op, results)
    finally:
        _deferred.reset(token)
    # After every ledger write: the activity log's chain lock comes last in the lock order.
    await _flush(writes)
    return [r if r is not None else NeracaError("not processed") for r in results]


async def _results_and_hooks(
    conn: asyncpg.Connection,
    ops: list[Operation],
    rows_by_op: list[tuple[int, list[dict[str, Any]]]],
    results: list[OperationResult | NeracaError | None],
) -> None:
    for i, transfers in rows_by_op:
        op = ops[i]
        result = OperationResult(transfers)
        results[i] = result
        if op.on_commit is not None:
            # The hooks run in the batch's own transaction, on its connection.
            await op.on_commit(conn, op, result)


_TRANSFER_COLUMNS = (
    "id",
    "business_id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "currency",
    "phase",
    "released_amount",
    "hold_id",
    "kind",
    "reference",
    "description",
    "metadata",
    "group_id",
    "reverses_id",
    "source_id",
    "created_at",
)
_TYPES = {"amount": "bigint", "released_amount": "bigint", "created_at": "timestamptz"}
_INSERT_TRANSFERS = (
    f"WITH ins AS (INSERT INTO transfer ({', '.join(_TRANSFER_COLUMNS)}) SELECT "
    + ", ".join(
        "t.metadata::jsonb"
        if c == "metadata"
        else "coalesce(t.created_at, now())"
        if c == "created_at"
        else f"t.{c}"
        for c in _TRANSFER_COLUMNS
    )
    + " FROM unnest("
    + ", ".join(f"${n}::{_TYPES.get(c, 'text')}[]" for n, c in enumerate(_TRANSFER_COLUMNS, start=1))
    + f") AS t({', '.join(_TRANSFER_COLUMNS)}) RETURNING created_at) SELECT max(created_at) FROM ins"
)


def _duplicate(reference: str) -> Conflict:
    return Conflict(
        N_("The reference %(reference)s has already been used in this business."),
        params={"reference": repr(reference)},
        code="duplicate_reference",
        title=N_("Duplicate reference"),
        errors=[FieldError("/reference", N_("already used"))],
    )


_RETRYABLE = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)


async def run_in_transaction(ops: list[Operation]) -> list[OperationResult | NeracaError]:
    """Apply `ops` in the current Piccolo transaction, or in a new one (retried on deadlock)."""
    current = engine().current_transaction.get()
    if current is not None:
        return await apply_operations(current.connection, ops)
    for attempt in range(5):
        try:
            async with transaction() as tx:
                return await apply_operations(tx.connection, ops)
        except _RETRYABLE:
            if attempt == 4:
                raise
            await asyncio.sleep(0.005 * (attempt + 1))
    raise AssertionError("unreachable")


class GroupCommitter:
    """Coalesces concurrent operations of one event loop into batches, each one transaction."""

    def __init__(self, max_batch: int = MAX_BATCH, in_flight: int = 2) -> None:
        self.max_batch = max_batch
        self.in_flight = in_flight
        self.queue: list[tuple[Operation, asyncio.Future[OperationResult]]] = []
        self.wakeup = asyncio.Event()
        self.workers: list[asyncio.Task[None]] = []
        self.batches = 0
        self.operations = 0

    async def submit(self, op: Operation) -> OperationResult:
        future: asyncio.Future[OperationResult] = asyncio.get_running_loop().create_future()
        self.queue.append((op, future))
        if not self.workers or all(w.done() for w in self.workers):
            # A clean context: the callers' Piccolo transaction (if any) must not leak into the worker.
            self.workers = [
                asyncio.create_task(self._work(), name="ledger-group-commit", context=contextvars.Context())
                for _ in range(self.in_flight)
            ]
        self.wakeup.set()
        return await future

    async def _work(self) -> None:
        while True:
            if not self.queue:
                self.wakeup.clear()
                try:
                    await asyncio.wait_for(self.wakeup.wait(), timeout=30)
                except TimeoutError:
                    if not self.queue:
                        return
                continue
            batch, self.queue = self.queue[: self.max_batch], self.queue[self.max_batch :]
            self.batches += 1
            self.operations += len(batch)
            try:
                results = await run_in_transaction([op for op, _ in batch])
            except BaseException as exc:
                log.exception("ledger batch failed", size=len(batch))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, NeracaError):
                    future.set_exception(result)
                else:
                    future.set_result(result)


_COMMITTERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommitter] = (
    weakref.WeakKeyDictionary()
)


def committer() -> GroupCommitter:
    loop = asyncio.get_running_loop()
    found = _COMMITTERS.get(loop)
    if found is None:
        found = _COMMITTERS[loop] = GroupCommitter()
    return found


async def execute(op: Operation) -> OperationResult:
    """Apply one operation: inside the caller's transaction when there is one, else by group commit."""
    if engine().current_transaction.get() is not None:
        (result,) = await run_in_transaction([op])
        if isinstance(result, NeracaError):
            raise result
        return result
    return await committer().submit(op)
