"""The billing cycle: invoices generated for every period that has ended, and invoices collected on
their due date from the billed account's available balance. Both are set-based, one transaction per
batch, and safe to run twice or in two workers at once:

- a batch locks the subscriptions (invoices) it takes with `FOR UPDATE SKIP LOCKED`, so two workers take
  disjoint rows; the unique key (business_id, subscription_id, period_start) is the last guard;
- invoice numbers come from the business's counter row, bumped in the batch's transaction, so a killed
  or failed batch takes its numbers with it: numbers have no gaps;
- a batch advances each subscription to its next period in the same transaction as its invoice, so a
  clock jump over several periods bills each period once, in order.
"""

from __future__ import annotations

import contextlib
import json
import operator
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from portal.domains.invoices.cycles import Amounts, invoice_amounts, period_end
from portal.domains.invoices.schemas import PreviewOut
from portal.domains.invoices.services.plans import settings
from portal.domains.invoices.services.shared import (
    event_data,
    line_outs,
    number_label,
    percent_label,
    today,
    wib_midnight,
)
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation, OperationResult
from portal.lib import clock, sql
from portal.lib.actor import Actor, system_actor
from portal.lib.errors import NeracaError
from portal.lib.i18n import BABEL_LOCALES, LANGUAGE_CODES
from portal.lib.ids import new_ids
from portal.lib.sql import transaction

INVOICE_COLUMNS = (
    "i.business_id, i.id, i.number, i.subscription_id, i.plan_id, i.account_id, i.receiving_account_id, "
    "i.currency, i.period_start, i.period_end, i.issued_at, i.due_on, i.lines, i.subtotal, i.tax_label, "
    "i.tax_bp, i.tax, i.total, i.paid_amount, i.credited_amount, i.written_off_amount, i.status, i.attempts, "
    "i.next_attempt_on, i.overdue, i.closed_at"
)
# The invoice without its lines: what events carry and the collection reads back.
EVENT_COLUMNS = INVOICE_COLUMNS.replace("i.lines, ", "")
BATCH = 1000

# Money in for a percentage line: posted credits of the account in the period, except invoice payments
# and their credit notes (reversals are excluded by kind).
_MONEY_IN = """
SELECT x.sub_id, coalesce(sum(t.amount), 0)::bigint AS money_in
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
     AS x(business_id, sub_id, account_id, starts, ends)
LEFT JOIN transfer t ON t.credit_account_id = x.account_id AND t.business_id = x.business_id
     AND t.phase IN ('posted', 'post_pending') AND t.kind IN ('topup', 'transfer', 'hold_post')
     AND t.created_at >= x.starts AND t.created_at < x.ends AND NOT (t.metadata ? 'invoice_id')
GROUP BY x.sub_id
"""

# Every column of an invoice, in the order the cycle's binary COPY writes them.
_INVOICE_COPY_COLUMNS = (
    "business_id",
    "id",
    "number",
    "subscription_id",
    "plan_id",
    "account_id",
    "receiving_account_id",
    "currency",
    "period_start",
    "period_end",
    "issued_at",
    "due_on",
    "lines",
    "subtotal",
    "tax_label",
    "tax_bp",
    "tax",
    "total",
    "paid_amount",
    "credited_amount",
    "written_off_amount",
    "status",
    "attempts",
    "next_attempt_on",
    "overdue",
    "closed_at",
)
_STEP_COPY_COLUMNS = ("business_id", "invoice_id", "kind", "amount", "detail", "at")


async def _money_in(rows: list[Any], ends: list[date]) -> dict[str, int]:
    chosen = [(r, end) for r, end in zip(rows, ends, strict=True) if r["percent_bp"]]
    if not chosen:
        return {}
    found = await sql.fetch(
        _MONEY_IN,
        [r["business_id"] for r, _ in chosen],
        [r["id"] for r, _ in chosen],
        [r["account_id"] for r, _ in chosen],
        [wib_midnight(r["period_start"]) for r, _ in chosen],
        [min(wib_midnight(end), clock.now()) for r, end in chosen],
    )
    return {row["sub_id"]: int(row["money_in"]) for row in found}


