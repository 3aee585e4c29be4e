"""Withdrawals: amount and fee are held at once, then posted when the bank pays or voided when it fails.

A withdrawal is sent as a payout to the account's own bank account: its creation queues
`payouts.dispatch_withdrawal` in the same transaction (the payouts domain's job, named, not imported: the
ledger does not depend on payouts), which routes it over the cheapest rail, keeping the withdrawal's fee
and holds; the payout's outcome settles the withdrawal (`settle_withdrawal`). Marking a withdrawal paid or
failed by hand stays possible only while no payout carries it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.accounts.schemas import SettlementBank
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation
from portal.domains.ledger.refusals import Refusal, refuse
from portal.domains.ledger.schemas import (
    WithdrawalOut,
    WithdrawalPage,
)
from portal.domains.ledger.services.holds import hold_legs_committed, resolve_hold
from portal.domains.ledger.services.shared import (
    audit,
    business_fees,
    claim_reference,
    event,
    list_objects,
    notify_account,
    valid_amount,
    valid_reference,
)
from portal.lib import screening, sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict, FieldError, NotFound, ValidationFailed
from portal.lib.i18n import N_, gettext
from portal.lib.ids import new_id
from portal.lib.jobs import enqueue
from portal.lib.money import format_money
from portal.lib.sql import transaction


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


WITHDRAWAL_COLUMNS = (
    "id, business_id, account_id, amount, fee, currency, reference, status, bank_code, bank_account_number, "
    "bank_holder_name, amount_hold_id, fee_hold_id, failure_reason, created_at, completed_at, payout_id"
)


async def create_withdrawal(actor: Actor, *, account_id: str, amount: int, reference: str) -> WithdrawalOut:
    """Pay out to the account's settlement bank account: amount + fee are held at once."""
    actor.require("transfers", "manage")
    amount = valid_amount(amount)
    ref = valid_reference(reference)
    account = await accounts.get_account_row(actor, account_id)
    bank = account.settlement_bank
    if bank is None:
        raise refuse(Refusal.NO_SETTLEMENT_BANK, "/account_id", account_id=account.id)
    fee = (await business_fees(actor.business_id))["withdrawal"] if account.currency == "IDR" else 0
    verdict = await screening.screen(
        actor,
        screening.Outgoing("withdrawal", actor.business_id, account.id, amount, account.currency, None, ref),
    )
    if verdict.blocks:
        raise refuse(Refusal.MONITORING_BLOCKED, None, rule=verdict.params.get("rule", ""))
    withdrawal_id = new_id("wdr")
    world = await accounts.system_account_id(actor.business_id, account.currency, "world")
    fees = await accounts.system_account_id(actor.business_id, account.currency, "fees")
    holds = _withdrawal_holds(account.id, world, fees, amount, fee, ref)
    legs = [leg for leg, _, _ in holds]
    amount_hold, fee_hold = holds[0][1], (holds[1][1] if len(holds) > 1 else None)
    async with transaction():
        await claim_reference(actor.business_id, ref, withdrawal_id)
        op = Operation(
            actor.business_id,
            legs,
            source_id=withdrawal_id,
            scope_account_id=actor.scope_account_id,
            internal=True,
            on_commit=hold_legs_committed(holds, ref, actor.business_id),
        )
        await engine.execute(op)
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
        assert row is not None
        await enqueue(
            "payouts.dispatch_withdrawal",
            {
                "business_id": actor.business_id,
                "withdrawal_id": withdrawal_id,
                "review": verdict.action == "review",
                "maker": actor.user_id,
                "maker_name": actor.name,
            },
        )
        await event(actor.business_id, "withdrawal.created", withdrawal_out(row), (account.id,))
        await audit(
            actor,
            "withdrawal.created",
            f"Withdrawal {format_money(amount, account.currency, 'en')} from {account.name}",
            {"withdrawal_id": withdrawal_id, "account_id": account.id, "reference": ref},
        )
    assert row is not None
    return withdrawal_out(row)


