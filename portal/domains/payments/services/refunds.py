"""Refunds of a payment, full or partial, through the provider; never above what is left.

Before its batch is applied, a refund is booked by that batch (the split destinations then receive less,
in proportion to their parts). After, it becomes deductions from the channel's next batches: each
destination gives back its share out of what it receives there (carried forward while a batch is too
small), and the refund fee comes from the batch settlement funds (docs/payments.md).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from portal.domains.ledger.services.shared import audit, event
from portal.domains.payments.schemas import Refund
from portal.domains.payments.services.allocation import take_back
from portal.domains.payments.services.payments import payment_out, visible_row
from portal.domains.payments.services.settings import default_settlement_account
from portal.domains.payments.services.settlements import REFUND_FEES
from portal.domains.provider import gateway
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import Amount, Conflict, FieldError, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.sql import transaction

REFUNDABLE = ("paid", "pending_settlement", "settled", "partially_refunded")


def refund_out(row: asyncpg.Record | dict[str, Any]) -> Refund:
    return Refund(
        id=row["id"],
        payment_id=row["payment_id"],
        amount=int(row["amount"]),
        fee=int(row["fee"]),
        reason=row["reason"],
        status=row["status"],
        created_at=row["created_at"],
    )


def _exceeds(payment_id: str, left: int) -> ValidationFailed:
    return ValidationFailed(
        N_("A refund of %(id)s is at most what is left of it (%(left)s)."),
        code="refund_exceeds_remaining",
        params={"id": payment_id, "left": Amount(left, "IDR")},
        errors=[FieldError("/amount", N_("above the remaining amount"))],
    )


def _check_refundable(payment: asyncpg.Record) -> None:
    if payment["status"] == "refunded":
        raise Conflict(
            N_("Payment %(id)s has already been refunded in full."),
            code="payment_already_refunded",
            params={"id": payment["id"]},
        )
    if payment["status"] not in REFUNDABLE:
        raise Conflict(
            N_("Payment %(id)s cannot be refunded: it is %(status)s."),
            code="payment_not_refundable",
            params={"id": payment["id"], "status": payment["status"]},
        )


async def refund_payment(
    actor: Actor, payment_id: str, amount: int | None = None, reason: str | None = None
) -> Refund:
    """Refund `amount` (default: all that is left) of a paid payment through the provider.

    The refund is recorded as pending (the payment row locked) before the provider is asked, so a second
    refund of the payment while one is at the provider is refused (`refund_in_progress`) and the sum of
    refunds never exceeds what was paid. A refund of a settled payment becomes deductions from the
    channel's next batches (`settlement_deduction`)."""
    actor.require("payments", "manage")
    row = await visible_row(actor, payment_id)
    _check_refundable(row)
    left = int(row["amount"]) - int(row["refunded_amount"])
    value = left if amount is None else amount
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationFailed(
            N_("The amount must be greater than zero."),
            errors=[FieldError("/amount", N_("must be greater than zero"))],
        )
    if value > left:
        raise _exceeds(payment_id, left)
    text = (reason or "").strip()
    if len(text) > 255 or any(ord(c) < 32 for c in text):
        raise ValidationFailed(
            N_("A reason is at most 255 printable characters."), errors=[FieldError("/reason", N_("invalid"))]
        )
    fee = REFUND_FEES.get(row["channel"], 0)
    refund_id = new_id("rfd")
    async with transaction():
        row = await visible_row(actor, payment_id, lock=True)
        _check_refundable(row)
        pending = await sql.fetchval(
            "SELECT id FROM payment_refund WHERE business_id = $1 AND payment_id = $2 AND status = 'pending'",
            actor.business_id,
            payment_id,
        )
        if pending is not None:
            raise Conflict(
                N_("Another refund of %(id)s is being processed; try again when it has finished."),
                code="refund_in_progress",
                params={"id": payment_id},
            )
        if int(row["refunded_amount"]) + value > int(row["amount"]):  # a refund finished meanwhile
            raise _exceeds(payment_id, int(row["amount"]) - int(row["refunded_amount"]))
        await sql.execute(
            "INSERT INTO payment_refund (business_id, id, payment_id, amount, fee, reason, status) "
            "VALUES ($1, $2, $3, $4, $5, $6, 'pending')",
            actor.business_id,
            refund_id,
            payment_id,
            value,
            fee,
            text,
        )
    try:
        answer = await gateway.provider().refund_payin(
            actor.business_id, row["provider_payin_id"], value, refund_id
        )
    except gateway.ProviderError:
        await sql.execute(
            "UPDATE payment_refund SET status = 'failed' WHERE business_id = $1 AND id = $2 AND status = "
            "'pending'",
            actor.business_id,
            refund_id,
        )
        raise
    async with transaction():
        row = await visible_row(actor, payment_id, lock=True)
        refund = await sql.fetchrow(
            "UPDATE payment_refund SET status = $3, provider_refund_id = $4 WHERE business_id = $1 "
            "AND id = $2 RETURNING *",
            actor.business_id,
            refund_id,
            "succeeded" if answer.status == "succeeded" else "failed",
            answer.refund_id,
        )
        assert refund is not None
        if answer.status == "succeeded":
            refunded = int(row["refunded_amount"]) + value
            status = "refunded" if refunded == int(row["amount"]) else "partially_refunded"
            # Settled (a payment whose split waits on a hold is booked by the batch that releases it).
            if row["settled_at"] is not None and row["split_hold_id"] is None:
                await _deduct_from_next_batches(row, refund_id, value, fee)
            updated = await sql.fetchrow(
                "UPDATE payment SET refunded_amount = $3, status = $4, updated_at = now() "
                "WHERE business_id = $1 AND id = $2 RETURNING *",
                actor.business_id,
                payment_id,
                refunded,
                status,
            )
            assert updated is not None
            await event(actor.business_id, "payment.refunded", payment_out(updated), (row["account_id"],))
            await audit(
                actor,
                "payment.refunded",
                f"Refund of {value} on {row['invoice_number']}",
                {"payment_id": payment_id, "account_id": row["account_id"], "refund_id": refund_id},
            )
    return refund_out(refund)


