"""Holds: money reserved on the source now, then posted (moved), voided or expired."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.identity import idempotency
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation, OperationResult
from portal.domains.ledger.refusals import Refusal, refuse
from portal.domains.ledger.schemas import (
    HoldOut,
)
from portal.domains.ledger.services.shared import (
    audit,
    event,
    require_distinct,
    valid_amount,
    valid_reference,
)
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, NeracaError, NotFound, ValidationFailed
from portal.lib.i18n import gettext
from portal.lib.ids import new_id
from portal.lib.jobs import enqueue
from portal.lib.sql import transaction

MAX_HOLD_VALIDITY = timedelta(days=90)


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


HOLD_COLUMNS = (
    "id, business_id, transfer_id, debit_account_id, credit_account_id, amount, posted_amount, currency, "
    "kind, reference, status, expires_at, created_at, resolved_at, resolution_transfer_id"
)


def hold_legs_committed(
    holds: list[tuple[Leg, str, datetime | None]], reference: str | None, business_id: str
) -> engine.CommitHook:
    async def committed(conn: asyncpg.Connection, op: Operation, result: OperationResult) -> None:
        by_id = {t["id"]: t for t in result.transfers}
        batch = engine.deferred()
        assert batch is not None, "commit hooks run with the batch's collector"
        for leg, hold_id, expires_at in holds:
            t = by_id[leg.transfer_id]
            # Written with the batch's other holds in one INSERT … unnest.
            batch.holds.append(
                (
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
    amount = valid_amount(amount)
    ref = valid_reference(reference)
    require_distinct(from_account_id, to_account_id)
    if expires_at is not None and (
        expires_at.tzinfo is None or expires_at <= clock.now() or expires_at > clock.now() + MAX_HOLD_VALIDITY
    ):
        raise ValidationFailed(
            gettext("expires_at must be a future time (with time zone) within 90 days."),
            errors=[FieldError("/expires_at", gettext("invalid"))],
        )
    hold_id = new_id("hld")
    leg = Leg(from_account_id, to_account_id, amount, kind="hold", phase="pending", hold_id=hold_id)
    insert_hold = hold_legs_committed([(leg, hold_id, expires_at)], ref, actor.business_id)

    async def committed(conn: asyncpg.Connection, op: Operation, result: OperationResult) -> None:
        await insert_hold(conn, op, result)
        t = result.transfers[0]
        # The hold row itself is written with the batch's other holds, after the hooks.
        held = {
            "id": hold_id,
            "debit_account_id": from_account_id,
            "credit_account_id": to_account_id,
            "amount": amount,
            "posted_amount": 0,
            "currency": t["currency"],
            "reference": ref,
            "status": "pending",
            "expires_at": expires_at,
            "created_at": t["created_at"],
        }
        await event(actor.business_id, "hold.created", hold_out(held), (from_account_id, to_account_id))
        await audit(
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
        replay_by_reference=True,
    )
    result = await engine.execute(op)
    return await get_hold(actor, result.object_id if result.replayed and result.object_id else hold_id)


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


async def resolve_hold(
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
        raise refuse(Refusal.HOLD_NOT_PENDING, None, hold_id=hold_id, status=row["status"])
    held = int(row["amount"])
    if action == "post":
        posted = held if amount is None else valid_amount(amount)
        if posted > held:
            raise refuse(
                Refusal.HOLD_AMOUNT_EXCEEDED, "/amount", hold_id=hold_id, held=held, currency=row["currency"]
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
    result = await engine.execute(op)
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


_QUALIFIED_HOLD_COLUMNS = ", ".join("hold." + c.strip() for c in HOLD_COLUMNS.split(","))


async def resolve_holds(
    business_id: str, resolutions: list[tuple[str, str, str | None]]
) -> list[asyncpg.Record]:
    """Post (in full) or void many holds of one business inside the current transaction, through one
    engine call with one operation per hold (as `resolve_hold` books each): `(hold_id, action, kind)`
    with action `post` or `void`. Every hold must be pending, else its refusal is raised (the caller's
    transaction rolls back). Returns the updated hold rows."""
    if not resolutions:
        return []
    rows = {
        r["id"]: r
        for r in await sql.fetch(
            f"SELECT {HOLD_COLUMNS} FROM hold WHERE business_id = $1 AND id = ANY($2::text[]) "
            "ORDER BY id FOR UPDATE",
            business_id,
            sorted({hold_id for hold_id, _action, _kind in resolutions}),
        )
    }
    ops = []
    statuses = []
    for hold_id, action, kind in resolutions:
        row = rows.get(hold_id)
        if row is None:
            raise NotFound(gettext("Hold %(id)s was not found.") % {"id": hold_id})
        if row["status"] != "pending":
            raise refuse(Refusal.HOLD_NOT_PENDING, None, hold_id=hold_id, status=row["status"])
        held = int(row["amount"])
        post = action == "post"
        leg = Leg(
            row["debit_account_id"],
            row["credit_account_id"],
            held,
            kind=kind or ("hold_post" if post else "hold_void"),
            phase="post_pending" if post else "void_pending",
            hold_id=hold_id,
            released_amount=held,
        )
        ops.append(Operation(business_id, [leg], internal=True, reference=None, source_id=hold_id))
        statuses.append(("posted", held) if post else ("voided", 0))
    transfer_ids = []
    for result in await engine.run_in_transaction(ops):
        if isinstance(result, NeracaError):
            raise result
        transfer_ids.append(result.transfers[0]["id"])
    return await sql.fetch(
        "UPDATE hold SET status = r.status, posted_amount = r.posted, resolved_at = now(), "
        "resolution_transfer_id = r.transfer_id "
        "FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[]) AS r(id, status, posted, transfer_id) "
        f"WHERE hold.business_id = $1 AND hold.id = r.id RETURNING {_QUALIFIED_HOLD_COLUMNS}",
        business_id,
        [hold_id for hold_id, _action, _kind in resolutions],
        [status for status, _posted in statuses],
        [posted for _status, posted in statuses],
        transfer_ids,
    )


async def post_hold(actor: Actor, hold_id: str, *, amount: int | None = None) -> HoldOut:
    """Complete a hold: move `amount` (default all of it); the rest is released."""
    actor.require("transfers", "manage")
    # another business's or out of scope: 404 before status or amount
    visible = await _visible_hold(actor, hold_id)
    if visible["status"] == "posted" and idempotency.booked_earlier(visible["resolution_transfer_id"]):
        return hold_out(visible)  # this request's own post, its first answer lost
    async with transaction():
        row = await resolve_hold(
            actor.business_id, hold_id, "post", amount=amount, scope_account_id=actor.scope_account_id
        )
        await event(actor.business_id, "hold.posted", hold_out(row), _hold_accounts(row))
        await audit(
            actor,
            "hold.posted",
            f"Posted {row['posted_amount']} of hold {hold_id}",
            {"hold_id": hold_id, "account_id": row["debit_account_id"]},
        )
    return hold_out(row)


async def void_hold(actor: Actor, hold_id: str) -> HoldOut:
    """Cancel a hold: the reserved amount is available again at once."""
    actor.require("transfers", "manage")
    visible = await _visible_hold(actor, hold_id)  # another business's or out of scope: 404 before the status
    if visible["status"] == "voided" and idempotency.booked_earlier(visible["resolution_transfer_id"]):
        return hold_out(visible)  # this request's own void, its first answer lost
    async with transaction():
        row = await resolve_hold(actor.business_id, hold_id, "void", scope_account_id=actor.scope_account_id)
        await event(actor.business_id, "hold.voided", hold_out(row), _hold_accounts(row))
        await audit(
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
        expired = await resolve_hold(business_id, hold_id, "expire", internal=True)
        await event(business_id, "hold.expired", hold_out(expired), _hold_accounts(expired))
    return True


def _hold_accounts(row: asyncpg.Record) -> tuple[str, ...]:
    return (row["debit_account_id"], row["credit_account_id"])


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
