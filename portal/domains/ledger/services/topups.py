"""Top-ups: an order the payer settles at the bank; once paid, the account and fees account are credited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.accounts.schemas import SettlementBank
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation
from portal.domains.ledger.refusals import Refusal, refuse
from portal.domains.ledger.schemas import (
    TopUpOut,
    TopUpPage,
)
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
from portal.domains.provider import services as provider
from portal.domains.provider.gateway import Payin
from portal.lib import clock, sql
from portal.lib.actor import Actor, system_actor
from portal.lib.errors import NotFound
from portal.lib.i18n import gettext
from portal.lib.ids import new_id
from portal.lib.jobs import enqueue
from portal.lib.money import format_money
from portal.lib.sql import transaction

TOPUP_VALIDITY = timedelta(hours=24)


# Where payers send top-up money (the business's collection account at the bank); virtual account per order.
COLLECTION_BANK = "014"


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


TOPUP_COLUMNS = (
    "id, business_id, account_id, amount, fee, currency, reference, status, pay_bank_code, "
    "pay_account_number, pay_holder_name, group_id, expires_at, paid_at, created_at"
)


async def create_topup(actor: Actor, *, account_id: str, amount: int, reference: str) -> TopUpOut:
    """Open a top-up order: the payer transfers amount + fee to the instructions within 24 hours."""
    actor.require("transfers", "manage")
    amount = valid_amount(amount)
    ref = valid_reference(reference)
    account = await accounts.get_account_row(actor, account_id)
    if account.status == "closed":
        raise refuse(Refusal.ACCOUNT_CLOSED, "/account_id", account_id=account.id)
    fee = (await business_fees(actor.business_id))["topup"] if account.currency == "IDR" else 0
    topup_id = new_id("top")
    now = clock.now()
    holder = f"NERACA {account.name}"[:100]
    if await sql.fetchval(
        "SELECT 1 FROM ledger_reference WHERE business_id = $1 AND reference = $2", actor.business_id, ref
    ):
        # The same order again (a retry whose first answer was lost) is answered with it; anything else
        # is refused before the provider opens a virtual account for nothing.
        same = await sql.fetchrow(
            f"SELECT {TOPUP_COLUMNS} FROM topup WHERE business_id = $1 AND reference = $2 "
            "AND account_id = $3 AND amount = $4",
            actor.business_id,
            ref,
            account.id,
            amount,
        )
        if same is not None:
            return topup_out(same)
        raise engine.duplicate_reference(ref)
    pay_bank, pay_number, payin = await _payment_instructions(
        actor.business_id, topup_id, amount + fee, account.currency, now + TOPUP_VALIDITY, holder
    )
    async with transaction():
        await claim_reference(actor.business_id, ref, topup_id)
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
            pay_bank,
            pay_number,
            holder,
            now + TOPUP_VALIDITY,
            now,
        )
        if payin is not None:
            await provider.record_payin(actor.business_id, "topup", topup_id, payin, account.currency)
        await enqueue(
            "ledger.expire_topup",
            {"business_id": actor.business_id, "topup_id": topup_id},
            delay=TOPUP_VALIDITY,
        )
        assert row is not None
        await event(actor.business_id, "topup.created", topup_out(row), (account.id,))
        await audit(
            actor,
            "topup.created",
            f"Top-up order {format_money(amount + fee, account.currency, 'en')} for {account.name}",
            {"topup_id": topup_id, "account_id": account.id, "reference": ref},
        )
    assert row is not None
    return topup_out(row)


async def _payment_instructions(
    business_id: str, topup_id: str, total: int, currency: str, expires_at: datetime, holder: str
) -> tuple[str, str, Payin | None]:
    """Where the payer sends the money. IDR: a virtual account opened at the payment provider for this
    order (before the order's transaction: no lock is held across the network). Other currencies are
    collected on the business's bank collection account, which the provider does not handle."""
    if currency != "IDR":
        digits = str(int.from_bytes(topup_id.encode(), "big") % 10**10).zfill(10)
        return COLLECTION_BANK, f"8808{digits}", None
    payin = await provider.open_topup_payin(
        business_id,
        topup_id=topup_id,
        amount=total,
        currency=currency,
        expires_at=expires_at,
        customer_name=holder,
        bank_code=COLLECTION_BANK,
    )
    return payin.bank_code or COLLECTION_BANK, payin.va_number or "", payin


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
            raise refuse(Refusal.TOPUP_EXPIRED, None, topup_id=topup_id)
        if row["status"] != "pending":
            raise refuse(Refusal.TOPUP_NOT_PENDING, None, topup_id=topup_id, status=row["status"])
        updated = await _book(actor, row)
    return topup_out(updated)


@provider.on_payin_paid("topup")
async def book_topup_payment(business_id: str, topup_id: str, amount: int) -> bool:
    """The payment provider says the top-up's money arrived (its callback, or a status query): book it,
    once, inside the caller's transaction. A payment after expiry is booked too — the money is there.
    False when it was booked already (a repeated callback) or the amount is not the order's total."""
    row = await sql.fetchrow(
        f"SELECT {TOPUP_COLUMNS} FROM topup WHERE id = $1 AND business_id = $2 FOR UPDATE",
        topup_id,
        business_id,
    )
    if row is None or row["status"] == "paid" or amount != int(row["amount"]) + int(row["fee"]):
        return False
    await _book(system_actor(business_id), row)
    return True


async def _book(actor: Actor, row: asyncpg.Record) -> asyncpg.Record:
    """Credit the account with the amount and the fees account with the fee; the top-up becomes paid."""
    topup_id = row["id"]
    world = await accounts.system_account_id(actor.business_id, row["currency"], "world")
    fees = await accounts.system_account_id(actor.business_id, row["currency"], "fees")
    legs = [Leg(world, row["account_id"], int(row["amount"]), kind="topup", description=row["reference"])]
    if row["fee"]:
        legs.append(
            Leg(world, fees, int(row["fee"]), kind="fee", description=f"Top-up fee {row['reference']}")
        )
    group_id = new_id("grp")
    await engine.execute(
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
    await event(actor.business_id, "topup.paid", topup_out(updated), (row["account_id"],))
    await notify_account(
        actor.business_id,
        row["account_id"],
        "topup.paid",
        {"amount": int(row["amount"]), "currency": row["currency"], "reference": row["reference"]},
        f"/accounts/{row['account_id']}",
    )
    await audit(
        actor,
        "topup.paid",
        f"Top-up {row['reference']} paid",
        {"topup_id": topup_id, "account_id": row["account_id"], "reference": row["reference"]},
    )
    return updated


async def simulate_topup_payment(actor: Actor, topup_id: str) -> TopUpOut:
    """Sandbox only: a customer pays the top-up's virtual account at the sandbox provider; the payment
    is confirmed by the provider (status query now, callback later) and booked once."""
    actor.require("transfers", "manage")
    row = await _topup_row(actor, topup_id)  # another business's or out of scope: 404 before the mode
    if actor.business_mode != "sandbox":
        raise refuse(Refusal.NOT_SANDBOX, None)
    if await provider.payin_for(actor.business_id, "topup", topup_id) is None:
        return await pay_topup(actor, topup_id)  # not collected through the provider (non-IDR)
    if row["status"] != "pending" or row["expires_at"] <= clock.now():
        return await pay_topup(actor, topup_id)  # refuses as before: expired, or not pending
    await provider.simulate_topup_payment(actor.business_id, topup_id)
    return topup_out(await _topup_row(actor, topup_id))


async def expire_topup(business_id: str, topup_id: str) -> bool:
    """Mark an unpaid top-up expired once its 24 hours are over (idempotent)."""
    async with transaction():
        changed = await sql.fetchrow(
            "UPDATE topup SET status = 'expired' WHERE id = $1 AND business_id = $2 AND status = 'pending' "
            f"AND expires_at <= $3 RETURNING {TOPUP_COLUMNS}",
            topup_id,
            business_id,
            clock.now(),
        )
        if changed is not None:
            await event(business_id, "topup.expired", topup_out(changed), (changed["account_id"],))
    return changed is not None


async def expire_due_topups(limit: int = 1000) -> int:
    """Mark every unpaid top-up past its 24 hours expired (a sweep behind the per-order jobs; a second
    run changes nothing). Returns how many it expired."""
    async with transaction():
        changed = await sql.fetch(
            "UPDATE topup SET status = 'expired' WHERE id IN (SELECT id FROM topup WHERE status = 'pending' "
            "AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
            f"AND status = 'pending' RETURNING {TOPUP_COLUMNS}",
            clock.now(),
            limit,
        )
        for row in changed:
            await event(row["business_id"], "topup.expired", topup_out(row), (row["account_id"],))
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
    rows, next_cursor = await list_objects(
        actor, "topup", TOPUP_COLUMNS, account_id, status, ("pending", "paid", "expired"), limit, after
    )
    return TopUpPage([topup_out(r) for r in rows], next_cursor is not None, next_cursor)