async def _unbilled_usage(rows: list[Any]) -> dict[str, list[Any]]:
    if not rows:
        return {}
    found = await sql.fetch(
        "SELECT u.business_id, u.subscription_id, u.id, u.description, u.quantity, u.unit_amount "
        "FROM invoice_usage u JOIN unnest($1::text[], $2::text[]) AS x(business_id, sub_id) "
        "ON u.business_id = x.business_id AND u.subscription_id = x.sub_id "
        "WHERE u.invoice_id IS NULL ORDER BY u.subscription_id, u.created_at, u.id",
        [r["business_id"] for r in rows],
        [r["id"] for r in rows],
    )
    out: dict[str, list[Any]] = defaultdict(list)
    for row in found:
        out[row["subscription_id"]].append(row)
    return out


_DUE_SUBSCRIPTIONS = """
SELECT s.business_id, s.id, s.plan_id, s.account_id, s.cycle_day, s.starts_on, s.ends_on, s.period_start,
       s.period_end, p.name, p.currency, p.fixed_amount, p.percent_bp, p.cycle, p.due_days, p.tax_label,
       p.tax_bp, p.receiving_account_id, a.status AS account_status, a.email AS account_email,
       a.name AS account_name, a.credits_posted - a.debits_posted - a.debits_pending AS available
FROM invoice_subscription s
JOIN invoice_plan p ON p.business_id = s.business_id AND p.id = s.plan_id
JOIN account a ON a.business_id = s.business_id AND a.id = s.account_id
WHERE s.status = 'active' AND s.period_end <= $1 AND ($3::text IS NULL OR s.business_id = $3)
  AND (s.period_end, s.id) > ($4::date, $5::text)
ORDER BY s.period_end, s.id
LIMIT $2
FOR UPDATE OF s SKIP LOCKED
"""


# The batch's own statements planned by their indexes (see `_index_plans`).
_INDEX_PLANS_ON = (
    "SET LOCAL enable_sort = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off"
)
_INDEX_PLANS_OFF = (
    "SET LOCAL enable_sort = on; SET LOCAL enable_hashjoin = on; SET LOCAL enable_mergejoin = on"
)


@contextlib.asynccontextmanager
async def _index_plans() -> AsyncIterator[None]:
    """The cycle's own statements in this block are planned by their indexes (restored after it, before
    the ledger's and the events' statements). The planner's estimates would make a cycle quadratic twice:
    - the due rows: right after a bulk load (or the issue half of this run) the statistics say a handful
      of rows are due, so it would fetch every due row, sort them all and keep 1,000 — each batch as slow
      as all remaining rows. With sorts off the due index is walked in order and stops after the batch;
    - the updates joining a batch's `unnest(…)` rows to a table by its key: 1,000 index probes are priced
      above hashing the whole (cached) table, so each batch read every subscription or invoice (80 ms per
      batch at 30,000 rows, 5 ms by the key). With hash and merge joins off: a nested loop over the key.
    One round trip each way; an error rolls the transaction (and the settings) back."""
    await sql.execute(_INDEX_PLANS_ON)
    yield
    await sql.execute(_INDEX_PLANS_OFF)


async def generate_due(*, day: date | None = None, business_id: str | None = None, batch: int = BATCH) -> int:
    """Issue an invoice for every subscription period that ended by `day` (today, WIB); returns how many.

    An invoice already due on `day` (no due days, or a period billed late) is collected by the batch that
    issues it, as `collect_due` would collect it right after (see `_generate_batch`).
    Runs batches until none is due; each batch is one transaction (see the module's docstring). A pass
    walks the due index with a keyset cursor, so a batch never rescans the entries earlier batches
    advanced (dead until vacuum); a subscription advanced to a period that is due again comes later in
    the same pass. Passes repeat until one takes nothing (rows another worker held are retried)."""
    issued, _attempted = await _generate(day or today(), business_id, batch)
    return issued


