"""The ledger's write path: operations applied set-based under row locks, coalesced by group commit.

An *operation* is one all-or-nothing unit (a transfer, a group, a hold, a hold's post or void, a
reversal). `apply_operations` applies many operations in ONE database transaction, phase by phase:

1. the operations' references go into `ledger_reference` (sorted, ON CONFLICT DO NOTHING): a conflict
   fails that operation alone with `duplicate_reference`;
2. every account the batch touches is locked once, in id order (`FOR NO KEY UPDATE`), so concurrent
   batches in any number of processes never deadlock and a hot account (the fees account every
   transfer credits) is locked once per batch instead of once per transfer;
3. each operation is checked and applied in memory in arrival order, refusals in the precedence of
   `refusals.py` (scope, currency, status, overdraft); a refused operation is undone and fails alone;
4. balances are written with one `UPDATE … FROM unnest(…)`, transfers with one `INSERT … unnest(…)`
   (from `COPY_ROWS` transfers, a settlement batch's group, with one binary COPY after it).

`GroupCommitter` feeds it: concurrent callers in one process are queued while the previous batch
commits and go in together. A batch the database refuses is bisected down to the operation at fault;
a batch that loses its connection fails once and the connection is discarded. PostgreSQL stays the
arbiter (row locks, the reference key, the CHECK constraint), so several processes can each run their
own committer.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import operator
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import asyncpg
import msgspec
import structlog

from portal.domains.identity import idempotency
from portal.domains.identity.idempotency import RequestClaim
from portal.domains.ledger.refusals import Refusal, refuse
from portal.lib import sql
from portal.lib.errors import N_, FieldError, NeracaError, ServiceUnavailable, ValidationFailed
from portal.lib.ids import new_id
from portal.lib.sql import connection_lost, engine

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
    # A replay: the reference was booked before by the same request (same legs); nothing was written
    # and `object_id` is the object registered under the reference then.
    replayed: bool = False
    object_id: str | None = None


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
    # A taken reference whose transfers have these very legs answers with them instead of refusing
    # (a retry of a request whose first answer was lost). Set by the services that own the reference.
    replay_by_reference: bool = False
    # The signed API request this operation is booked for: its claim records the booked object in the
    # batch's transaction (identity/idempotency.py). Filled in by `execute`.
    claim: RequestClaim | None = None


@dataclass
class DeferredWrites:
    """Activity-log rows and notifications produced by a batch's commit hooks, written set-based once."""

    audits: list[tuple[Any, str, str, dict[str, str]]] = field(default_factory=list)
    notifications: list[tuple[str, str, str, dict[str, Any], str]] = field(default_factory=list)
    # Hold rows of the batch's new holds, in `_HOLD_COLUMNS` order.
    holds: list[tuple[Any, ...]] = field(default_factory=list)
    # (business_id, type, data, account_ids): webhook events, one statement for the whole batch.
    events: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = field(default_factory=list)


_deferred: contextvars.ContextVar[DeferredWrites | None] = contextvars.ContextVar(
    "ledger_deferred", default=None
)


def deferred() -> DeferredWrites | None:
    """The batch's collector while commit hooks run (None elsewhere)."""
    return _deferred.get()


_HOLD_COLUMNS = (
    ("id", "text"),
    ("business_id", "text"),
    ("transfer_id", "text"),
    ("debit_account_id", "text"),
    ("credit_account_id", "text"),
    ("amount", "bigint"),
    ("currency", "text"),
    ("kind", "text"),
    ("reference", "text"),
    ("expires_at", "timestamptz"),
)
_INSERT_HOLDS = (
    f"INSERT INTO hold ({', '.join(name for name, _ in _HOLD_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"${n}::{kind}[]" for n, (_, kind) in enumerate(_HOLD_COLUMNS, start=1))
    + ")"
)


async def _flush(conn: asyncpg.Connection, writes: DeferredWrites) -> None:
    if writes.holds:
        await sql.execute(
            _INSERT_HOLDS, *([row[n] for row in writes.holds] for n in range(len(_HOLD_COLUMNS)))
        )
    if writes.events:
        from portal.domains.webhooks.services import emit_many

        await emit_many(conn, writes.events)
    if writes.notifications:
        from portal.domains.notifications.services import notify_many

        await notify_many(writes.notifications)
    if writes.audits:
        from portal.domains.audit.services import record_many

        await record_many(writes.audits)


