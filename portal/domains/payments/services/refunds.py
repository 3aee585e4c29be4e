"""Refunds of a payment, full or partial, through the provider; never above what is left.

Before its batch is applied, a refund is booked by that batch (the split destinations then receive less,
in proportion to their parts). After, it is booked at once: the refund and its fee leave the payment's
account, and each split destination gives back its share — from its own balance first, then from the
default settlement account when its balance cannot cover it (the liability policy, docs/payments.md).
"""

from __future__ import annotations

from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation
from portal.domains.ledger.services.shared import audit, event
from portal.domains.payments.schemas import Refund
from portal.domains.payments.services.payments import payment_out, visible_row
from portal.domains.payments.services.settings import default_settlement_account
from portal.domains.payments.services.settlements import REFUND_FEES
from portal.domains.provider import gateway
from portal.lib import sql
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


async def refund_payment(
    actor: Actor, payment_id: str, amount: int | None = None, reason: str | None = None
) -> Refund:
    """Refund `amount` (default: all that is left) of a paid payment through the provider."""
    actor.require("payments", "manage")
    row = await visible_row(actor, payment_id)
    if row["status"] not in REFUNDABLE:
        raise Conflict(
            N_("Payment %(id)s cannot be refunded: it is %(status)s."),
            code="payment_not_refundable",
            params={"id": payment_id, "status": row["status"]},
        )
    left = int(row["amount"]) - int(row["refunded_amount"])
    value = left if amount is None else amount
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValidationFailed(
            N_("The amount must be greater than zero."),
            errors=[FieldError("/amount", N_("must be greater than zero"))],
        )
    if value > left:
        raise ValidationFailed(
            N_("A refund of %(id)s is at most what is left of it (%(left)s)."),
            code="refund_exceeds_remaining",
            params={"id": payment_id, "left": Amount(left, "IDR")},
            errors=[FieldError("/amount", N_("above the remaining amount"))],
        )
    text = (reason or "").strip()
    if len(text) > 255 or any(ord(c) < 32 for c in text):
        raise ValidationFailed(
            N_("A reason is at most 255 printable characters."), errors=[FieldError("/reason", N_("invalid"))]
        )
    fee = REFUND_FEES.get(row["channel"], 0)
    if row["settled_at"] is not None and row["status"] != "pending_settlement":
        await _require_cover(row, value + fee)
    refund_id = new_id("rfd")
    answer = await gateway.provider().refund_payin(
        actor.business_id, row["provider_payin_id"], value, refund_id
    )
    async with transaction():
        row = await visible_row(actor, payment_id, lock=True)
        if int(row["refunded_amount"]) + value > int(row["amount"]):  # a concurrent refund won
            raise ValidationFailed(
                N_("A refund of %(id)s is at most what is left of it (%(left)s)."),
                code="refund_exceeds_remaining",
                params={
                    "id": payment_id,
                    "left": Amount(int(row["amount"]) - int(row["refunded_amount"]), "IDR"),
                },
                errors=[FieldError("/amount", N_("above the remaining amount"))],
            )
        refund = await sql.fetchrow(
            "INSERT INTO payment_refund (business_id, id, payment_id, amount, fee, reason, status, "
            "provider_refund_id) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
            actor.business_id,
            refund_id,
            payment_id,
            value,
            fee,
            text,
            "succeeded" if answer.status == "succeeded" else "failed",
            answer.refund_id,
        )
        assert refund is not None
        if answer.status == "succeeded":
            refunded = int(row["refunded_amount"]) + value
            status = "refunded" if refunded == int(row["amount"]) else "partially_refunded"
            if row["settled_at"] is not None and row["status"] != "pending_settlement":
                await _book_after_settlement(actor, row, refund_id, value, fee)
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