async def _generate(day: date, business_id: str | None, batch: int) -> tuple[int, int]:
    """The batches of `generate_due`: (invoices issued, collections attempted)."""
    issued = attempted = 0
    while True:
        cursor: tuple[date, str] = (date.min, "")
        taken_in_pass = 0
        while True:
            count, tried, taken, cursor = await _generate_batch(day, business_id, batch, cursor)
            issued += count
            attempted += tried
            taken_in_pass += taken
            if taken == 0:
                break
        if taken_in_pass == 0:
            return issued, attempted


async def _issue_batch(
    day: date, business_id: str | None, batch: int, cursor: tuple[date, str]
) -> tuple[list[dict[str, Any]], list[Any], int, tuple[date, str]]:
    """One batch's invoices numbered and computed (not yet written), its subscriptions advanced and its
    usage lines billed; returns the invoices (every column), the subscription row of each (with its
    account's status and balance), how many subscriptions it took and where the keyset cursor stands."""
    subs = await sql.fetch(_DUE_SUBSCRIPTIONS, day, batch, business_id, *cursor)
    if not subs:
        return [], [], 0, cursor
    reached = (subs[-1]["period_end"], subs[-1]["id"])
    money = await _money_in(subs, [s["period_end"] for s in subs])
    usage = await _unbilled_usage(subs)
    by_business: dict[str, list[Any]] = defaultdict(list)
    for sub in subs:
        by_business[sub["business_id"]].append(sub)
    businesses = sorted(by_business)
    # The counters, in business order (two workers never wait on each other in a cycle).
    counters = await sql.fetch(
        "INSERT INTO invoice_counter (business_id, last_number) "
        "SELECT b, n FROM unnest($1::text[], $2::bigint[]) AS t(b, n) ORDER BY b "
        "ON CONFLICT (business_id) DO UPDATE SET last_number = invoice_counter.last_number + "
        "excluded.last_number RETURNING business_id, last_number",
        businesses,
        [len(by_business[b]) for b in businesses],
    )
    last = {row["business_id"]: int(row["last_number"]) for row in counters}
    issued_at = clock.now()
    invoices: list[dict[str, Any]] = []
    billed: list[Any] = []
    usage_ids: list[str] = []
    usage_invoices: list[str] = []
    usage_businesses: list[str] = []
    advance: list[tuple[str, str, date, date, str]] = []
    invoice_ids = iter(new_ids("inv", len(subs)))
    same_amounts: dict[tuple[str, str, int], tuple[Amounts, str]] = {}
    for business in businesses:
        number = last[business] - len(by_business[business])
        for sub in by_business[business]:
            number += 1
            invoice_id = next(invoice_ids)
            lines = usage.get(sub["id"], [])
            money_in = money.get(sub["id"], 0)
            # Invoices without usage lines of one plan and the same money in are alike: computed once.
            alike = (business, sub["plan_id"], money_in)
            found = None if lines else same_amounts.get(alike)
            if found is None:
                amounts = invoice_amounts(
                    plan_name=sub["name"],
                    fixed_amount=sub["fixed_amount"],
                    percent_bp=sub["percent_bp"],
                    tax_bp=sub["tax_bp"],
                    money_in=money_in,
                    usage=[(u["description"], u["quantity"], u["unit_amount"]) for u in lines],
                )
                found = (amounts, json.dumps([line.as_dict() for line in amounts.lines]))
                if not lines:
                    same_amounts[alike] = found
            amounts, lines_json = found
            due_on = sub["period_end"] + timedelta(days=sub["due_days"])
            settled = amounts.total == 0
            invoices.append(
                {
                    "business_id": business,
                    "id": invoice_id,
                    "number": number,
                    "subscription_id": sub["id"],
                    "plan_id": sub["plan_id"],
                    "account_id": sub["account_id"],
                    "receiving_account_id": sub["receiving_account_id"],
                    "currency": sub["currency"],
                    "period_start": sub["period_start"],
                    "period_end": sub["period_end"],
                    "issued_at": issued_at,
                    "due_on": due_on,
                    "lines": lines_json,
                    "subtotal": amounts.subtotal,
                    "tax_label": sub["tax_label"],
                    "tax_bp": sub["tax_bp"],
                    "tax": amounts.tax,
                    "total": amounts.total,
                    "paid_amount": 0,
                    "credited_amount": 0,
                    "written_off_amount": 0,
                    "status": "paid" if settled else "open",
                    "attempts": 0,
                    "next_attempt_on": None if settled else due_on,
                    "overdue": False,
                    "closed_at": issued_at if settled else None,
                }
            )
            billed.append(sub)
            for u in lines:
                usage_ids.append(u["id"])
                usage_invoices.append(invoice_id)
                usage_businesses.append(business)
            start = sub["period_end"]
            if sub["ends_on"] is not None and start >= sub["ends_on"]:
                advance.append((business, sub["id"], sub["period_start"], sub["period_end"], "ended"))
            else:
                end = period_end(sub["cycle"], sub["cycle_day"], sub["starts_on"], start, sub["ends_on"])
                advance.append((business, sub["id"], start, end, "active"))
    await sql.execute(
        "UPDATE invoice_subscription s SET period_start = x.ps, period_end = x.pe, status = x.st "
        "FROM unnest($1::text[], $2::text[], $3::date[], $4::date[], $5::text[]) AS x(b, id, ps, pe, st) "
        "WHERE s.business_id = x.b AND s.id = x.id",
        *[list(col) for col in zip(*advance, strict=True)],
    )
    if usage_ids:
        await sql.execute(
            "UPDATE invoice_usage u SET invoice_id = x.inv "
            "FROM unnest($1::text[], $2::text[], $3::text[]) AS x(b, id, inv) "
            "WHERE u.business_id = x.b AND u.id = x.id",
            usage_businesses,
            usage_ids,
            usage_invoices,
        )
    return invoices, billed, len(subs), reached


