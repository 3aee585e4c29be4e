"""Deductions of refunds of settled payments that the channel's batches did not work off in time.

A refund of a settled payment is owed by each destination and taken out of what it receives in the
channel's next batches (`settlements.apply_batch`). The reference says nothing of a destination that
receives nothing more; Neraca's rule (docs/payments.md): once a deduction is older than the business's
grace days (Settings → Settlement, `deduction_grace_days`, default 14), each settlement run takes what is
still owed from the destination's available balance — an account destination's own account, a bank
destination's from the batch settlement funds (the default settlement account, else the payment's own
account) — one transfer per deduction (kind `deduction_from_balance`), never more than is available;
what cannot be taken stays owed and is taken at a later run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation, OperationResult
from portal.domains.ledger.services.shared import audit
from portal.domains.payments.schemas import DeductionOut, DeductionPage
from portal.domains.payments.services.settings import deduction_grace_days, default_settlement_account
from portal.lib import clock, sql
from portal.lib.actor import Actor, system_actor
from portal.lib.errors import Forbidden
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.sql import transaction

BALANCE_KIND = "deduction_from_balance"


async def take_overdue_deductions(business_id: str) -> list[str]:
    """One settlement run's balance takes: every open deduction of the business older than its grace
    days gives what is still owed, up to the debited account's available balance, as one transfer to
    `world` (audited). A refused transfer (the account frozen or closed, or its balance fell meanwhile)
    takes nothing. Returns the ids of the deductions something was taken from."""
    cutoff = clock.now() - timedelta(days=await deduction_grace_days(business_id))
    async with transaction():
        rows = await sql.fetch(
            "SELECT d.*, p.invoice_number, p.account_id AS payment_account_id FROM settlement_deduction d "
            "JOIN payment p ON p.business_id = d.business_id AND p.id = d.payment_id "
            "WHERE d.business_id = $1 AND d.remaining > 0 AND d.created_at <= $2 "
            "ORDER BY d.created_at, d.id FOR UPDATE OF d",
            business_id,
            cutoff,
        )
        if not rows:
            return []
        funds = await default_settlement_account(business_id)
        debited = {
            r["id"]: r["account_id"] if r["kind"] == "account" else funds or r["payment_account_id"]
            for r in rows
        }
        available = {
            str(a["id"]): int(a["available"])
            for a in await sql.fetch(
                "SELECT id, credits_posted - debits_posted - debits_pending AS available FROM account "
                "WHERE business_id = $1 AND id = ANY($2::text[])",
                business_id,
                sorted(set(debited.values())),
            )
        }
        world = await accounts.system_account_id(business_id, "IDR", "world")
        ops: list[tuple[asyncpg.Record, Operation]] = []
        for row in rows:
            account_id = debited[row["id"]]
            take = min(int(row["remaining"]), max(available.get(account_id, 0), 0))
            if take <= 0:
                continue
            available[account_id] -= take
            text = (
                "Refund fee from balance"
                if row["reason"] == "refund_fee"
                else "Refund deduction from balance"
            )
            leg = Leg(
                account_id,
                world,
                take,
                kind=BALANCE_KIND,
                description=f"{text} {row['invoice_number']}",
                metadata={
                    "payment_id": row["payment_id"],
                    "refund_id": row["refund_id"],
                    "deduction_id": row["id"],
                },
            )
            ops.append((row, Operation(business_id, [leg], source_id=row["id"], internal=True)))
        results = await engine.run_in_transaction([op for _, op in ops]) if ops else []
        taken: list[tuple[asyncpg.Record, Leg]] = [
            (row, op.legs[0])
            for (row, op), result in zip(ops, results, strict=True)
            if isinstance(result, OperationResult)
        ]
        if not taken:
            return []
        await sql.execute(
            "INSERT INTO settlement_deduction_debit (business_id, id, deduction_id, account_id, amount, "
            "transfer_id, created_at) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], "
            "$5::bigint[], $6::text[], $7::timestamptz[])",
            business_id,
            [new_id("ddb") for _ in taken],
            [row["id"] for row, _ in taken],
            [leg.debit_account_id for _, leg in taken],
            [leg.amount for _, leg in taken],
            [leg.transfer_id for _, leg in taken],
            [clock.now()] * len(taken),
        )
        await sql.execute(
            "UPDATE settlement_deduction d SET remaining = d.remaining - v.amount FROM "
            "unnest($2::text[], $3::bigint[]) AS v(id, amount) WHERE d.business_id = $1 AND d.id = v.id",
            business_id,
            [row["id"] for row, _ in taken],
            [leg.amount for _, leg in taken],
        )
        actor = system_actor(business_id)
        for row, leg in taken:
            await audit(
                actor,
                "settlement_deduction.from_balance",
                f"{leg.amount} of deduction {row['id']} ({row['invoice_number']}) taken from the balance of "
                f"{leg.debit_account_id}; {int(row['remaining']) - leg.amount} still owed",
                {
                    "deduction_id": row["id"],
                    "payment_id": row["payment_id"],
                    "account_id": leg.debit_account_id,
                    "transfer_id": leg.transfer_id,
                },
            )
    return [row["id"] for row, _ in taken]


def deduction_status(remaining: int, balance_from: datetime, now: datetime) -> str:
    """`settled` (nothing owed), `overdue` (the settlement runs take it from the balance), or `open`."""
    if remaining <= 0:
        return "settled"
    return "overdue" if now >= balance_from else "open"


def _out(row: asyncpg.Record, grace: int, now: datetime) -> DeductionOut:
    balance_from = row["created_at"] + timedelta(days=grace)
    return DeductionOut(
        id=row["id"],
        refund_id=row["refund_id"],
        payment_id=row["payment_id"],
        invoice_number=row["invoice_number"],
        channel=row["channel"],
        kind=row["kind"],
        account_id=row["account_id"],
        beneficiary_id=row["beneficiary_id"],
        reason=row["reason"],
        amount=int(row["amount"]),
        taken_by_batches=int(row["by_batches"]),
        taken_from_balance=int(row["from_balance"]),
        remaining=int(row["remaining"]),
        status=deduction_status(int(row["remaining"]), balance_from, now),
        balance_from=balance_from,
        created_at=row["created_at"],
    )


async def list_deductions(
    actor: Actor, *, status: str | None = None, limit: int | None = None, after: str | None = None
) -> DeductionPage:
    """The business's refund deductions, newest first: what each destination owes, what the batches and
    the balance takes took, and what is still owed (`status` `owed` = open or overdue, or `settled`)."""
    actor.require("payments")
    if actor.scope_account_id is not None:
        raise Forbidden(
            N_("Settlement batches cover the whole business: they need access to the whole business.")
        )
    size = clamp_limit(limit)
    args: list[Any] = [actor.business_id]
    where = ["true"]
    if status == "owed":
        where.append("d.remaining > 0")
    elif status == "settled":
        where.append("d.remaining = 0")
    cursor = decode_cursor(after)
    if cursor is not None:
        args.append(str(cursor))
        where.append(f"d.id < ${len(args)}")
    args.append(size + 1)
    rows = await sql.fetch(
        "SELECT d.*, p.invoice_number, "
        "(SELECT coalesce(sum(t.amount), 0) FROM settlement_deduction_take t WHERE t.business_id = "
        "d.business_id AND t.deduction_id = d.id) AS by_batches, "
        "(SELECT coalesce(sum(b.amount), 0) FROM settlement_deduction_debit b WHERE b.business_id = "
        "d.business_id AND b.deduction_id = d.id) AS from_balance "
        "FROM settlement_deduction d JOIN payment p ON p.business_id = d.business_id AND p.id = d.payment_id "
        f"WHERE d.business_id = $1 AND {' AND '.join(where)} ORDER BY d.id DESC LIMIT ${len(args)}",
        *args,
    )
    page = rows[:size]
    grace = await deduction_grace_days(actor.business_id)
    now = clock.now()
    next_cursor = encode_cursor(page[-1]["id"]) if len(rows) > size else None
    return DeductionPage([_out(r, grace, now) for r in page], next_cursor is not None, next_cursor)