@dataclass
class BalanceDelta:
    """What a batch adds to one account's four balance columns (minor units)."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    def __bool__(self) -> bool:
        return any((self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending))


@dataclass
class LockedAccount:
    """An account row locked for the batch: its balances as the batch has changed them so far."""

    id: str
    business_id: str
    path: str
    kind: str
    currency: str
    status: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    change: BalanceDelta = field(default_factory=BalanceDelta)

    @property
    def available(self) -> int:
        return self.credits_posted - self.debits_posted - self.debits_pending

    def move(
        self,
        *,
        posted_debit: int = 0,
        posted_credit: int = 0,
        pending_debit: int = 0,
        pending_credit: int = 0,
    ) -> None:
        """Add to the balances and to the batch's change of this account alike."""
        self.debits_posted += posted_debit
        self.credits_posted += posted_credit
        self.debits_pending += pending_debit
        self.credits_pending += pending_credit
        self.change.debits_posted += posted_debit
        self.change.credits_posted += posted_credit
        self.change.debits_pending += pending_debit
        self.change.credits_pending += pending_credit


def _visible(op: Operation, account: LockedAccount | None) -> bool:
    if account is None or account.business_id != op.business_id:
        return False
    if account.kind == "system":
        return op.internal
    return op.scope_account_id is None or f"/{op.scope_account_id}/" in account.path


def _apply_leg(debit: LockedAccount, credit: LockedAccount, leg: Leg, sign: int) -> None:
    """Book one leg (sign 1) or take it back (sign -1) on the in-memory balances."""
    amount = leg.amount * sign
    released = leg.released_amount * sign
    if leg.phase == "pending":
        debit.move(pending_debit=amount)
        credit.move(pending_credit=amount)
        return
    if leg.phase in ("post_pending", "void_pending"):
        debit.move(pending_debit=-released)
        credit.move(pending_credit=-released)
    if leg.phase in ("posted", "post_pending"):
        debit.move(posted_debit=amount)
        credit.move(posted_credit=amount)


def _moves_money_out(leg: Leg, op: Operation) -> bool:
    """Whether the leg debits its source: a transfer, a new hold, or a hold's post asked for by a user.

    Voiding or expiring a hold only releases a reservation. An internal post settles what already left
    at the bank (a paid withdrawal): a freeze after the payout cannot undo it, so it still books."""
    if leg.phase in ("posted", "pending"):
        return True
    return leg.phase == "post_pending" and not op.internal


def _check_leg(op: Operation, leg: Leg, debit: LockedAccount | None, credit: LockedAccount | None) -> None:
    """Raise the leg's first refusal in precedence order (see refusals.py); nothing when it may book."""
    at = leg.pointer
    if not _visible(op, debit):
        raise refuse(Refusal.ACCOUNT_NOT_FOUND, f"{at}/from_account_id", account_id=leg.debit_account_id)
    if not _visible(op, credit):
        raise refuse(Refusal.ACCOUNT_NOT_FOUND, f"{at}/to_account_id", account_id=leg.credit_account_id)
    assert debit is not None and credit is not None
    if debit.currency != credit.currency:
        raise refuse(
            Refusal.CURRENCY_MISMATCH,
            f"{at}/to_account_id",
            debit_account_id=debit.id,
            debit_currency=debit.currency,
            credit_account_id=credit.id,
            credit_currency=credit.currency,
        )
    if not _moves_money_out(leg, op):
        return
    for account, pointer in ((debit, "from_account_id"), (credit, "to_account_id")):
        if account.status == "closed":
            raise refuse(Refusal.ACCOUNT_CLOSED, f"{at}/{pointer}", account_id=account.id)
    if debit.status == "frozen":
        raise refuse(Refusal.ACCOUNT_FROZEN, f"{at}/from_account_id", account_id=debit.id)


def _check_overdraft(op: Operation, accounts: dict[str, LockedAccount], before: dict[str, int]) -> None:
    """Checked after every leg (a group may pass through a dip); blame the last leg debiting it."""
    for leg in reversed(op.legs):
        debit = accounts[leg.debit_account_id]
        if debit.kind != "system" and debit.available < 0:
            had = before[debit.id]
            raise refuse(
                Refusal.INSUFFICIENT_FUNDS,
                f"{leg.pointer}/amount",
                account_id=debit.id,
                available=had,
                requested=had - debit.available,
                currency=debit.currency,
            )