def _about(row: Any) -> tuple[str, str]:
    return (row["account_id"], row["receiving_account_id"])


async def _generate_batch(
    day: date, business_id: str | None, batch: int, cursor: tuple[date, str]
) -> tuple[int, int, int, tuple[date, str]]:
    """One batch of `generate_due`, one transaction: the invoices are computed, those already due on
    `day` are collected by one ledger `apply_operations` (each all-or-nothing, refused alone, with the
    same steps, dunning and events as `collect_due`), then every invoice is written once, in its final
    state, by binary COPY, its steps (issued, then the collection's) likewise, and all the batch's events
    by one statement — an invoice collected the day it is issued is never written twice.
    Returns (issued, attempted, subscriptions taken, keyset cursor)."""
    async with transaction():
        async with _index_plans():
            invoices, subs, taken, reached = await _issue_batch(day, business_id, batch, cursor)
        if not invoices:
            return 0, 0, taken, reached
        # The events and the `issued` steps tell of the invoices as issued, before any collection.
        events: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
            (r["business_id"], "invoice.created", event_data(r), _about(r)) for r in invoices
        ]
        events += [
            (r["business_id"], "invoice.paid", event_data(r), _about(r))
            for r in invoices
            if r["status"] == "paid"
        ]
        steps = [(r["business_id"], r["id"], "issued", r["total"], "{}", r["issued_at"]) for r in invoices]
        due = [
            {
                **invoice,
                "account_status": sub["account_status"],
                "account_email": sub["account_email"],
                "account_name": sub["account_name"],
                "available": sub["available"],
            }
            for invoice, sub in zip(invoices, subs, strict=True)
            if invoice["status"] == "open" and invoice["next_attempt_on"] <= day
        ]
        by_id = {r["id"]: r for r in invoices}
        settled = await _settle(due, day) if due else None
        if settled is not None:
            closed_at = clock.now()
            for _business, invoice_id, paid, status, tries, retry_on, overdue in settled.updates:
                by_id[invoice_id].update(
                    paid_amount=paid,
                    status=status,
                    attempts=tries,
                    next_attempt_on=retry_on,
                    overdue=overdue,
                    closed_at=closed_at if status == "paid" else None,
                )
        async with sql.connection() as conn:
            await conn.copy_records_to_table(
                "invoice", records=map(_invoice_record, invoices), columns=_INVOICE_COPY_COLUMNS
            )
        if settled is not None:
            await _dunning(settled.failed, by_id, settled.rules, settled.steps)
            steps += _step_records(settled.steps, clock.now())
            events += _collection_events(settled, [by_id[u[1]] for u in settled.updates], by_id)
        await _copy_steps(steps)
        await _events(events)
        return len(invoices), len(due), taken, reached
    raise AssertionError("the transaction block returns")