async def list_refunds(actor: Actor, payment_id: str) -> list[Refund]:
    """A payment's refunds, oldest first."""
    actor.require("payments")
    row = await visible_row(actor, payment_id)
    rows = await sql.fetch(
        "SELECT * FROM payment_refund WHERE business_id = $1 AND payment_id = $2 ORDER BY created_at, id",
        actor.business_id,
        row["id"],
    )
    return [refund_out(r) for r in rows]


async def _deduct_from_next_batches(payment: asyncpg.Record, refund_id: str, amount: int, fee: int) -> None:
    """A refund of a settled payment: each destination gives back its share (in proportion to what it
    received from the payment, the reference's 60/40 example) out of what it receives in the channel's
    next batches; the remainder's share and the refund fee come from the batch settlement funds (the
    default settlement account, else the payment's own account)."""
    business_id = payment["business_id"]
    funds = await default_settlement_account(business_id) or payment["account_id"]
    parts = await sql.fetch(
        "SELECT kind, account_id, beneficiary_id, amount FROM settlement_part WHERE business_id = $1 AND "
        "payment_id = $2 ORDER BY id",
        business_id,
        payment["id"],
    )
    owed: dict[tuple[str, str, str], int] = {}
    destinations = [p for p in parts if p["kind"] != "remainder"]
    if destinations:
        remainder = sum(int(p["amount"]) for p in parts if p["kind"] == "remainder")
        takes, remainder_take = take_back(amount, [int(p["amount"]) for p in destinations], remainder)
        for part, take in zip(destinations, takes, strict=True):
            key = (
                ("bank", str(part["beneficiary_id"]), "refund")
                if part["kind"] == "bank"
                else ("account", str(part["account_id"]), "refund")
            )
            owed[key] = owed.get(key, 0) + take
        owed[("account", funds, "refund")] = owed.get(("account", funds, "refund"), 0) + remainder_take
    else:
        owed[("account", payment["account_id"], "refund")] = amount
    owed[("account", funds, "refund_fee")] = fee
    rows = [(kind, target, reason, value) for (kind, target, reason), value in owed.items() if value > 0]
    await sql.execute(
        "INSERT INTO settlement_deduction (business_id, id, refund_id, payment_id, channel, kind, "
        "account_id, beneficiary_id, reason, amount, remaining, created_at) SELECT $1, v.id, $2, $3, $4, "
        "v.kind, CASE WHEN v.kind = 'account' THEN v.target END, CASE WHEN v.kind = 'bank' THEN v.target "
        "END, v.reason, v.amount, v.amount, $10 FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], "
        "$9::bigint[]) AS v(id, kind, target, reason, amount)",
        business_id,
        refund_id,
        payment["id"],
        payment["channel"],
        [new_id("ded") for _ in rows],
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3] for r in rows],
        clock.now(),  # the grace days before a balance take count from here (the test clock in tests)
    )
