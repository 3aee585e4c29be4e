"""Charges: the card billing's transactions (one per billing and execute date, or a single payment),
searched by Billing Number, Invoice Number or Approval Code; void (same business day) and refund."""

from __future__ import annotations

from typing import Any

import asyncpg

from portal.domains.billing.schemas import ChargeOut, ChargePage
from portal.domains.billing.services import charging, common
from portal.domains.webhooks.services import emit
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import Amount, Conflict, FieldError, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.sql import transaction


def charge_out(row: asyncpg.Record | dict[str, Any]) -> ChargeOut:
    return ChargeOut(
        id=row["id"],
        billing_id=row["billing_id"],
        billing_number=row["billing_number"],
        invoice_number=row["invoice_number"],
        type=row["kind"],
        execute_date=row["execute_date"],
        account_id=row["account_id"],
        amount=row["amount"],
        currency=row["currency"],
        status=row["status"],
        attempt=row["attempt"],
        next_attempt_on=row["next_attempt_on"] if row["status"] == "retry" else None,
        response_code=row["response_code"],
        approval_code=row["approval_code"],
        error_message=row["error_message"],
        issuer=row["issuer"],
        card_first6=row["card_first6"],
        card_last4=row["card_last4"],
        card_brand=row["card_brand"],
        payment_id=row["payment_id"],
        refunded_amount=row["refunded_amount"],
        batch_id=row["batch_id"],
        created_at=row["created_at"],
        charged_at=row["charged_at"],
    )


async def charge_row(actor: Actor, charge_id: str, *, lock: bool = False) -> asyncpg.Record:
    actor.require("billing")
    if not common.valid_id(charge_id, "chg") and not (
        isinstance(charge_id, str) and charge_id.startswith("chg_") and len(charge_id) == 30
    ):
        raise common.not_found("Charge", charge_id)
    args: list[Any] = [actor.business_id, charge_id]
    scope = common.scope_clause(actor, args)
    row = await sql.fetchrow(
        f"SELECT * FROM billing_charge WHERE business_id = $1 AND id = $2{scope}"
        + (" FOR UPDATE" if lock else ""),
        *args,
    )
    if row is None:
        raise common.not_found("Charge", charge_id)
    return row


async def _activity_refs(row: asyncpg.Record) -> dict[str, str]:
    """What a charge's activity entry is found by: Billing Number, Invoice Number, Customer ID."""
    refs = {"billing_number": row["billing_number"], "invoice_number": row["invoice_number"]}
    customer_ref = await sql.fetchval(
        "SELECT customer_ref FROM billing_customer WHERE business_id = $1 AND id = $2",
        row["business_id"],
        row["customer_id"],
    )
    if customer_ref:
        refs["customer_id"] = customer_ref
    return refs


async def find_charge(actor: Actor, charge_id: str) -> None:
    await charge_row(actor, charge_id)


async def get_charge(actor: Actor, charge_id: str) -> ChargeOut:
    """One charge of the business."""
    return charge_out(await charge_row(actor, charge_id))