def _apply_operation(op: Operation, accounts: dict[str, LockedAccount]) -> None:
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
        _check_overdraft(op, accounts, before)
    except NeracaError:
        for leg in reversed(applied):
            _apply_leg(accounts[leg.debit_account_id], accounts[leg.credit_account_id], leg, -1)
        raise


Outcome = OperationResult | NeracaError | None


async def apply_operations(
    conn: asyncpg.Connection, ops: list[Operation]
) -> list[OperationResult | NeracaError]:
    """Apply `ops` inside the caller's open transaction; each gets a result or its own refusal.

    The phases, in lock order: claim references, lock accounts, check and apply in memory, then one
    statement releases refused operations' references, writes balances and inserts transfers; then
    the commit hooks run, and the activity log and notifications they collected are written."""
    outcomes: list[Outcome] = [None] * len(ops)
    claimed = await _claim_references(conn, ops, outcomes)
    accounts = await _lock_accounts(conn, ops, outcomes)
    applied = _check_and_apply(ops, accounts, outcomes)
    released = _refused_references(ops, outcomes, claimed)
    transfers = await _write(conn, ops, applied, accounts, released)
    # The requests' claims learn what was booked in the money's own transaction (no answer is lost
    # between the two: a retry after a crash answers with it).
    await idempotency.mark_booked(
        conn,
        [
            (op.claim.api_key_id, op.claim.request_id, op.reference_object_id or op.legs[0].transfer_id)
            for op in (ops[i] for i in applied)
            if op.claim is not None
        ],
    )
    writes = DeferredWrites()
    token = _deferred.set(writes)
    try:
        await _results_and_hooks(conn, ops, transfers, outcomes)
    finally:
        _deferred.reset(token)
    # After every ledger write: the activity log's chain lock comes last in the lock order.
    await _flush(conn, writes)
    finished = [outcome for outcome in outcomes if outcome is not None]
    assert len(finished) == len(ops), "every operation ends with a result or a refusal"
    return finished


async def _claim_references(
    conn: asyncpg.Connection, ops: list[Operation], outcomes: list[Outcome]
) -> set[tuple[str, str]]:
    """References are unique per business forever; the database decides between processes."""
    claimed: set[tuple[str, str]] = set()
    rows: list[tuple[str, str, str]] = []
    for i, op in enumerate(ops):
        if op.reference is None:
            continue
        key = (op.business_id, op.reference)
        if key in claimed:
            outcomes[i] = duplicate_reference(op.reference)
            continue
        claimed.add(key)
        rows.append((op.business_id, op.reference, op.reference_object_id or op.legs[0].transfer_id))
    if not rows:
        return claimed
    inserted = await conn.fetch(
        "INSERT INTO ledger_reference (business_id, reference, object_id) "
        "SELECT b, r, o FROM unnest($1::text[], $2::text[], $3::text[]) AS t(b, r, o) ORDER BY b, r "
        "ON CONFLICT DO NOTHING RETURNING business_id, reference",
        *_columns(rows, 3),
    )
    won = {(row["business_id"], row["reference"]) for row in inserted}
    taken: list[int] = []
    for i, op in enumerate(ops):
        if outcomes[i] is None and op.reference is not None and (op.business_id, op.reference) not in won:
            outcomes[i] = duplicate_reference(op.reference)
            if op.replay_by_reference:
                taken.append(i)
    if taken:
        await _replay_taken_references(conn, ops, taken, outcomes)
    return claimed


def _leg_key(leg: Leg) -> tuple[Any, ...]:
    """What makes two legs the same request (not their new ids)."""
    return (
        leg.debit_account_id,
        leg.credit_account_id,
        leg.amount,
        leg.phase,
        leg.kind,
        leg.description or "",
        leg.metadata or {},
        leg.released_amount,
        leg.reverses_id,
    )


def _row_key(row: asyncpg.Record) -> tuple[Any, ...]:
    metadata = row["metadata"]
    return (
        row["debit_account_id"],
        row["credit_account_id"],
        int(row["amount"]),
        row["phase"],
        row["kind"],
        row["description"] or "",
        (json.loads(metadata) if isinstance(metadata, str) else metadata) or {},
        int(row["released_amount"]),
        row["reverses_id"],
    )