_invoice_record = operator.itemgetter(*_INVOICE_COPY_COLUMNS)

# (business_id, invoice_id, kind, amount, detail as JSON text, at): one step as COPY writes it.
StepRecord = tuple[str, str, str, int, str, datetime]


def _step_records(
    rows: Sequence[tuple[str, str, str, int, dict[str, Any] | None]], at: datetime
) -> list[StepRecord]:
    return [(b, i, k, a, "{}" if d is None else json.dumps(d, default=str), at) for b, i, k, a, d in rows]


async def _copy_steps(records: list[StepRecord]) -> None:
    if not records:
        return
    async with sql.connection() as conn:
        await conn.copy_records_to_table("invoice_step", records=records, columns=_STEP_COPY_COLUMNS)


async def _steps(rows: Sequence[tuple[str, str, str, int, dict[str, Any] | None]]) -> None:
    """Write these steps (business_id, invoice_id, kind, amount, detail), all dated now."""
    await _copy_steps(_step_records(rows, clock.now()))


async def _events(rows: list[tuple[str, str, dict[str, Any], tuple[str, ...]]]) -> None:
    if not rows:
        return
    from portal.domains.webhooks.services import emit_many

    async with sql.connection() as conn:
        await emit_many(conn, rows)


# --- collection ---------------------------------------------------------------------------------

_DUE_INVOICES = f"""
SELECT {INVOICE_COLUMNS}, a.status AS account_status, a.email AS account_email, a.name AS account_name,
       a.credits_posted - a.debits_posted - a.debits_pending AS available
FROM invoice i JOIN account a ON a.business_id = i.business_id AND a.id = i.account_id
WHERE i.status = 'open' AND i.next_attempt_on <= $1 AND ($3::text IS NULL OR i.business_id = $3)
  AND (i.next_attempt_on, i.id) > ($4::date, $5::text)
ORDER BY i.next_attempt_on, i.id
LIMIT $2
FOR UPDATE OF i SKIP LOCKED
"""


@dataclass
class Attempt:
    row: Any
    amount: int
    op: Operation | None


@dataclass
class Settled:
    """A batch's collection attempts once the ledger has answered: what each invoice becomes."""

    rules: dict[str, Any]
    # (business_id, invoice_id, paid_amount, status, attempts, next_attempt_on, overdue), in row order.
    updates: list[tuple[Any, ...]]
    steps: list[tuple[str, str, str, int, dict[str, Any] | None]]
    transfers: list[dict[str, Any]]
    # (the attempt's row, the reason, whether it was the last retry)
    failed: list[tuple[Any, str, bool]]


async def collect_due(*, day: date | None = None, business_id: str | None = None, batch: int = BATCH) -> int:
    """Collect every open invoice whose (re)try date has come; returns how many were attempted.

    Each batch is one transaction: the invoices' payments are one `apply_operations` of the ledger (each
    invoice all-or-nothing), the invoices, their steps, events and notifications change with them."""
    attempted = 0
    when = day or today()
    while True:
        # One pass by keyset cursor (see generate_due); a failed attempt moves to a later day.
        cursor: tuple[date, str] = (date.min, "")
        taken_in_pass = 0
        while True:
            async with transaction():
                async with _index_plans():
                    rows = await sql.fetch(_DUE_INVOICES, when, batch, business_id, *cursor)
                if rows:
                    await _attempt(rows, when)
            if not rows:
                break
            cursor = (rows[-1]["next_attempt_on"], rows[-1]["id"])
            taken_in_pass += len(rows)
        attempted += taken_in_pass
        if taken_in_pass == 0:
            return attempted