async def list_charges(
    actor: Actor,
    *,
    billing_number: str | None = None,
    invoice_number: str | None = None,
    approval_code: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> ChargePage:
    """Charges of the business and scope, newest first; exact matches on Billing Number, Invoice Number
    and Approval Code (the void and refund search)."""
    actor.require("billing")
    common.refuse_card_numbers(
        {
            "/billing_number": billing_number,
            "/invoice_number": invoice_number,
            "/approval_code": approval_code,
        }
    )
    size = clamp_limit(limit)
    args: list[Any] = [actor.business_id]
    where = common.scope_clause(actor, args)
    for column, value in (
        ("billing_number", billing_number),
        ("invoice_number", invoice_number),
        ("approval_code", approval_code),
        ("status", status),
    ):
        if value:
            args.append(str(value).strip()[:60])
            where += f" AND {column} = ${len(args)}"
    position = decode_cursor(after)
    if position is not None:
        args.append(str(position))
        where += (
            " AND (created_at, id) < (SELECT created_at, id FROM billing_charge WHERE business_id = $1 "
            f"AND id = ${len(args)})"
        )
    args.append(size + 1)
    rows = await sql.fetch(
        "SELECT * FROM billing_charge WHERE business_id = $1"
        + where
        + f" ORDER BY created_at DESC, id DESC LIMIT ${len(args)}",
        *args,
    )
    more = len(rows) > size
    rows = rows[:size]
    return ChargePage(
        [charge_out(r) for r in rows], more, encode_cursor(rows[-1]["id"]) if more and rows else None
    )


async def void_charge(actor: Actor, charge_id: str) -> ChargeOut:
    """Void a paid charge on the business day it was paid, before it settles (a void at the provider,
    not a refund: no fee, the money never settles); later, refund it."""
    actor.require("billing", "manage")
    row = await charge_row(actor, charge_id)
    if row["status"] == "voided":
        raise Conflict(N_("This charge is already voided."), code="charge_already_voided")
    if row["status"] != "paid" or row["refunded_amount"]:
        raise Conflict(
            N_("Only a paid charge with nothing refunded can be voided."), code="charge_not_voidable"
        )
    try:
        await charging.void(actor.business_id, row["payment_id"])
    except Conflict as exc:
        if exc.code == "void_after_settlement":
            raise Conflict(
                N_(
                    "A charge can be voided only on the business day it was paid, before it settles. Refund it."  # noqa: E501
                ),
                code="void_after_settlement",
            ) from None
        raise
    async with transaction():
        updated = await sql.fetchrow(
            "UPDATE billing_charge SET status = 'voided', updated_at = $3 "
            "WHERE business_id = $1 AND id = $2 AND status = 'paid' RETURNING *",
            actor.business_id,
            row["id"],
            clock.now(),
        )
        if updated is None:
            raise Conflict(N_("This charge is already voided."), code="charge_already_voided")
        await emit(
            actor.business_id,
            "billing.charge.voided",
            {"id": row["id"], "invoice_number": row["invoice_number"]},
            account_ids=[row["account_id"]],
        )
        await common.audit(
            actor,
            "billing.charge_voided",
            f"Charge {row['invoice_number']} voided",
            await _activity_refs(row),
        )
    return charge_out(updated)


async def refund_charge(actor: Actor, charge_id: str, amount: Any = None, reason: Any = None) -> ChargeOut:
    """Refund a paid charge in full (no amount) or in part; never more than what is left."""
    actor.require("billing", "manage")
    row = await charge_row(actor, charge_id)
    note = common.text(reason, "/reason", max_length=140, required=False)
    if row["status"] not in ("paid", "partially_refunded"):
        raise Conflict(N_("Only a paid charge can be refunded."), code="charge_not_refundable")
    left = row["amount"] - row["refunded_amount"]
    value = left if amount in (None, "") else common.amount(amount)
    if value > left:
        raise ValidationFailed(
            N_("The refund is above what is left of the charge (%(left)s)."),
            params={"left": Amount(left, row["currency"])},
            code="refund_exceeds_charge",
            errors=[FieldError("/amount", N_("above what is left"), "refund_exceeds_charge")],
        )
    await charging.refund(actor.business_id, row["payment_id"], value, note or None)
    async with transaction():
        updated = await sql.fetchrow(
            "UPDATE billing_charge SET refunded_amount = refunded_amount + $3, "
            "status = CASE WHEN refunded_amount + $3 = amount THEN 'refunded' ELSE 'partially_refunded' END, "
            "updated_at = $4 WHERE business_id = $1 AND id = $2 AND refunded_amount + $3 <= amount "
            "RETURNING *",
            actor.business_id,
            row["id"],
            value,
            clock.now(),
        )
        if updated is None:
            raise Conflict(N_("The charge changed meanwhile; look at it again."), code="charge_changed")
        await emit(
            actor.business_id,
            "billing.charge.refunded",
            {"id": row["id"], "invoice_number": row["invoice_number"], "amount": value, "reason": note},
            account_ids=[row["account_id"]],
        )
        await common.audit(
            actor,
            "billing.charge_refunded",
            f"Charge {row['invoice_number']} refunded ({value})",
            await _activity_refs(row),
        )
    return charge_out(updated)