async def _replay_taken_references(
    conn: asyncpg.Connection, ops: list[Operation], taken: list[int], outcomes: list[Outcome]
) -> None:
    """A taken reference whose booked transfers have exactly the operation's legs, on accounts the
    operation may see, is the same request again: it gets the booked transfers as its result (nothing is
    written, no hook runs). Anything else stays `duplicate_reference`."""
    keys = sorted({(ops[i].business_id, ops[i].reference or "") for i in taken})
    rows = await conn.fetch(
        "SELECT r.object_id, t.* FROM unnest($1::text[], $2::text[]) AS q(b, r) "
        "JOIN ledger_reference r ON r.business_id = q.b AND r.reference = q.r "
        "JOIN transfer t ON t.business_id = q.b AND t.reference = q.r ORDER BY t.seq",
        *_columns(keys, 2),
    )
    booked: dict[tuple[str, str], list[asyncpg.Record]] = {}
    for row in rows:
        booked.setdefault((row["business_id"], row["reference"]), []).append(row)
    account_ids = sorted(
        {leg.debit_account_id for i in taken for leg in ops[i].legs}
        | {leg.credit_account_id for i in taken for leg in ops[i].legs}
    )
    found = {
        row["id"]: LockedAccount(**dict(row))
        for row in await conn.fetch(
            "SELECT id, business_id, path, kind, currency, status, debits_posted, credits_posted, "
            "debits_pending, credits_pending FROM account WHERE id = ANY($1::text[])",
            account_ids,
        )
    }
    for i in taken:
        op = ops[i]
        earlier = booked.get((op.business_id, op.reference or ""), [])
        if [_row_key(row) for row in earlier] != [_leg_key(leg) for leg in op.legs]:
            continue
        if not all(
            _visible(op, found.get(leg.debit_account_id)) and _visible(op, found.get(leg.credit_account_id))
            for leg in op.legs
        ):
            continue
        transfers = [{name: row[name] for name in _TRANSFER_COLUMNS} for row in earlier]
        outcomes[i] = OperationResult(transfers, replayed=True, object_id=earlier[0]["object_id"])


async def _lock_accounts(
    conn: asyncpg.Connection, ops: list[Operation], outcomes: list[Outcome]
) -> dict[str, LockedAccount]:
    """Lock every account of the batch's remaining operations once, in id order (no deadlocks)."""
    ids = sorted(
        {
            account_id
            for op, outcome in zip(ops, outcomes, strict=True)
            if outcome is None
            for leg in op.legs
            for account_id in (leg.debit_account_id, leg.credit_account_id)
        }
    )
    rows = await conn.fetch(
        "SELECT id, business_id, path, kind, currency, status, debits_posted, credits_posted, "
        "debits_pending, credits_pending FROM account WHERE id = ANY($1::text[]) ORDER BY id "
        "FOR NO KEY UPDATE",
        ids,
    )
    return {row["id"]: LockedAccount(**dict(row)) for row in rows}


def _check_and_apply(
    ops: list[Operation], accounts: dict[str, LockedAccount], outcomes: list[Outcome]
) -> list[int]:
    """Apply the remaining operations in arrival order; a refused one is undone and fails alone."""
    applied: list[int] = []
    for i, op in enumerate(ops):
        if outcomes[i] is not None:
            continue
        try:
            _apply_operation(op, accounts)
        except NeracaError as exc:
            outcomes[i] = exc
            continue
        applied.append(i)
    return applied


def _refused_references(
    ops: list[Operation], outcomes: list[Outcome], claimed: set[tuple[str, str]]
) -> list[tuple[str, str]]:
    """References claimed by operations refused since: released, so a corrected retry may use them."""
    return [
        (op.business_id, op.reference)
        for op, outcome in zip(ops, outcomes, strict=True)
        if op.reference is not None
        and isinstance(outcome, NeracaError)
        and (op.business_id, op.reference) in claimed
        and outcome.code != "duplicate_reference"
    ]


