"""The ledger service (docs/ledger.md): transfers, groups, holds, reversals, balances, top-ups, withdrawals.

Writes go through `engine.execute`, which applies an operation inside the caller's transaction or, with
none open, by group commit. Lock order everywhere: references, then the money object's own row (hold,
top-up, withdrawal), then accounts (id order), then the activity log — so no two paths wait on each
other in a cycle.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.accounts.labels import display_name
from portal.domains.accounts.schemas import BalanceOut, SettlementBank
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation, OperationResult
from portal.domains.ledger.labels import status_label
from portal.domains.ledger.schemas import (
    HoldOut,
    TopUpOut,
    TopUpPage,
    TransferGroupOut,
    TransferOut,
    TransferPage,
    WithdrawalOut,
    WithdrawalPage,
)
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict, FieldError, NotFound, ValidationFailed
from portal.lib.i18n import gettext
from portal.lib.ids import new_id
from portal.lib.jobs import enqueue
from portal.lib.money import check_amount, format_money
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.sql import transaction

DEFAULT_FEES = {"topup": 6000, "withdrawal": 8000, "transfer": 0}
TOPUP_VALIDITY = timedelta(hours=24)
MAX_HOLD_VALIDITY = timedelta(days=90)
# Where payers send top-up money (the business's collection account at the bank); virtual account per order.
COLLECTION_BANK = "014"
TRANSFER_COLUMNS = (
    "id, business_id, debit_account_id, credit_account_id, amount, currency, phase, released_amount, "
    "hold_id, kind, reference, description, metadata, group_id, reverses_id, source_id, created_at, seq"
)


# --- validation ---------------------------------------------------------------------------------


def _amount(value: Any, pointer: str = "/amount") -> int:
    return check_amount(value, pointer=pointer)


def _reference(value: Any, pointer: str = "/reference") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(
            gettext("A reference is required."), errors=[FieldError(pointer, gettext("required"))]
        )
    value = value.strip()
    if len(value) > 100 or any(ord(ch) < 32 for ch in value):
        raise ValidationFailed(
            gettext("A reference is at most 100 printable characters."),
            errors=[FieldError(pointer, gettext("invalid"))],
        )
    return value


def _description(value: Any, pointer: str = "/description") -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 500:
        raise ValidationFailed(
            gettext("A description is at most 500 characters."),
            errors=[FieldError(pointer, gettext("too long"))],
        )
    return value.strip()


def _metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 50 or len(json.dumps(value)) > 8000:
        raise ValidationFailed(
            gettext("metadata is an object of at most 50 keys and 8,000 characters."),
            errors=[FieldError("/metadata", gettext("invalid"))],
        )
    return value


def _distinct(from_id: str, to_id: str, pointer: str = "") -> None:
    if from_id == to_id:
        raise ValidationFailed(
            gettext("The source and destination are the same account."),
            code="same_account",
            errors=[FieldError(f"{pointer}/to_account_id", gettext("same as the source account"))],
        )


async def business_fees(business_id: str) -> dict[str, int]:
    """The business's fee settings (identity owns them); the reference defaults fill any gap."""
    fees = dict(DEFAULT_FEES)
    try:
        from portal.domains.identity.services import get_business
    except ImportError:  # identity's business settings not present: the reference defaults apply
        return fees
    business = await get_business(business_id)
    fees.update({k: int(v) for k, v in (getattr(business, "fees", None) or {}).items() if k in fees})
    return fees


# --- output -------------------------------------------------------------------------------------


def transfer_out(row: dict[str, Any] | asyncpg.Record) -> TransferOut:
    return TransferOut(
        id=row["id"],
        from_account_id=row["debit_account_id"],
        to_account_id=row["credit_account_id"],
        amount=int(row["amount"]),
        currency=row["currency"],
        reference=row["reference"],
        description=row["description"],
        kind=row["kind"],
        group_id=row["group_id"],
        created_at=row["created_at"],
    )


def hold_out(row: dict[str, Any] | asyncpg.Record) -> HoldOut:
    return HoldOut(
        id=row["id"],
        from_account_id=row["debit_account_id"],
        to_account_id=row["credit_account_id"],
        amount=int(row["amount"]),
        posted_amount=int(row["posted_amount"]),
        currency=row["currency"],
        reference=row["reference"],
        status=row["status"],
        expires_at=row["expires_at"],
        created_at=row["created_at"],
    )


def topup_out(row: dict[str, Any] | asyncpg.Record) -> TopUpOut:
    return TopUpOut(
        id=row["id"],
        account_id=row["account_id"],
        amount=int(row["amount"]),
        fee=int(row["fee"]),
        total=int(row["amount"]) + int(row["fee"]),
        currency=row["currency"],
        reference=row["reference"],
        status=row["status"],
        payment_instructions=SettlementBank(
            row["pay_bank_code"], row["pay_account_number"], row["pay_holder_name"]
        ),
        expires_at=row["expires_at"],
        paid_at=row["paid_at"],
        created_at=row["created_at"],
    )


def withdrawal_out(row: dict[str, Any] | asyncpg.Record) -> WithdrawalOut:
    return WithdrawalOut(
        id=row["id"],
        account_id=row["account_id"],
        amount=int(row["amount"]),
        fee=int(row["fee"]),
        total=int(row["amount"]) + int(row["fee"]),
        currency=row["currency"],
        reference=row["reference"],
        status=row["status"],
        bank=SettlementBank(row["bank_code"], row["bank_account_number"], row["bank_holder_name"]),
        failure_reason=row["failure_reason"],
        created_at=row["created_at"],
        completed_at=row["completed_at"],
    )