async def collect_rows(rows: list[Any], day: date) -> None:
    """Attempt to collect these locked invoice rows (with their account's balance columns) now."""
    await _attempt(rows, day)


async def _settle(rows: list[Any], day: date) -> Settled:
    """Attempt to collect these invoice rows (each with its account's status, contact and available
    balance): one ledger `apply_operations` for all, then what each invoice becomes (nothing written)."""
    from portal.domains.payouts.services import load_calendar

    rules = {b: await settings(b) for b in {r["business_id"] for r in rows}}
    available: dict[str, int] = {}
    attempts: list[Attempt] = []
    for row in rows:
        due = row["total"] - row["paid_amount"] - row["written_off_amount"]
        left = available.setdefault(row["account_id"], int(row["available"]))
        amount = due
        if left < due and rules[row["business_id"]].partial_collection and row["account_status"] == "active":
            amount = max(left, 0)
        if amount <= 0:
            attempts.append(Attempt(row, 0, None))
            continue
        label = number_label(row["number"])
        op = Operation(
            row["business_id"],
            [
                Leg(
                    row["account_id"],
                    row["receiving_account_id"],
                    amount,
                    kind="transfer",
                    description=f"Invoice {label}",
                    metadata={"invoice_id": row["id"], "invoice_number": label},
                )
            ],
            reference=f"{label}-{row['attempts'] + 1}",
        )
        available[row["account_id"]] = left - amount
        attempts.append(Attempt(row, amount, op))
    ops = [a.op for a in attempts if a.op is not None]
    results = iter(await engine.run_in_transaction(ops)) if ops else iter(())
    calendar = None  # read on the first failed attempt: a batch that collects everything needs no retry day
    updates: list[tuple[Any, ...]] = []
    steps: list[tuple[str, str, str, int, dict[str, Any] | None]] = []
    transfers: list[dict[str, Any]] = []
    failed: list[tuple[Any, str, bool]] = []
    for attempt in attempts:
        row = attempt.row
        outcome: OperationResult | NeracaError | None = next(results) if attempt.op is not None else None
        paid = row["paid_amount"]
        reason = "insufficient_funds"
        if isinstance(outcome, OperationResult):
            paid += attempt.amount
            transfers.extend(outcome.transfers)
            steps.append(
                (
                    row["business_id"],
                    row["id"],
                    "collected",
                    attempt.amount,
                    {"transfer_id": outcome.transfers[0]["id"]},
                )
            )
        elif isinstance(outcome, NeracaError):
            reason = outcome.code or "refused"
        elif row["account_status"] != "active":
            reason = "account_frozen" if row["account_status"] == "frozen" else "account_closed"
        if paid == row["total"] - row["written_off_amount"]:
            updates.append(
                (row["business_id"], row["id"], paid, "paid", row["attempts"], None, row["overdue"])
            )
            continue
        tries = row["attempts"] + 1
        retries = rules[row["business_id"]].dunning_retries
        last = tries > retries
        if not last and calendar is None:
            calendar = await load_calendar()
        retry_on = None if last or calendar is None else calendar.next_business_day(day)
        updates.append((row["business_id"], row["id"], paid, "open", tries, retry_on, row["overdue"] or last))
        steps.append(
            (
                row["business_id"],
                row["id"],
                "payment_failed",
                row["total"] - paid - row["written_off_amount"],
                {"reason": reason, "attempt": tries, "retry_on": retry_on},
            )
        )
        failed.append((row, reason, last))
    return Settled(rules, updates, steps, transfers, failed)