def _withdrawal_holds(
    account_id: str, world: str, fees: str, amount: int, fee: int, reference: str
) -> list[tuple[Leg, str, datetime | None]]:
    """The amount held for the bank (account → world) and, when there is a fee, the fee held for the
    fees account; each with its hold id and no expiry."""
    amount_hold = new_id("hld")
    holds: list[tuple[Leg, str, datetime | None]] = [
        (
            Leg(
                account_id,
                world,
                amount,
                kind="withdrawal",
                phase="pending",
                hold_id=amount_hold,
                description=reference,
            ),
            amount_hold,
            None,
        )
    ]
    if fee:
        fee_hold = new_id("hld")
        fee_leg = Leg(
            account_id,
            fees,
            fee,
            kind="fee",
            phase="pending",
            hold_id=fee_hold,
            description=f"Withdrawal fee {reference}",
        )
        holds.append((fee_leg, fee_hold, None))
    return holds


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
    rows, next_cursor = await list_objects(
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
            raise refuse(
                Refusal.WITHDRAWAL_NOT_PENDING, None, withdrawal_id=withdrawal_id, status=row["status"]
            )
        if row["payout_id"] is not None:
            raise Conflict(
                N_("Withdrawal %(id)s was sent to the bank as payout %(payout)s; its outcome decides."),
                params={"id": withdrawal_id, "payout": row["payout_id"]},
                code="withdrawal_sent_as_payout",
            )
        for hold_id in (row["amount_hold_id"], row["fee_hold_id"]):
            if hold_id:
                await resolve_hold(
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
        await event(
            actor.business_id,
            "withdrawal.paid" if paid else "withdrawal.failed",
            withdrawal_out(updated),
            (row["account_id"],),
        )
        params = {
            "amount": int(row["amount"]),
            "currency": row["currency"],
            "reference": row["reference"],
            "reason": reason or "",
        }
        await notify_account(
            actor.business_id,
            row["account_id"],
            "withdrawal.paid" if paid else "withdrawal.failed",
            params,
            f"/accounts/{row['account_id']}",
        )
        await audit(
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


async def settle_withdrawal(business_id: str, withdrawal_id: str, *, paid: bool, reason: str | None) -> None:
    """The payout carrying this withdrawal reached its outcome (its holds, the withdrawal's, are already
    posted or voided by the payout): record it, with the withdrawal's event and notification."""
    row = await sql.fetchrow(
        f"UPDATE withdrawal SET status = $3, failure_reason = $4, completed_at = now() "
        f"WHERE business_id = $1 AND id = $2 AND status = 'pending' RETURNING {WITHDRAWAL_COLUMNS}",
        business_id,
        withdrawal_id,
        "paid" if paid else "failed",
        None if paid else (reason or "failed"),
    )
    if row is None:
        return
    kind = "withdrawal.paid" if paid else "withdrawal.failed"
    await event(business_id, kind, withdrawal_out(row), (row["account_id"],))
    await notify_account(
        business_id,
        row["account_id"],
        kind,
        {
            "amount": int(row["amount"]),
            "currency": row["currency"],
            "reference": row["reference"],
            "reason": row["failure_reason"] or "",
        },
        f"/accounts/{row['account_id']}",
    )


async def take_for_payout(business_id: str, withdrawal_id: str, payout_id: str) -> asyncpg.Record | None:
    """Mark a pending withdrawal as carried by `payout_id` (inside the payout's transaction); its row, or
    None when it is no longer pending or already carried (the dispatch job then does nothing)."""
    return await sql.fetchrow(
        f"UPDATE withdrawal SET payout_id = $3 WHERE business_id = $1 AND id = $2 AND status = 'pending' "
        f"AND payout_id IS NULL RETURNING {WITHDRAWAL_COLUMNS}",
        business_id,
        withdrawal_id,
        payout_id,
    )