# --- shared helpers -----------------------------------------------------------------------------


async def _audit(actor: Actor, action: str, summary: str, refs: dict[str, str | None]) -> None:
    """One activity-log row: collected for the whole batch inside a group commit, else written now."""
    from portal.domains.audit.services import record

    clean = {k: v for k, v in refs.items() if v is not None}
    batch = engine.deferred()
    if batch is not None:
        batch.audits.append((actor, action, summary, clean))
        return
    await record(actor, action, summary, refs=clean, business_id=actor.business_id)


async def _notify(business_id: str, account_id: str, kind: str, params: dict[str, Any], link: str) -> None:
    from portal.domains.notifications.services import notify

    batch = engine.deferred()
    if batch is not None:
        batch.notifications.append((business_id, account_id, kind, params, link))
        return
    await notify(business_id, account_id, kind, params, link)


async def _execute(op: Operation) -> OperationResult:
    """engine.execute (its refusals render in the language of whoever shows them)."""
    return await engine.execute(op)


async def _claim_reference(business_id: str, reference: str, object_id: str) -> None:
    """Register a money object's reference (unique per business forever) in the current transaction."""
    won = await sql.fetchval(
        "INSERT INTO ledger_reference (business_id, reference, object_id) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING RETURNING object_id",
        business_id,
        reference,
        object_id,
    )
    if won is None:
        raise engine._duplicate(reference)


async def _account_names(ids: list[str]) -> dict[str, str]:
    """Names as shown: system accounts by their translated role ("Biaya (IDR)")."""
    rows = await sql.fetch(
        "SELECT id, name, kind, system_role, currency FROM account WHERE id = ANY($1::text[])", ids
    )
    return {r["id"]: display_name(r["name"], r["kind"], r["system_role"], r["currency"]) for r in rows}


# --- transfers ----------------------------------------------------------------------------------


