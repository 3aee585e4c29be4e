"""Sending money to another account: a scoped actor pays *to* an account outside its subtree.

A transfer (`transfers.create_transfer`) needs both accounts inside the actor's scope. A partner who
pays a supplier or another partner in the same business names an account it cannot see: it finds it by
name or reference (`search_recipients`, which returns names and references only, never balances) and
sends from one of its own accounts (`send_to_account`). The source is checked against the actor's
scope here; the engine then books with the business as its scope (the destination may lie anywhere in
the business, never a system account). The recipient's users are notified.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation, OperationResult
from portal.domains.ledger.refusals import Refusal, refuse
from portal.domains.ledger.schemas import TransferOut
from portal.domains.ledger.services.shared import (
    audit,
    event,
    notify_account,
    require_distinct,
    valid_amount,
    valid_description,
    valid_reference,
)
from portal.domains.ledger.services.transfers import transfer_out
from portal.lib import sql
from portal.lib.actor import Actor
from portal.lib.money import format_money

MIN_QUERY = 2
MAX_RESULTS = 10


@dataclass(frozen=True)
class Recipient:
    """An account as a sender may see it: who it is, never what it holds."""

    id: str
    name: str
    reference: str | None
    currency: str


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_recipients(actor: Actor, q: str, *, currency: str | None = None) -> list[Recipient]:
    """Accounts of the actor's business a payment may go to, by name (contains) or reference (prefix),
    case-insensitive; at most ten, none for fewer than two characters. Names and references only."""
    actor.require("transfers", "manage")
    text = (q or "").strip().lower()
    if len(text) < MIN_QUERY:
        return []
    args: list[Any] = [actor.business_id, f"%{_like(text)}%", f"{_like(text)}%"]
    where = "kind <> 'system' AND status <> 'closed'"
    if currency:
        args.append(currency)
        where += f" AND currency = ${len(args)}"
    args.append(MAX_RESULTS)
    rows = await sql.fetch(
        f"SELECT id, name, reference, currency FROM account WHERE business_id = $1 AND {where} "
        "AND (lower(name) LIKE $2 OR lower(coalesce(reference, '')) LIKE $3) "
        f"ORDER BY lower(name), id LIMIT ${len(args)}",
        *args,
    )
    return [Recipient(r["id"], r["name"], r["reference"], r["currency"]) for r in rows]


async def get_recipient(actor: Actor, account_id: str, pointer: str = "/to_account_id") -> Recipient:
    """One account a payment may go to (any open, non-system account of the business), else 404."""
    actor.require("transfers", "manage")
    row = await sql.fetchrow(
        "SELECT id, name, reference, currency FROM account WHERE id = $1 AND business_id = $2 "
        "AND kind <> 'system' AND status <> 'closed'",
        account_id,
        actor.business_id,
    )
    if row is None:
        raise refuse(Refusal.ACCOUNT_NOT_FOUND, pointer, account_id=account_id)
    return Recipient(row["id"], row["name"], row["reference"], row["currency"])


async def send_to_account(
    actor: Actor,
    *,
    from_account_id: str,
    to_account_id: str,
    amount: int,
    reference: str,
    description: str | None = None,
) -> TransferOut:
    """Pay `amount` from an account in the actor's scope to any open account of the business; free.
    The recipient's users are notified with the sender's account name. Refused, writing nothing, on any
    bad input (source outside the scope: 404; destination closed, system or another business's: 404)."""
    actor.require("transfers", "manage")
    amount = valid_amount(amount)
    ref = valid_reference(reference)
    desc = valid_description(description)
    require_distinct(from_account_id, to_account_id)
    source = await accounts.get_account_row(actor, from_account_id, pointer="/from_account_id")
    target = await get_recipient(actor, to_account_id)
    leg = Leg(source.id, target.id, amount, kind="transfer", description=desc)

    async def committed(conn: asyncpg.Connection, op: Operation, result: OperationResult) -> None:
        t = result.transfers[0]
        await notify_account(
            actor.business_id,
            target.id,
            "transfer.received",
            {
                "amount": amount,
                "currency": t["currency"],
                "from_account_id": source.id,
                "from_account_name": source.name,
                "to_account_name": target.name,
                "reference": ref,
            },
            f"/transfers/{t['id']}",
        )
        await event(actor.business_id, "transfer.created", transfer_out(t), (source.id, target.id))
        await audit(
            actor,
            "transfer.sent",
            f"Sent {format_money(amount, t['currency'], 'en')} from {source.name} to {target.name}",
            {"account_id": source.id, "transfer_id": t["id"], "transfer_reference": ref},
        )

    # The source was checked against the actor's scope above; the destination may be anywhere in the
    # business, so the engine books with the business as scope (system accounts stay out: not internal).
    op = Operation(
        actor.business_id,
        [leg],
        reference=ref,
        reference_object_id=leg.transfer_id,
        scope_account_id=None,
        on_commit=committed,
    )
    result = await engine.execute(op)
    return transfer_out(result.transfers[0])