def _transfer_row(op: Operation, leg: Leg, currency: str) -> dict[str, Any]:
    return {
        "id": leg.transfer_id,
        "business_id": op.business_id,
        "debit_account_id": leg.debit_account_id,
        "credit_account_id": leg.credit_account_id,
        "amount": leg.amount,
        "currency": currency,
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


async def _write(
    conn: asyncpg.Connection,
    ops: list[Operation],
    applied: list[int],
    accounts: dict[str, LockedAccount],
    released: list[tuple[str, str]],
) -> list[tuple[int, list[dict[str, Any]]]]:
    """One statement (one round trip) releases the refused operations' references, adds every changed
    account's `BalanceDelta` and inserts every transfer (from `COPY_ROWS` transfers: that statement
    without the insert, then one binary COPY); returns each applied operation's transfer rows."""
    touched = [account for account in accounts.values() if account.change]
    balances: list[list[Any]] = [
        [account.id for account in touched],
        [account.change.debits_posted for account in touched],
        [account.change.credits_posted for account in touched],
        [account.change.debits_pending for account in touched],
        [account.change.credits_pending for account in touched],
    ]
    if sum(len(ops[i].legs) for i in applied) >= COPY_ROWS:
        return await _copy_transfers(conn, ops, applied, accounts, balances, released)
    # One dict per transfer serves both the insert's column arrays and the operation's result.
    transfers = [
        (i, [_transfer_row(ops[i], leg, accounts[leg.debit_account_id].currency) for leg in ops[i].legs])
        for i in applied
    ]
    rows = [row for _, op_rows in transfers for row in op_rows]
    if not (rows or touched or released):
        return transfers
    columns = [
        [json.dumps(row[name]) if name == "metadata" else row[name] for row in rows]
        for name in _TRANSFER_COLUMNS
    ]
    created_at: datetime | None = await conn.fetchval(
        _WRITE_BATCH, *columns, *balances, *_columns(released, 2)
    )
    for row in rows:
        if row["created_at"] is None:
            row["created_at"] = created_at
    return transfers


async def _copy_transfers(
    conn: asyncpg.Connection,
    ops: list[Operation],
    applied: list[int],
    accounts: dict[str, LockedAccount],
    balances: list[list[Any]],
    released: list[tuple[str, str]],
) -> list[tuple[int, list[dict[str, Any]]]]:
    """A large batch's write, in the same transaction: one statement releases the references and adds
    the balances (returning the transaction's time, what the insert's `now()` stores), then one binary
    COPY inserts the transfers: the same rows, constraints, triggers and indexes as the `unnest` insert.
    The rows are made while COPY streams them, so PostgreSQL inserts the first ones while Python makes
    the next (both cores work at once)."""
    now: datetime = await conn.fetchval(_WRITE_BALANCES, *balances, *_columns(released, 2))
    transfers: list[tuple[int, list[dict[str, Any]]]] = [(i, []) for i in applied]

    def records() -> Iterator[list[Any]]:
        for i, op_rows in transfers:
            op = ops[i]
            for leg in op.legs:
                row = _transfer_row(op, leg, accounts[leg.debit_account_id].currency)
                if row["created_at"] is None:
                    row["created_at"] = now
                op_rows.append(row)
                values = list(_PICK_COLUMNS(row))
                values[_METADATA] = _json_text(row["metadata"])
                yield values

    await conn.copy_records_to_table("transfer", columns=_TRANSFER_COLUMNS, records=records())
    return transfers


def _json_text(value: Any) -> str:
    """JSON text for a jsonb column (msgspec: far quicker than `json.dumps`; jsonb stores the same)."""
    return _JSON.encode(value).decode()


_JSON = msgspec.json.Encoder()


def _columns(rows: Sequence[tuple[str, ...]], width: int) -> list[list[str]]:
    return [[row[n] for row in rows] for n in range(width)]


async def _results_and_hooks(
    conn: asyncpg.Connection,
    ops: list[Operation],
    transfers: list[tuple[int, list[dict[str, Any]]]],
    outcomes: list[Outcome],
) -> None:
    for i, op_rows in transfers:
        op = ops[i]
        result = OperationResult(op_rows)
        outcomes[i] = result
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
_PICK_COLUMNS = operator.itemgetter(*_TRANSFER_COLUMNS)
_METADATA = _TRANSFER_COLUMNS.index("metadata")
_N = len(_TRANSFER_COLUMNS)


# The CTEs releasing refused references and adding the balance deltas, their parameters numbered
# from `first` (`_release_and_balances`).
_RELEASE_AND_BALANCES = (
    "released AS (DELETE FROM ledger_reference WHERE (business_id, reference) IN "
    "(SELECT * FROM unnest({business}::text[], {reference}::text[]))), "
    "balances AS (UPDATE account AS a SET debits_posted = a.debits_posted + v.debits_posted, "
    "credits_posted = a.credits_posted + v.credits_posted, "
    "debits_pending = a.debits_pending + v.debits_pending, "
    "credits_pending = a.credits_pending + v.credits_pending, updated_at = now() "
    "FROM unnest({ids}::text[], {debits_posted}::bigint[], {credits_posted}::bigint[], "
    "{debits_pending}::bigint[], {credits_pending}::bigint[]) "
    "AS v(id, debits_posted, credits_posted, debits_pending, credits_pending) "
    # `a.id = ANY(ids)` as well as the join: the accounts are found by their key (an index scan of the
    # batch's ids), never by hashing the whole account table, whatever the planner estimates for unnest.
    "WHERE a.id = v.id AND a.id = ANY({ids}::text[]))"
)


def _release_and_balances(first: int) -> str:
    """`_RELEASE_AND_BALANCES` with the deltas at $first..$first+4, the references at $first+5, +6."""
    names = ("ids", "debits_posted", "credits_posted", "debits_pending", "credits_pending", "business")
    return _RELEASE_AND_BALANCES.format(
        **{name: f"${first + n}" for n, name in enumerate((*names, "reference"))}
    )


# Data-modifying CTEs all run to completion, whatever the final SELECT reads.
_WRITE_BATCH = (
    f"WITH {_release_and_balances(_N + 1)}, "
    f"inserted AS (INSERT INTO transfer ({', '.join(_TRANSFER_COLUMNS)}) SELECT "
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
    + f") AS t({', '.join(_TRANSFER_COLUMNS)}) RETURNING created_at) "
    "SELECT coalesce(max(created_at), now()) FROM inserted"
)
# The large batch's first statement (`_copy_transfers`); `now()` is the transaction's start, as stored
# by the unnest insert's `coalesce(created_at, now())`.
_WRITE_BALANCES = f"WITH {_release_and_balances(1)} SELECT now()"
# From this many transfers in one batch (a settlement batch's group), the transfers go in by binary
# COPY: it skips asyncpg's per-element checks of 17 arrays and PostgreSQL's unnest; one round trip more,
# which only a batch this large repays. The group commit of single transfers (≤ MAX_BATCH operations of
# one or two legs) stays below it.
COPY_ROWS = 2_000


def duplicate_reference(reference: str) -> NeracaError:
    """The refusal of a reference already registered in the business."""
    return refuse(Refusal.DUPLICATE_REFERENCE, "/reference", reference=reference)


_RETRYABLE = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)
# The connection (or the server behind it) is gone: the batch cannot be split, only failed and retried.