async def create_transfer(
    actor: Actor,
    *,
    from_account_id: str,
    to_account_id: str,
    amount: int,
    reference: str,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> TransferOut:
    """Move `amount` (minor units) between two accounts the actor may act on; free; the receiving side
    is notified. Refused with a specific error (nothing written) on any bad input."""
    actor.require("transfers", "manage")
    amount = _amount(amount)
    ref = _reference(reference)
    desc = _description(description)
    meta = _metadata(metadata)
    _distinct(from_account_id, to_account_id)
    leg = Leg(from_account_id, to_account_id, amount, kind="transfer", description=desc, metadata=meta)

    async def committed(conn: asyncpg.Connection, op: Operation, result: OperationResult) -> None:
        t = result.transfers[0]
        await _notify(
            actor.business_id,
            to_account_id,
            "transfer.received",
            {
                "amount": amount,
                "currency": t["currency"],
                "from_account_id": from_account_id,
                "reference": ref,
            },
            f"/accounts/{to_account_id}",
        )
        await _audit(
            actor,
            "transfer.created",
            f"Transfer {format_money(amount, t['currency'], 'en')} {from_account_id} → {to_account_id}",
            {"account_id": from_account_id, "transfer_id": t["id"], "transfer_reference": ref},
        )

    op = Operation(
        actor.business_id,
        [leg],
        reference=ref,
        reference_object_id=leg.transfer_id,
        scope_account_id=actor.scope_account_id,
        on_commit=committed,
    )
    result = await _execute(op)
    return transfer_out(result.transfers[0])


async def create_transfer_group(
    actor: Actor, *, reference: str, transfers: list[dict[str, Any]]
) -> TransferGroupOut:
    """Book several transfers atomically: all succeed or none is written."""
    actor.require("transfers", "manage")
    ref = _reference(reference)
    if not transfers:
        raise ValidationFailed(
            gettext("A group needs at least one transfer."),
            errors=[FieldError("/transfers", gettext("empty"))],
        )
    if len(transfers) > 100:
        raise ValidationFailed(
            gettext("A group holds at most 100 transfers."),
            errors=[FieldError("/transfers", gettext("too many"))],
        )
    legs = []
    for i, item in enumerate(transfers):
        p = f"/transfers/{i}"
        amount = _amount(item.get("amount"), f"{p}/amount")
        _distinct(item.get("from_account_id", ""), item.get("to_account_id", ""), p)
        legs.append(
            Leg(
                str(item.get("from_account_id", "")),
                str(item.get("to_account_id", "")),
                amount,
                kind="transfer",
                description=_description(item.get("description"), f"{p}/description"),
                pointer=p,
            )
        )
    group_id = new_id("grp")

    async def committed(conn: asyncpg.Connection, op: Operation, result: OperationResult) -> None:
        for t in result.transfers:
            await _notify(
                actor.business_id,
                t["credit_account_id"],
                "transfer.received",
                {
                    "amount": t["amount"],
                    "currency": t["currency"],
                    "from_account_id": t["debit_account_id"],
                    "reference": ref,
                },
                f"/accounts/{t['credit_account_id']}",
            )
        await _audit(
            actor,
            "transfer_group.created",
            f"Transfer group {ref} of {len(legs)} transfers",
            {"group_id": group_id, "transfer_reference": ref, "account_id": legs[0].debit_account_id},
        )

    op = Operation(
        actor.business_id,
        legs,
        reference=ref,
        reference_object_id=group_id,
        group_id=group_id,
        scope_account_id=actor.scope_account_id,
        on_commit=committed,
    )
    result = await _execute(op)
    outs = [transfer_out(t) for t in result.transfers]
    return TransferGroupOut(id=group_id, reference=ref, transfers=outs, created_at=outs[0].created_at)


async def _visible_transfer(actor: Actor, row: asyncpg.Record | None, transfer_id: str) -> asyncpg.Record:
    if row is None or row["business_id"] != actor.business_id:
        raise NotFound(gettext("Transfer %(id)s was not found.") % {"id": transfer_id})
    if actor.scope_account_id:
        paths = await sql.fetch(
            "SELECT path, kind FROM account WHERE id = ANY($1::text[])",
            [row["debit_account_id"], row["credit_account_id"]],
        )
        if not any(f"/{actor.scope_account_id}/" in p["path"] and p["kind"] != "system" for p in paths):
            raise NotFound(gettext("Transfer %(id)s was not found.") % {"id": transfer_id})
    return row


async def get_transfer(actor: Actor, transfer_id: str) -> TransferOut:
    actor.require("transfers", "view")
    row = await sql.fetchrow(f"SELECT {TRANSFER_COLUMNS} FROM transfer WHERE id = $1", transfer_id)
    return transfer_out(await _visible_transfer(actor, row, transfer_id))


async def get_group(actor: Actor, group_id: str) -> TransferGroupOut:
    actor.require("transfers", "view")
    rows = await sql.fetch(
        f"SELECT {TRANSFER_COLUMNS} FROM transfer WHERE group_id = $1 AND business_id = $2 ORDER BY seq",
        group_id,
        actor.business_id,
    )
    if not rows:
        raise NotFound(gettext("Transfer group %(id)s was not found.") % {"id": group_id})
    await _visible_transfer(actor, rows[0], group_id)
    outs = [transfer_out(r) for r in rows]
    return TransferGroupOut(
        id=group_id, reference=rows[0]["reference"] or "", transfers=outs, created_at=outs[0].created_at
    )


async def list_transfer_rows(
    actor: Actor,
    *,
    account_id: str | None = None,
    reference: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> tuple[list[asyncpg.Record], str | None]:
    """Transfers newest first, in the actor's scope, keyset-paginated by sequence."""
    actor.require("transfers", "view")
    size = clamp_limit(limit)
    args: list[Any] = [actor.business_id]
    where = ["t.business_id = $1"]
    if account_id:
        await accounts.get_account_row(actor, account_id)
        args.append(account_id)
        where.append(f"(t.debit_account_id = ${len(args)} OR t.credit_account_id = ${len(args)})")
    elif actor.scope_account_id:
        args.append(f"%/{actor.scope_account_id}/%")
        where.append(
            f"EXISTS (SELECT 1 FROM account a WHERE a.id IN (t.debit_account_id, t.credit_account_id) "
            f"AND a.path LIKE ${len(args)} AND a.kind <> 'system')"
        )
    if reference:
        args.append(reference)
        where.append(f"t.reference = ${len(args)}")
    if created_from:
        args.append(created_from)
        where.append(f"t.created_at >= ${len(args)}")
    if created_to:
        args.append(created_to)
        where.append(f"t.created_at < ${len(args)}")
    cursor = decode_cursor(after)
    if cursor is not None:
        try:
            args.append(int(cursor))
        except (TypeError, ValueError):
            raise ValidationFailed(
                gettext("The cursor is not valid."), errors=[FieldError("after", gettext("invalid"))]
            ) from None
        where.append(f"t.seq < ${len(args)}")
    args.append(size + 1)
    rows = await sql.fetch(
        f"SELECT {', '.join('t.' + c.strip() for c in TRANSFER_COLUMNS.split(','))} FROM transfer t "
        f"WHERE {' AND '.join(where)} ORDER BY t.seq DESC LIMIT ${len(args)}",
        *args,
    )
    page = rows[:size]
    return page, encode_cursor(page[-1]["seq"]) if len(rows) > size else None


async def list_transfers(actor: Actor, **filters: Any) -> TransferPage:
    rows, next_cursor = await list_transfer_rows(actor, **filters)
    return TransferPage([transfer_out(r) for r in rows], next_cursor is not None, next_cursor)


async def reverse_transfer(
    actor: Actor, transfer_id: str, *, reference: str, description: str | None = None
) -> TransferOut:
    """Correct a posted transfer by a new transfer the other way (the original is never changed)."""
    actor.require("transfers", "manage")
    ref = _reference(reference)
    original = await _visible_transfer(
        actor,
        await sql.fetchrow(f"SELECT {TRANSFER_COLUMNS} FROM transfer WHERE id = $1", transfer_id),
        transfer_id,
    )
    if original["phase"] not in ("posted", "post_pending") or original["kind"] == "reversal":
        raise Conflict(
            gettext("Transfer %(id)s cannot be reversed.") % {"id": transfer_id}, code="not_reversible"
        )
    if await sql.fetchval("SELECT 1 FROM transfer WHERE reverses_id = $1", transfer_id):
        raise Conflict(
            gettext("Transfer %(id)s has already been reversed.") % {"id": transfer_id},
            code="already_reversed",
        )
    leg = Leg(
        original["credit_account_id"],
        original["debit_account_id"],
        int(original["amount"]),
        kind="reversal",
        description=_description(description) or f"Reversal of {transfer_id}",
        reverses_id=transfer_id,
    )

    async def committed(conn: asyncpg.Connection, op: Operation, result: OperationResult) -> None:
        await _audit(
            actor,
            "transfer.reversed",
            f"Reversed transfer {transfer_id}",
            {
                "transfer_id": transfer_id,
                "transfer_reference": ref,
                "account_id": original["debit_account_id"],
            },
        )

    op = Operation(
        actor.business_id,
        [leg],
        reference=ref,
        reference_object_id=leg.transfer_id,
        scope_account_id=actor.scope_account_id,
        on_commit=committed,
    )
    try:
        result = await _execute(op)
    except asyncpg.UniqueViolationError:
        raise Conflict(
            gettext("Transfer %(id)s has already been reversed.") % {"id": transfer_id},
            code="already_reversed",
        ) from None
    return transfer_out(result.transfers[0])


# --- balances -----------------------------------------------------------------------------------

BALANCE_AS_OF_SQL = """
SELECT
  coalesce(sum(amount) FILTER (WHERE debit_account_id = $1 AND phase IN ('posted', 'post_pending')), 0) AS dp,
  coalesce(sum(amount) FILTER (WHERE credit_account_id = $1 AND phase IN ('posted', 'post_pending')), 0)
    AS cp,
  coalesce(sum(CASE WHEN phase = 'pending' THEN amount ELSE -released_amount END)
           FILTER (WHERE debit_account_id = $1), 0) AS dpend,
  coalesce(sum(CASE WHEN phase = 'pending' THEN amount ELSE -released_amount END)
           FILTER (WHERE credit_account_id = $1), 0) AS cpend
FROM transfer
WHERE (debit_account_id = $1 OR credit_account_id = $1) AND created_at <= $2
"""


async def balance(actor: Actor, account_id: str, *, as_of: datetime | None = None) -> BalanceOut:
    """The account's balance now, or as it stood at `as_of` (recomputed from the immutable transfers)."""
    actor.require("accounts", "view")
    account = await accounts.get_account_row(actor, account_id)
    if as_of is None:
        return account.balance()
    if as_of.tzinfo is None:
        raise ValidationFailed(
            gettext("as_of needs a time zone (e.g. 2026-11-22T04:00:00Z)."),
            errors=[FieldError("as_of", gettext("time zone required"))],
        )
    row = await sql.fetchrow(BALANCE_AS_OF_SQL, account.id, as_of)
    assert row is not None
    dp, cp, dpend, cpend = (int(row[k]) for k in ("dp", "cp", "dpend", "cpend"))
    return BalanceOut(
        account_id=account.id,
        currency=account.currency,
        available=cp - dp - dpend,
        posted=cp - dp,
        pending_in=cpend,
        on_hold=dpend,
        as_of=as_of,
    )


# --- holds --------------------------------------------------------------------------------------

HOLD_COLUMNS = (
    "id, business_id, transfer_id, debit_account_id, credit_account_id, amount, posted_amount, currency, "
    "kind, reference, status, expires_at, created_at, resolved_at, resolution_transfer_id"
)


def _hold_legs_committed(
    holds: list[tuple[Leg, str, datetime | None]], reference: str | None, business_id: str
) -> engine.CommitHook:
    async def committed(conn: asyncpg.Connection, op: Operation, result: OperationResult) -> None:
        by_id = {t["id"]: t for t in result.transfers}
        for leg, hold_id, expires_at in holds:
            t = by_id[leg.transfer_id]
            await conn.execute(
                "INSERT INTO hold (id, business_id, transfer_id, debit_account_id, credit_account_id, "
                "amount, "
                "currency, kind, reference, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                hold_id,
                business_id,
                t["id"],
                leg.debit_account_id,
                leg.credit_account_id,
                leg.amount,
                t["currency"],
                leg.kind,
                reference,
                expires_at,
            )
            if expires_at is not None:
                await enqueue(
                    "ledger.expire_hold",
                    {"business_id": business_id, "hold_id": hold_id},
                    delay=max(expires_at - clock.now(), timedelta(0)),
                )

    return committed


async def create_hold(
    actor: Actor,
    *,
    from_account_id: str,
    to_account_id: str,
    amount: int,
    reference: str,
    expires_at: datetime | None = None,
) -> HoldOut:
    """Reserve `amount` on the source for the destination: it leaves `available` now, moves on post."""
    actor.require("transfers", "manage")
    amount = _amount(amount)
    ref = _reference(reference)
    _distinct(from_account_id, to_account_id)
    if expires_at is not None and (
        expires_at.tzinfo is None or expires_at <= clock.now() or expires_at > clock.now() + MAX_HOLD_VALIDITY
    ):
        raise ValidationFailed(
            gettext("expires_at must be a future time (with time zone) within 90 days."),
            errors=[FieldError("/expires_at", gettext("invalid"))],
        )
    hold_id = new_id("hld")
    leg = Leg(from_account_id, to_account_id, amount, kind="hold", phase="pending", hold_id=hold_id)
    insert_hold = _hold_legs_committed([(leg, hold_id, expires_at)], ref, actor.business_id)

    async def committed(conn: asyncpg.Connection, op: Operation, result: OperationResult) -> None:
        await insert_hold(conn, op, result)
        await _audit(
            actor,
            "hold.created",
            f"Hold of {amount} on {from_account_id}",
            {"hold_id": hold_id, "account_id": from_account_id, "transfer_reference": ref},
        )

    op = Operation(
        actor.business_id,
        [leg],
        reference=ref,
        reference_object_id=hold_id,
        scope_account_id=actor.scope_account_id,
        on_commit=committed,
    )
    await _execute(op)
    return await get_hold(actor, hold_id)


async def _visible_hold(actor: Actor, hold_id: str) -> asyncpg.Record:
    """The hold if it is the actor's business's and its source account is in the actor's scope."""
    row = await sql.fetchrow(
        f"SELECT {HOLD_COLUMNS} FROM hold WHERE id = $1 AND business_id = $2", hold_id, actor.business_id
    )
    if row is None:
        raise NotFound(gettext("Hold %(id)s was not found.") % {"id": hold_id})
    try:
        await accounts.get_account_row(actor, row["debit_account_id"])
    except NotFound:
        raise NotFound(gettext("Hold %(id)s was not found.") % {"id": hold_id}) from None
    return row


async def find_hold(actor: Actor, hold_id: str) -> None:
    """NotFound unless the actor may see the hold (no rights check: the route's guard does that)."""
    await _visible_hold(actor, hold_id)


async def get_hold(actor: Actor, hold_id: str) -> HoldOut:
    actor.require("transfers", "view")
    return hold_out(await _visible_hold(actor, hold_id))


async def _resolve_hold(
    business_id: str,
    hold_id: str,
    action: str,
    *,
    amount: int | None = None,
    scope_account_id: str | None = None,
    internal: bool = False,
    kind: str | None = None,
    expected_status: str = "pending",
) -> asyncpg.Record:
    """Post, void or expire one hold inside the current transaction; returns the updated hold row."""
    row = await sql.fetchrow(
        f"SELECT {HOLD_COLUMNS} FROM hold WHERE id = $1 AND business_id = $2 FOR UPDATE", hold_id, business_id
    )
    if row is None:
        raise NotFound(gettext("Hold %(id)s was not found.") % {"id": hold_id})
    if row["status"] != expected_status:
        raise Conflict(
            gettext("Hold %(id)s is %(status)s; only a pending hold can change.")
            % {"id": hold_id, "status": status_label(row["status"])},
            code="hold_not_pending",
        )
    held = int(row["amount"])
    if action == "post":
        posted = held if amount is None else _amount(amount)
        if posted > held:
            raise ValidationFailed(
                gettext("At most %(held)d can be posted from hold %(id)s.") % {"held": held, "id": hold_id},
                errors=[FieldError("/amount", gettext("at most %(held)d") % {"held": held})],
            )
        leg = Leg(
            row["debit_account_id"],
            row["credit_account_id"],
            posted,
            kind=kind or "hold_post",
            phase="post_pending",
            hold_id=hold_id,
            released_amount=held,
        )
        status = "posted"
    else:
        posted = 0
        leg = Leg(
            row["debit_account_id"],
            row["credit_account_id"],
            held,
            kind=kind or ("hold_expire" if action == "expire" else "hold_void"),
            phase="void_pending",
            hold_id=hold_id,
            released_amount=held,
        )
        status = "expired" if action == "expire" else "voided"
    op = Operation(
        business_id,
        [leg],
        scope_account_id=scope_account_id,
        internal=internal,
        reference=None,
        source_id=hold_id,
    )
    result = await _execute(op)
    updated = await sql.fetchrow(
        f"UPDATE hold SET status = $2, posted_amount = $3, resolved_at = now(), resolution_transfer_id = $4 "
        f"WHERE id = $1 RETURNING {HOLD_COLUMNS}",
        hold_id,
        status,
        posted,
        result.transfers[0]["id"],
    )
    assert updated is not None
    return updated


async def post_hold(actor: Actor, hold_id: str, *, amount: int | None = None) -> HoldOut:
    """Complete a hold: move `amount` (default all of it); the rest is released."""
    actor.require("transfers", "manage")
    await _visible_hold(actor, hold_id)  # another business's or out of scope: 404 before status or amount
    async with transaction():
        row = await _resolve_hold(
            actor.business_id, hold_id, "post", amount=amount, scope_account_id=actor.scope_account_id
        )
        await _audit(
            actor,
            "hold.posted",
            f"Posted {row['posted_amount']} of hold {hold_id}",
            {"hold_id": hold_id, "account_id": row["debit_account_id"]},
        )
    return hold_out(row)


async def void_hold(actor: Actor, hold_id: str) -> HoldOut:
    """Cancel a hold: the reserved amount is available again at once."""
    actor.require("transfers", "manage")
    await _visible_hold(actor, hold_id)  # another business's or out of scope: 404 before the status
    async with transaction():
        row = await _resolve_hold(actor.business_id, hold_id, "void", scope_account_id=actor.scope_account_id)
        await _audit(
            actor,
            "hold.voided",
            f"Voided hold {hold_id}",
            {"hold_id": hold_id, "account_id": row["debit_account_id"]},
        )
    return hold_out(row)


async def expire_hold(business_id: str, hold_id: str) -> bool:
    """Expire a hold whose time has come (the job calls this; repeated calls change nothing)."""
    async with transaction():
        row = await sql.fetchrow(
            "SELECT status, expires_at FROM hold WHERE id = $1 AND business_id = $2 FOR UPDATE",
            hold_id,
            business_id,
        )
        if row is None or row["status"] != "pending" or row["expires_at"] is None:
            return False
        if row["expires_at"] > clock.now():
            return False
        await _resolve_hold(business_id, hold_id, "expire", internal=True)
    return True


async def expire_due_holds(limit: int = 500) -> int:
    """Expire every pending hold past its time (a sweep behind the per-hold jobs)."""
    rows = await sql.fetch(
        "SELECT business_id, id FROM hold WHERE status = 'pending' AND expires_at <= $1 LIMIT $2",
        clock.now(),
        limit,
    )
    count = 0
    for row in rows:
        count += await expire_hold(row["business_id"], row["id"])
    return count


# --- top-ups ------------------------------------------------------------------------------------

TOPUP_COLUMNS = (
    "id, business_id, account_id, amount, fee, currency, reference, status, pay_bank_code, "
    "pay_account_number, pay_holder_name, group_id, expires_at, paid_at, created_at"
)


async def create_topup(actor: Actor, *, account_id: str, amount: int, reference: str) -> TopUpOut:
    """Open a top-up order: the payer transfers amount + fee to the instructions within 24 hours."""
    actor.require("transfers", "manage")
    amount = _amount(amount)
    ref = _reference(reference)
    account = await accounts.get_account_row(actor, account_id)
    if account.status == "closed":
        raise ValidationFailed(
            gettext("Account %(id)s is closed.") % {"id": account.id},
            code="account_closed",
            errors=[FieldError("/account_id", gettext("closed"))],
        )
    fee = (await business_fees(actor.business_id))["topup"] if account.currency == "IDR" else 0
    topup_id = new_id("top")
    # A virtual account number per order: the bank tells us which order a payment is for.
    digits = str(int.from_bytes(topup_id.encode(), "big") % 10**10).zfill(10)
    now = clock.now()
    async with transaction():
        await _claim_reference(actor.business_id, ref, topup_id)
        row = await sql.fetchrow(
            "INSERT INTO topup (id, business_id, account_id, amount, fee, currency, reference, "
            "pay_bank_code, "
            "pay_account_number, pay_holder_name, expires_at, created_at) "
            f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {TOPUP_COLUMNS}",
            topup_id,
            actor.business_id,
            account.id,
            amount,
            fee,
            account.currency,
            ref,
            COLLECTION_BANK,
            f"8808{digits}",
            f"NERACA {account.name}"[:100],
            now + TOPUP_VALIDITY,
            now,
        )
        await enqueue(
            "ledger.expire_topup",
            {"business_id": actor.business_id, "topup_id": topup_id},
            delay=TOPUP_VALIDITY,
        )
        await _audit(
            actor,
            "topup.created",
            f"Top-up order {format_money(amount + fee, account.currency, 'en')} for {account.name}",
            {"topup_id": topup_id, "account_id": account.id, "reference": ref},
        )
    assert row is not None
    return topup_out(row)


async def _topup_row(actor: Actor, topup_id: str, *, lock: bool = False) -> asyncpg.Record:
    row = await sql.fetchrow(
        f"SELECT {TOPUP_COLUMNS} FROM topup WHERE id = $1 AND business_id = $2"
        + (" FOR UPDATE" if lock else ""),
        topup_id,
        actor.business_id,
    )
    if row is None:
        raise NotFound(gettext("Top-up %(id)s was not found.") % {"id": topup_id})
    await accounts.get_account_row(actor, row["account_id"])
    return row


async def get_topup(actor: Actor, topup_id: str) -> TopUpOut:
    actor.require("transfers", "view")
    return topup_out(await _topup_row(actor, topup_id))


async def pay_topup(actor: Actor, topup_id: str) -> TopUpOut:
    """The payment arrived: credit the account with the amount and the fees account with the fee."""
    async with transaction():
        row = await _topup_row(actor, topup_id, lock=True)
        if row["status"] == "pending" and row["expires_at"] <= clock.now():
            await sql.execute("UPDATE topup SET status = 'expired' WHERE id = $1", topup_id)
            raise Conflict(gettext("Top-up %(id)s expired unpaid.") % {"id": topup_id}, code="topup_expired")
        if row["status"] != "pending":
            raise Conflict(
                gettext("Top-up %(id)s is %(status)s.")
                % {"id": topup_id, "status": status_label(row["status"])},
                code="topup_not_pending",
            )
        world = await accounts.system_account_id(actor.business_id, row["currency"], "world")
        fees = await accounts.system_account_id(actor.business_id, row["currency"], "fees")
        legs = [Leg(world, row["account_id"], int(row["amount"]), kind="topup", description=row["reference"])]
        if row["fee"]:
            legs.append(
                Leg(world, fees, int(row["fee"]), kind="fee", description=f"Top-up fee {row['reference']}")
            )
        group_id = new_id("grp")
        await _execute(
            Operation(
                actor.business_id, legs, group_id=group_id, source_id=topup_id, internal=True, reference=None
            )
        )
        updated = await sql.fetchrow(
            f"UPDATE topup SET status = 'paid', paid_at = now(), group_id = $2 WHERE id = $1 "
            f"RETURNING {TOPUP_COLUMNS}",
            topup_id,
            group_id,
        )
        assert updated is not None
        await _notify(
            actor.business_id,
            row["account_id"],
            "topup.paid",
            {"amount": int(row["amount"]), "currency": row["currency"], "reference": row["reference"]},
            f"/accounts/{row['account_id']}",
        )
        await _audit(
            actor,
            "topup.paid",
            f"Top-up {row['reference']} paid",
            {"topup_id": topup_id, "account_id": row["account_id"], "reference": row["reference"]},
        )
    return topup_out(updated)


async def simulate_topup_payment(actor: Actor, topup_id: str) -> TopUpOut:
    """Sandbox only: stand in for the bank and pay the top-up."""
    actor.require("transfers", "manage")
    await _topup_row(actor, topup_id)  # another business's or out of scope: 404 before the mode
    if actor.business_mode != "sandbox":
        raise Conflict(gettext("Payments can be simulated only in sandbox mode."), code="not_sandbox")
    return await pay_topup(actor, topup_id)


async def expire_topup(business_id: str, topup_id: str) -> bool:
    """Mark an unpaid top-up expired once its 24 hours are over (idempotent)."""
    changed = await sql.fetchval(
        "UPDATE topup SET status = 'expired' WHERE id = $1 AND business_id = $2 AND status = 'pending' "
        "AND expires_at <= $3 RETURNING id",
        topup_id,
        business_id,
        clock.now(),
    )
    return changed is not None


async def expire_due_topups(limit: int = 1000) -> int:
    """Mark every unpaid top-up past its 24 hours expired (a sweep behind the per-order jobs; a second
    run changes nothing). Returns how many it expired."""
    changed = await sql.fetch(
        "UPDATE topup SET status = 'expired' WHERE id IN (SELECT id FROM topup WHERE status = 'pending' "
        "AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
        "AND status = 'pending' RETURNING id",
        clock.now(),
        limit,
    )
    return len(changed)


async def list_topups(
    actor: Actor,
    *,
    account_id: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> TopUpPage:
    actor.require("transfers", "view")
    rows, next_cursor = await _list_objects(
        actor, "topup", TOPUP_COLUMNS, account_id, status, ("pending", "paid", "expired"), limit, after
    )
    return TopUpPage([topup_out(r) for r in rows], next_cursor is not None, next_cursor)


async def _list_objects(
    actor: Actor,
    table: str,
    columns: str,
    account_id: str | None,
    status: str | None,
    statuses: tuple[str, ...],
    limit: int | None,
    after: str | None,
) -> tuple[list[asyncpg.Record], str | None]:
    size = clamp_limit(limit)
    args: list[Any] = [actor.business_id]
    where = ["o.business_id = $1"]
    if account_id:
        await accounts.get_account_row(actor, account_id)
        args.append(account_id)
        where.append(f"o.account_id = ${len(args)}")
    elif actor.scope_account_id:
        args.append(f"%/{actor.scope_account_id}/%")
        where.append(
            f"EXISTS (SELECT 1 FROM account a WHERE a.id = o.account_id AND a.path LIKE ${len(args)})"
        )
    if status:
        if status not in statuses:
            raise ValidationFailed(
                gettext("status is one of %(statuses)s.") % {"statuses": ", ".join(statuses)},
                errors=[FieldError("status", gettext("invalid"))],
            )
        args.append(status)
        where.append(f"o.status = ${len(args)}")
    cursor = decode_cursor(after)
    if cursor is not None:
        args.append(str(cursor))
        where.append(f"o.id < ${len(args)}")
    args.append(size + 1)
    cols = ", ".join("o." + c.strip() for c in columns.split(","))
    rows = await sql.fetch(
        f"SELECT {cols} FROM {table} o WHERE {' AND '.join(where)} ORDER BY o.id DESC LIMIT ${len(args)}",
        *args,
    )
    page = rows[:size]
    return page, encode_cursor(page[-1]["id"]) if len(rows) > size else None


# --- withdrawals --------------------------------------------------------------------------------

WITHDRAWAL_COLUMNS = (
    "id, business_id, account_id, amount, fee, currency, reference, status, bank_code, bank_account_number, "
    "bank_holder_name, amount_hold_id, fee_hold_id, failure_reason, created_at, completed_at"
)


async def create_withdrawal(actor: Actor, *, account_id: str, amount: int, reference: str) -> WithdrawalOut:
    """Pay out to the account's settlement bank account: amount + fee are held at once."""
    actor.require("transfers", "manage")
    amount = _amount(amount)
    ref = _reference(reference)
    account = await accounts.get_account_row(actor, account_id)
    bank = account.settlement_bank
    if bank is None:
        raise ValidationFailed(
            gettext("Account %(id)s has no settlement bank account; add one first.") % {"id": account.id},
            code="no_settlement_bank",
            errors=[FieldError("/account_id", gettext("no settlement bank account"))],
        )
    fee = (await business_fees(actor.business_id))["withdrawal"] if account.currency == "IDR" else 0
    withdrawal_id = new_id("wdr")
    world = await accounts.system_account_id(actor.business_id, account.currency, "world")
    fees = await accounts.system_account_id(actor.business_id, account.currency, "fees")
    amount_hold = new_id("hld")
    fee_hold = new_id("hld") if fee else None
    legs = [
        Leg(
            account.id,
            world,
            amount,
            kind="withdrawal",
            phase="pending",
            hold_id=amount_hold,
            description=ref,
        )
    ]
    holds: list[tuple[Leg, str, datetime | None]] = [(legs[0], amount_hold, None)]
    if fee_hold:
        legs.append(
            Leg(
                account.id,
                fees,
                fee,
                kind="fee",
                phase="pending",
                hold_id=fee_hold,
                description=f"Withdrawal fee {ref}",
            )
        )
        holds.append((legs[1], fee_hold, None))
    async with transaction():
        await _claim_reference(actor.business_id, ref, withdrawal_id)
        op = Operation(
            actor.business_id,
            legs,
            source_id=withdrawal_id,
            scope_account_id=actor.scope_account_id,
            internal=True,
            on_commit=_hold_legs_committed(holds, ref, actor.business_id),
        )
        await _execute(op)
        row = await sql.fetchrow(
            "INSERT INTO withdrawal (id, business_id, account_id, amount, fee, currency, reference, "
            "bank_code, "
            "bank_account_number, bank_holder_name, amount_hold_id, fee_hold_id) "
            f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {WITHDRAWAL_COLUMNS}",
            withdrawal_id,
            actor.business_id,
            account.id,
            amount,
            fee,
            account.currency,
            ref,
            bank.bank_code,
            bank.account_number,
            bank.holder_name,
            amount_hold,
            fee_hold,
        )
        await _audit(
            actor,
            "withdrawal.created",
            f"Withdrawal {format_money(amount, account.currency, 'en')} from {account.name}",
            {"withdrawal_id": withdrawal_id, "account_id": account.id, "reference": ref},
        )
    assert row is not None
    return withdrawal_out(row)


async def _withdrawal_row(actor: Actor, withdrawal_id: str, *, lock: bool = False) -> asyncpg.Record:
    row = await sql.fetchrow(
        f"SELECT {WITHDRAWAL_COLUMNS} FROM withdrawal WHERE id = $1 AND business_id = $2"
        + (" FOR UPDATE" if lock else ""),
        withdrawal_id,
        actor.business_id,
    )
    if row is None:
        raise NotFound(gettext("Withdrawal %(id)s was not found.") % {"id": withdrawal_id})
    await accounts.get_account_row(actor, row["account_id"])
    return row


async def find_withdrawal(actor: Actor, withdrawal_id: str) -> None:
    """NotFound unless the actor may see the withdrawal (no rights check: the route's guard does that)."""
    await _withdrawal_row(actor, withdrawal_id)


async def get_withdrawal(actor: Actor, withdrawal_id: str) -> WithdrawalOut:
    actor.require("transfers", "view")
    return withdrawal_out(await _withdrawal_row(actor, withdrawal_id))


async def list_withdrawals(
    actor: Actor,
    *,
    account_id: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> WithdrawalPage:
    actor.require("transfers", "view")
    rows, next_cursor = await _list_objects(
        actor,
        "withdrawal",
        WITHDRAWAL_COLUMNS,
        account_id,
        status,
        ("pending", "paid", "failed"),
        limit,
        after,
    )
    return WithdrawalPage([withdrawal_out(r) for r in rows], next_cursor is not None, next_cursor)


async def _complete_withdrawal(
    actor: Actor, withdrawal_id: str, *, paid: bool, reason: str | None
) -> WithdrawalOut:
    actor.require("payouts", "manage")
    async with transaction():
        row = await _withdrawal_row(actor, withdrawal_id, lock=True)
        if row["status"] != "pending":
            raise Conflict(
                gettext("Withdrawal %(id)s is already %(status)s.")
                % {"id": withdrawal_id, "status": status_label(row["status"])},
                code="withdrawal_not_pending",
            )
        for hold_id in (row["amount_hold_id"], row["fee_hold_id"]):
            if hold_id:
                await _resolve_hold(
                    actor.business_id,
                    hold_id,
                    "post" if paid else "void",
                    internal=True,
                    kind="withdrawal" if hold_id == row["amount_hold_id"] else "fee",
                )
        updated = await sql.fetchrow(
            f"UPDATE withdrawal SET status = $2, failure_reason = $3, completed_at = now() WHERE id = $1 "
            f"RETURNING {WITHDRAWAL_COLUMNS}",
            withdrawal_id,
            "paid" if paid else "failed",
            reason,
        )
        assert updated is not None
        params = {
            "amount": int(row["amount"]),
            "currency": row["currency"],
            "reference": row["reference"],
            "reason": reason or "",
        }
        await _notify(
            actor.business_id,
            row["account_id"],
            "withdrawal.paid" if paid else "withdrawal.failed",
            params,
            f"/accounts/{row['account_id']}",
        )
        await _audit(
            actor,
            "withdrawal.paid" if paid else "withdrawal.failed",
            f"Withdrawal {row['reference']} marked {'paid' if paid else 'failed'}",
            {"withdrawal_id": withdrawal_id, "account_id": row["account_id"], "reference": row["reference"]},
        )
    return withdrawal_out(updated)


async def mark_withdrawal_paid(actor: Actor, withdrawal_id: str) -> WithdrawalOut:
    """The bank paid it: the holds post (amount leaves to the bank, fee to the fees account)."""
    return await _complete_withdrawal(actor, withdrawal_id, paid=True, reason=None)


async def mark_withdrawal_failed(actor: Actor, withdrawal_id: str, *, reason: str) -> WithdrawalOut:
    """The payout failed: the holds void and the money is available again at once."""
    actor.require("payouts", "manage")
    await _withdrawal_row(actor, withdrawal_id)  # another business's or out of scope: 404 before the reason
    text = (reason or "").strip()
    if not text or len(text) > 500:
        raise ValidationFailed(
            gettext("Give a reason (at most 500 characters)."),
            errors=[FieldError("/reason", gettext("required"))],
        )
    return await _complete_withdrawal(actor, withdrawal_id, paid=False, reason=text)
