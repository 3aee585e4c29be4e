"""Transfers, transfer groups and reversals: money moved at once between two accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.identity import idempotency
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation, OperationResult
from portal.domains.ledger.refusals import Refusal, refuse
from portal.domains.ledger.schemas import (
    TransferGroupOut,
    TransferOut,
    TransferPage,
)
from portal.domains.ledger.services.shared import (
    audit,
    event,
    notify_account,
    require_distinct,
    screen_outgoing,
    valid_amount,
    valid_description,
    valid_metadata,
    valid_reference,
)
from portal.lib import sql
from portal.lib.actor import Actor
from portal.lib.errors import N_, FieldError, NotFound, ValidationFailed
from portal.lib.i18n import gettext
from portal.lib.ids import new_id
from portal.lib.money import format_money
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.screening import Outgoing

TRANSFER_COLUMNS = (
    "id, business_id, debit_account_id, credit_account_id, amount, currency, phase, released_amount, "
    "hold_id, kind, reference, description, metadata, group_id, reverses_id, source_id, created_at, seq"
)


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
    amount = valid_amount(amount)
    ref = valid_reference(reference)
    desc = valid_description(description)
    meta = valid_metadata(metadata)
    require_distinct(from_account_id, to_account_id)
    leg = Leg(from_account_id, to_account_id, amount, kind="transfer", description=desc, metadata=meta)
    out = Outgoing(
        "transfer", actor.business_id, from_account_id, amount, reference=ref, to_account_id=to_account_id
    )
    await screen_outgoing(actor, out)

    async def committed(conn: asyncpg.Connection, op: Operation, result: OperationResult) -> None:
        t = result.transfers[0]
        await notify_account(
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
        await event(actor.business_id, "transfer.created", transfer_out(t), (from_account_id, to_account_id))
        await audit(
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
        replay_by_reference=True,
    )
    result = await engine.execute(op)
    return transfer_out(result.transfers[0])


async def create_transfer_group(
    actor: Actor, *, reference: str, transfers: list[dict[str, Any]]
) -> TransferGroupOut:
    """Book several transfers atomically: all succeed or none is written."""
    actor.require("transfers", "manage")
    ref = valid_reference(reference)
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
        amount = valid_amount(item.get("amount"), f"{p}/amount")
        require_distinct(item.get("from_account_id", ""), item.get("to_account_id", ""), p)
        legs.append(
            Leg(
                str(item.get("from_account_id", "")),
                str(item.get("to_account_id", "")),
                amount,
                kind="transfer",
                description=valid_description(item.get("description"), f"{p}/description"),
                pointer=p,
            )
        )
    group_id = new_id("grp")

    async def committed(conn: asyncpg.Connection, op: Operation, result: OperationResult) -> None:
        for t in result.transfers:
            await notify_account(
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
            await event(
                actor.business_id,
                "transfer.created",
                transfer_out(t),
                (t["debit_account_id"], t["credit_account_id"]),
            )
        await audit(
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
        replay_by_reference=True,
    )
    result = await engine.execute(op)
    group_id = result.transfers[0]["group_id"] or group_id  # a replay answers with the booked group
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


async def get_transfer_row(actor: Actor, transfer_id: str) -> asyncpg.Record:
    """The stored row of one transfer the actor may see (either side in its scope), else NotFound."""
    actor.require("transfers", "view")
    row = await sql.fetchrow(
        f"SELECT {TRANSFER_COLUMNS} FROM transfer WHERE business_id = $1 AND id = $2",
        actor.business_id,
        transfer_id,
    )
    return await _visible_transfer(actor, row, transfer_id)


async def find_transfer(actor: Actor, transfer_id: str) -> None:
    """NotFound unless the actor may see the transfer (no rights check: the route's guard does that)."""
    row = await sql.fetchrow(
        f"SELECT {TRANSFER_COLUMNS} FROM transfer WHERE business_id = $1 AND id = $2",
        actor.business_id,
        transfer_id,
    )
    await _visible_transfer(actor, row, transfer_id)


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


# How a transfer row reads as a line of a history (docs/portal.md, "Histories"): a hold's line carries
# the hold's current status; a void gives the money back (a refund of a withdrawal or its fee, else a
# released hold); a hold's posting is the same money as its hold line, so lists leave it out.
LINE_STATUS_SQL = (
    "CASE WHEN t.phase = 'pending' THEN coalesce(h.status, 'pending') "
    "WHEN t.phase = 'void_pending' THEN CASE WHEN t.kind IN ('withdrawal', 'fee', 'topup') THEN 'refunded' "
    "WHEN t.kind = 'hold_expire' THEN 'expired' ELSE 'voided' END "
    "ELSE 'posted' END"
)
LINE_STATUSES = ("pending", "posted", "voided", "expired", "refunded")
LINE_KINDS = ("transfer", "topup", "fee", "withdrawal", "reversal", "hold", "hold_void", "hold_expire")


def _search_clause(args: list[Any], q: str, match: str) -> str:
    """References of transfers, top-ups and withdrawals (and transfer descriptions), case-insensitive:
    by prefix (served by the lower(reference) indexes) or anywhere in the text."""
    text = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    args.append(f"{text}%" if match == "prefix" else f"%{text}%")
    p = f"${len(args)}"
    orders = (
        f"SELECT id FROM withdrawal w WHERE w.business_id = $1 AND lower(w.reference) LIKE {p} "
        f"UNION ALL SELECT id FROM topup o WHERE o.business_id = $1 AND lower(o.reference) LIKE {p}"
    )
    holds = (
        f"SELECT amount_hold_id FROM withdrawal w WHERE w.business_id = $1 AND lower(w.reference) LIKE {p} "
        f"UNION ALL SELECT fee_hold_id FROM withdrawal w WHERE w.business_id = $1 "
        f"AND lower(w.reference) LIKE {p} AND fee_hold_id IS NOT NULL"
    )
    described = f" OR lower(t.description) LIKE {p}" if match == "contains" else ""
    return f"(lower(t.reference) LIKE {p}{described} OR t.source_id IN ({orders}) OR t.hold_id IN ({holds}))"


async def list_transfer_rows(
    actor: Actor,
    *,
    account_id: str | None = None,
    reference: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int | None = None,
    after: str | None = None,
    q: str | None = None,
    match: str = "prefix",
    kind: str | None = None,
    status: str | None = None,
    amount_min: int | None = None,
    amount_max: int | None = None,
    lines: bool = False,
) -> tuple[list[asyncpg.Record], str | None]:
    """Transfers newest first, in the actor's scope, keyset-paginated by sequence.

    `reference` is an exact match (the API's filter); `q` searches references (`match` = prefix or
    contains). `lines=True` reads them as history lines for people: each row carries `line_status`
    (LINE_STATUSES) and its hold's `posted_amount`, and a hold's posting row is left out."""
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
            f"EXISTS (SELECT 1 FROM account a WHERE a.business_id = $1 "
            f"AND a.id IN (t.debit_account_id, t.credit_account_id) "
            f"AND a.path LIKE ${len(args)} AND a.kind <> 'system')"
        )
    if reference:
        args.append(reference)
        where.append(f"t.reference = ${len(args)}")
    if q and q.strip():
        where.append(_search_clause(args, q, "contains" if match == "contains" else "prefix"))
    if kind:
        if kind not in LINE_KINDS:
            raise ValidationFailed(
                N_("Choose a kind from the list."),
                errors=[FieldError("kind", N_("Choose a kind from the list."))],
            )
        args.append(kind)
        where.append(f"t.kind = ${len(args)}")
    if status:
        if status not in LINE_STATUSES:
            raise ValidationFailed(
                N_("Choose a status from the list."),
                errors=[FieldError("status", N_("Choose a status from the list."))],
            )
        args.append(status)
        where.append(f"({LINE_STATUS_SQL}) = ${len(args)}")
    if amount_min is not None:
        args.append(amount_min)
        where.append(f"t.amount >= ${len(args)}")
    if amount_max is not None:
        args.append(amount_max)
        where.append(f"t.amount <= ${len(args)}")
    if lines:
        where.append("t.phase <> 'post_pending'")
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
    extra = f", {LINE_STATUS_SQL} AS line_status, h.posted_amount AS hold_posted_amount" if lines else ""
    rows = await sql.fetch(
        f"SELECT {', '.join('t.' + c.strip() for c in TRANSFER_COLUMNS.split(','))}{extra} FROM transfer t "
        "LEFT JOIN hold h ON h.business_id = t.business_id AND h.id = t.hold_id "
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
    ref = valid_reference(reference)
    original = await _visible_transfer(
        actor,
        await sql.fetchrow(f"SELECT {TRANSFER_COLUMNS} FROM transfer WHERE id = $1", transfer_id),
        transfer_id,
    )
    if original["phase"] not in ("posted", "post_pending") or original["kind"] == "reversal":
        raise refuse(Refusal.NOT_REVERSIBLE, None, transfer_id=transfer_id)
    reversal = await sql.fetchrow(
        f"SELECT {TRANSFER_COLUMNS} FROM transfer WHERE business_id = $1 AND reverses_id = $2",
        actor.business_id,
        transfer_id,
    )
    if reversal is not None:
        if idempotency.booked_earlier(reversal["id"]):
            return transfer_out(reversal)  # this request's own reversal, its first answer lost
        raise refuse(Refusal.ALREADY_REVERSED, None, transfer_id=transfer_id)
    leg = Leg(
        original["credit_account_id"],
        original["debit_account_id"],
        int(original["amount"]),
        kind="reversal",
        description=valid_description(description) or f"Reversal of {transfer_id}",
        reverses_id=transfer_id,
    )

    async def committed(conn: asyncpg.Connection, op: Operation, result: OperationResult) -> None:
        t = result.transfers[0]
        await event(
            actor.business_id,
            "transfer.created",
            transfer_out(t),
            (t["debit_account_id"], t["credit_account_id"]),
        )
        await audit(
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
        result = await engine.execute(op)
    except asyncpg.UniqueViolationError:
        raise refuse(Refusal.ALREADY_REVERSED, None, transfer_id=transfer_id) from None
    return transfer_out(result.transfers[0])