async def run_in_transaction(ops: list[Operation]) -> list[OperationResult | NeracaError]:
    """Apply `ops` in the current Piccolo transaction, or in a new one (retried on deadlock)."""
    current = engine().current_transaction.get()
    if current is not None:
        return await apply_operations(current.connection, ops)
    for attempt in range(5):
        try:
            async with sql.transaction() as tx:
                return await apply_operations(tx.connection, ops)
        except _RETRYABLE:
            if attempt == 4:
                raise
            await asyncio.sleep(0.005 * (attempt + 1))
    raise AssertionError("unreachable")


# The input holds a value PostgreSQL cannot store (NUL in text or JSON, too long, out of range).
_UNSTORABLE = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
    asyncpg.exceptions.StringDataRightTruncationError,
    asyncpg.exceptions.NumericValueOutOfRangeError,
)


def _write_path_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        N_(
            "The ledger lost its database connection. Try again in a moment: a retry with the same "
            "reference is never booked twice."
        ),
        code="ledger_unavailable",
        headers={"Retry-After": "1"},
    )


def _culprit_error(op: Operation, exc: Exception) -> Exception:
    """What the one operation that broke its batch is answered: 422 when its input is what the database
    cannot store, else its own error (a 500 unless it is a refusal or maps to one)."""
    if isinstance(exc, _UNSTORABLE):
        return ValidationFailed(
            N_("A value in the request cannot be stored (for example a NUL character)."),
            code="unstorable_value",
            errors=[FieldError(_unstorable_pointer(op), N_("cannot be stored"))],
        )
    return exc


def _unstorable_pointer(op: Operation) -> str:
    """The field holding the NUL PostgreSQL refused ("" when it cannot be told)."""
    for leg in op.legs:
        if "\x00" in leg.description:
            return f"{leg.pointer}/description"
        if "\\u0000" in json.dumps(leg.metadata or {}):  # JSON writes NUL as \u0000
            return f"{leg.pointer}/metadata"
    return "/reference" if op.reference is not None and "\x00" in op.reference else ""