async def _attempt(rows: list[Any], day: date) -> None:
    settled = await _settle(rows, day)
    async with _index_plans():
        changed = await sql.fetch(
            "UPDATE invoice i SET paid_amount = x.paid, status = x.st, attempts = x.tries, "
            "next_attempt_on = x.next, "
            "overdue = x.overdue, closed_at = CASE WHEN x.st = 'paid' THEN $8::timestamptz ELSE NULL END "
            "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::integer[], $6::date[], "
            "$7::boolean[]) "
            "AS x(b, id, paid, st, tries, next, overdue) WHERE i.business_id = x.b AND i.id = x.id "
            f"RETURNING {EVENT_COLUMNS}",
            *[list(col) for col in zip(*settled.updates, strict=True)],
            clock.now(),
        )
    by_id = {r["id"]: r for r in changed}
    await _dunning(settled.failed, by_id, settled.rules, settled.steps)
    await _steps(settled.steps)
    await _events(_collection_events(settled, changed, by_id))


def _collection_events(
    settled: Settled, changed: Sequence[Any], by_id: dict[str, Any]
) -> list[tuple[str, str, dict[str, Any], tuple[str, ...]]]:
    """The events of a batch's collection: its transfers, then the invoices paid, then the failures."""
    events: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = []
    if settled.transfers:
        import msgspec

        from portal.domains.ledger.services import transfer_out

        for t in settled.transfers:
            events.append(
                (
                    t["business_id"],
                    "transfer.created",
                    msgspec.to_builtins(transfer_out(t)),
                    (t["debit_account_id"], t["credit_account_id"]),
                )
            )
    for r in changed:
        if r["status"] == "paid":
            events.append((r["business_id"], "invoice.paid", event_data(r), _about(r)))
    for row, _reason, last in settled.failed:
        r = by_id[row["id"]]
        events.append((r["business_id"], "invoice.payment_failed", event_data(r), _about(r)))
        if last and not row["overdue"]:
            events.append((r["business_id"], "invoice.overdue", event_data(r), _about(r)))
    return events


async def _dunning(
    failed: list[tuple[Any, str, bool]],
    by_id: dict[str, Any],
    rules: dict[str, Any],
    steps: list[tuple[str, str, str, int, dict[str, Any] | None]],
) -> None:
    """Tell the account's users (a notification) and its contact address (an e-mail) about each failed
    collection; after the last retry mark it overdue and, when the business chose so, freeze the account."""
    if not failed:
        return
    from portal.domains.notifications.services import notify_many

    notices = []
    languages = await _mail_languages({(r["business_id"], r["account_email"]) for r, _, _ in failed})
    for row, reason, last in failed:
        r = by_id[row["id"]]
        due = r["total"] - r["paid_amount"] - r["written_off_amount"]
        kind = "invoice.overdue" if last else "invoice.payment_failed"
        params = {
            "number": number_label(r["number"]),
            "amount": due,
            "currency": r["currency"],
            "retry_on": r["next_attempt_on"].isoformat() if r["next_attempt_on"] else "",
            "reason": reason,
        }
        notices.append((r["business_id"], r["account_id"], kind, params, f"/invoices/{r['id']}"))
        steps.append((r["business_id"], r["id"], "notified", due, {"kind": kind}))
        if row["account_email"]:
            language = languages.get((r["business_id"], row["account_email"]), "en")
            await _mail(r, row["account_email"], row["account_name"], due, last, language)
            steps.append((r["business_id"], r["id"], "emailed", due, {"to": row["account_email"]}))
        if last and rules[r["business_id"]].freeze_after_dunning and row["account_status"] == "active":
            await _freeze(r["business_id"], r["account_id"])
            steps.append((r["business_id"], r["id"], "account_frozen", due, {"account_id": r["account_id"]}))
    await notify_many(notices)


MAIL_TEMPLATE = "invoice_payment_failed"