async def _available(business_id: str, account_id: str) -> int:
    row = await sql.fetchrow(
        "SELECT credits_posted - debits_posted - debits_pending AS available FROM account WHERE id = $1 "
        "AND business_id = $2",
        account_id,
        business_id,
    )
    return int(row["available"]) if row else 0


async def _require_cover(payment: asyncpg.Record, needed: int) -> None:
    """Before the provider is asked: the accounts that would pay a settled payment's refund can cover it
    (so a refund is never sent that the ledger then cannot book)."""
    business_id = payment["business_id"]
    ids = {payment["account_id"], await default_settlement_account(business_id) or payment["account_id"]}
    rows = await sql.fetch(
        "SELECT DISTINCT account_id FROM settlement_part WHERE business_id = $1 AND payment_id = $2 "
        "AND kind = 'account'",
        business_id,
        payment["id"],
    )
    ids.update(str(r["account_id"]) for r in rows)
    available = 0
    for account_id in ids:
        available += max(await _available(business_id, account_id), 0)
    if available < needed:
        raise ValidationFailed(
            N_("The accounts of this payment cannot cover a refund of %(amount)s now."),
            code="refund_not_covered",
            params={"amount": Amount(needed, "IDR")},
            errors=[FieldError("/amount", N_("not covered by the balances"))],
        )


async def _book_after_settlement(
    actor: Actor, payment: asyncpg.Record, refund_id: str, amount: int, fee: int
) -> None:
    """Book a refund of a settled payment now: each split destination gives back its share of the refund
    (what it cannot cover comes from the default settlement account), then the refund and its fee leave
    the payment's account."""
    business_id = payment["business_id"]
    account_id = payment["account_id"]
    world = await accounts.system_account_id(business_id, "IDR", "world")
    default = await default_settlement_account(business_id) or account_id
    legs: list[Leg] = []
    meta = {"payment_id": payment["id"], "refund_id": refund_id}
    parts = await sql.fetch(
        "SELECT kind, account_id, amount FROM settlement_part WHERE business_id = $1 AND payment_id "
        "= $2 ORDER BY id",
        business_id,
        payment["id"],
    )
    if parts:
        from portal.domains.payments.services.allocation import take_back

        received = [int(p["amount"]) for p in parts if p["kind"] != "remainder"]
        remainder = sum(int(p["amount"]) for p in parts if p["kind"] == "remainder")
        takes, _ = take_back(amount, received, remainder)
        for part, take in zip([p for p in parts if p["kind"] != "remainder"], takes, strict=True):
            if take <= 0 or part["kind"] != "account":
                continue  # a bank destination's money has left Neraca: the default account covers it
            covered = min(take, max(await _available(business_id, part["account_id"]), 0))
            if covered:
                legs.append(
                    Leg(
                        part["account_id"],
                        account_id,
                        covered,
                        kind="split_refund",
                        description=f"Refund share {payment['invoice_number']}",
                        metadata=meta,
                    )
                )
        # Everything the destinations did not give back comes from the default settlement account.
        given = sum(leg.amount for leg in legs)
        if default != account_id and amount - given > 0:
            legs.append(
                Leg(
                    default,
                    account_id,
                    amount - given,
                    kind="split_refund",
                    description=f"Refund share {payment['invoice_number']}",
                    metadata=meta,
                )
            )
    legs.append(
        Leg(
            account_id,
            world,
            amount,
            kind="payment_refund",
            description=f"Refund {payment['invoice_number']}",
            metadata=meta,
        )
    )
    if fee:
        legs.append(
            Leg(
                account_id,
                world,
                fee,
                kind="refund_fee",
                description=f"Refund fee {payment['invoice_number']}",
                metadata=meta,
            )
        )
    group_id = new_id("grp")
    await engine.execute(Operation(business_id, legs, group_id=group_id, source_id=refund_id, internal=True))
    await sql.execute(
        "UPDATE payment_refund SET group_id = $3 WHERE business_id = $1 AND id = $2",
        business_id,
        refund_id,
        group_id,
    )