Waiter = tuple[Operation, "asyncio.Future[OperationResult]"]


class GroupCommitter:
    """Coalesces concurrent operations of one event loop into batches, each one transaction.

    A batch that fails in the database (or in a commit hook) is split in halves and each half retried,
    down to the single operation at fault: every other operation gets the answer it would have had
    alone. A lost connection fails the batch's operations once (503) and the connection is discarded;
    the next batch runs on a fresh one."""

    def __init__(self, max_batch: int = MAX_BATCH, in_flight: int = 2) -> None:
        self.max_batch = max_batch
        self.in_flight = in_flight
        self.queue: list[Waiter] = []
        self.wakeup = asyncio.Event()
        self.workers: list[tuple[asyncio.Task[None], contextvars.Context]] = []
        self.committing: set[int] = set()
        self.batches = 0
        self.operations = 0
        # Set when a batch lost its connection; cleared by the next batch (or probe) that commits.
        self.lost_connection: str | None = None

    async def submit(self, op: Operation) -> OperationResult:
        future: asyncio.Future[OperationResult] = asyncio.get_running_loop().create_future()
        self.queue.append((op, future))
        if not self.workers or all(task.done() for task, _ in self.workers):
            self.workers = []
            for _ in range(self.in_flight):
                # A clean context: the callers' Piccolo transaction (if any) must not leak into the worker.
                context = contextvars.Context()
                task = asyncio.create_task(self._work(context), name="ledger-group-commit", context=context)
                self.workers.append((task, context))
        self.wakeup.set()
        return await future

    async def _work(self, context: contextvars.Context) -> None:
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
            self.committing.add(id(context))
            try:
                await self._commit(batch)
            finally:
                self.committing.discard(id(context))

    async def _commit(self, batch: list[Waiter]) -> None:
        try:
            results = await run_in_transaction([op for op, _ in batch])
        except Exception as exc:
            if connection_lost(exc):
                log.warning("ledger batch lost its database connection", size=len(batch), error=repr(exc))
                self.lost_connection = f"{exc.__class__.__name__}: {exc}"
                _settle(batch, [_write_path_unavailable()] * len(batch))
                return
            if len(batch) == 1:
                log.warning("ledger operation failed alone", error=repr(exc))
                _settle(batch, [_culprit_error(batch[0][0], exc)])
                return
            # Someone in the batch broke the transaction: find them, the others commit without them.
            half = len(batch) // 2
            await self._commit(batch[:half])
            await self._commit(batch[half:])
            return
        except BaseException as exc:
            _settle(batch, [RuntimeError(str(exc) or exc.__class__.__name__)] * len(batch))
            raise
        self.lost_connection = None
        _settle(batch, results)

    def stuck_transaction(self) -> bool:
        """Whether an idle worker still carries a transaction marker (it would reuse a dead one)."""
        current = engine().current_transaction
        return any(
            not task.done() and context.get(current) is not None and id(context) not in self.committing
            for task, context in self.workers
        )


def _settle(batch: list[Waiter], outcomes: Sequence[OperationResult | BaseException]) -> None:
    for (_, future), outcome in zip(batch, outcomes, strict=True):
        if future.done():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


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
    if op.claim is None:
        op.claim = idempotency.current()
    if engine().current_transaction.get() is not None:
        (result,) = await run_in_transaction([op])
        if isinstance(result, NeracaError):
            raise result
        return result
    return await committer().submit(op)


def note_lost_connection(exc: BaseException) -> None:
    """Record that this process's write path met a dead database outside a batch (the screening before
    it), so `write_path_problem` probes the database until writes work again."""
    found = _COMMITTERS.get(asyncio.get_running_loop())
    if found is not None:
        found.lost_connection = f"{exc.__class__.__name__}: {exc}"


async def write_path_problem() -> str | None:
    """Why this process's ledger writes would fail now, or None when they work.

    A worker holding a transaction between batches is stuck; after a lost connection, an empty batch
    through the same path (a fresh transaction from the pool) decides whether writes work again."""
    found = _COMMITTERS.get(asyncio.get_running_loop())
    if found is None:
        return None
    if found.stuck_transaction():
        return "a group-commit worker holds a finished transaction"
    if found.lost_connection is None:
        return None
    try:
        await run_in_transaction([])
    except Exception as exc:
        return f"{exc.__class__.__name__}: {exc}"
    found.lost_connection = None
    return None