async def _mail_languages(contacts: set[tuple[str, str | None]]) -> dict[tuple[str, str], str]:
    """The language of each (business, contact address): the language of the business's active user with
    that address when there is one, else the business's default language (English or Indonesian)."""
    pairs = [(b, e) for b, e in contacts if e]
    if not pairs:
        return {}
    rows = await sql.fetch(
        "SELECT x.b, x.e, coalesce((SELECT nullif(u.language, '') FROM app_user u WHERE u.business_id = x.b "
        "AND lower(u.email) = lower(x.e) AND u.status = 'active' ORDER BY u.created_at, u.id LIMIT 1), "
        "bz.default_language) AS language "
        "FROM unnest($1::text[], $2::text[]) AS x(b, e) JOIN business bz ON bz.id = x.b",
        [b for b, _ in pairs],
        [e for _, e in pairs],
    )
    return {(r["b"], r["e"]): r["language"] if r["language"] in LANGUAGE_CODES else "en" for r in rows}


async def _mail(row: Any, to: str, account_name: str, due: int, last: bool, language: str) -> None:
    from babel.dates import format_date

    from portal.domains.identity import mail
    from portal.lib.money import format_money
    from portal.settings import get_settings

    mail.TEMPLATES.add(MAIL_TEMPLATE)
    await mail.queue(
        MAIL_TEMPLATE,
        to=to,
        language=language,
        business_id=row["business_id"],
        context={
            "account_name": account_name,
            "number": number_label(row["number"]),
            "amount": format_money(due, row["currency"], BABEL_LOCALES[language]),
            "retry_on": format_date(row["next_attempt_on"], "long", locale=BABEL_LOCALES[language])
            if row["next_attempt_on"]
            else "",
            "last": last,
            "link": f"{get_settings().base_url}/invoices/{row['id']}",
        },
    )


async def _freeze(business_id: str, account_id: str) -> None:
    from portal.domains.accounts import services as accounts

    await accounts.set_status(system_actor(business_id), account_id, "freeze")


# --- the dry run --------------------------------------------------------------------------------


async def preview(actor: Actor, subscription_id: str) -> PreviewOut:
    """The next invoice of a subscription as it would be issued now, without writing anything."""
    from portal.domains.invoices.services.subscriptions import SUBSCRIPTION_COLUMNS, subscription_row

    actor.require("invoices", "view")
    sub = await subscription_row(actor, subscription_id)
    row = await sql.fetchrow(
        f"SELECT {SUBSCRIPTION_COLUMNS}, p.name, p.currency, p.fixed_amount, p.percent_bp, p.cycle, "
        "p.due_days, "
        "p.tax_label, p.tax_bp, p.receiving_account_id FROM invoice_subscription s "
        "JOIN invoice_plan p ON p.business_id = s.business_id AND p.id = s.plan_id "
        "WHERE s.business_id = $1 AND s.id = $2",
        actor.business_id,
        sub["id"],
    )
    assert row is not None
    money = await _money_in([row], [row["period_end"]])
    usage = await _unbilled_usage([row])
    amounts = invoice_amounts(
        plan_name=row["name"],
        fixed_amount=row["fixed_amount"],
        percent_bp=row["percent_bp"],
        tax_bp=row["tax_bp"],
        money_in=money.get(row["id"], 0),
        usage=[(u["description"], u["quantity"], u["unit_amount"]) for u in usage.get(row["id"], [])],
    )
    return PreviewOut(
        subscription_id=row["id"],
        account_id=row["account_id"],
        currency=row["currency"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        due_on=row["period_end"] + timedelta(days=row["due_days"]),
        lines=line_outs([line.as_dict() for line in amounts.lines]),
        subtotal=amounts.subtotal,
        tax_label=row["tax_label"],
        tax_percent=percent_label(row["tax_bp"]),
        tax=amounts.tax,
        total=amounts.total,
    )


async def run_cycle(*, day: date | None = None, business_id: str | None = None) -> tuple[int, int]:
    """One run of the cycle: issue what is due (collecting what is due at once), then collect what is
    due; (issued, attempted)."""
    when = day or today()
    issued, attempted = await _generate(when, business_id, BATCH)
    attempted += await collect_due(day=when, business_id=business_id)
    return issued, attempted
