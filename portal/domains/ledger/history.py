"""Histories that tell the truth: the ledger's rows as the lines and timelines people read.

Built on the ledger's own records — transfers, holds, and the money objects (top-ups, withdrawals) that
caused them — so it stays right whatever pays a withdrawal out underneath. One convention everywhere:
a line is `in` (money arrives in what the viewer looks at: `+`), `out` (it leaves: `−`) or `internal`
(both sides are the viewer's: no sign), with its status (pending, posted, voided, expired, refunded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from portal.domains.audit.services import about
from portal.domains.ledger.labels import kind_label
from portal.domains.ledger.services.shared import account_names
from portal.lib import sql
from portal.lib.actor import Actor
from portal.lib.i18n import N_, gettext

# The kind a line reads as, by its row's phase: a void gives money back.
_VOID_LABELS = {
    "withdrawal": N_("Withdrawal refunded"),
    "fee": N_("Fee refunded"),
    "topup": N_("Top-up refunded"),
    "hold_void": N_("Hold released"),
    "hold_expire": N_("Hold expired"),
}


@dataclass(frozen=True)
class Line:
    """One line of a history list."""

    id: str
    created_at: datetime
    kind: str
    label: str
    status: str
    direction: str  # in | out | internal
    amount: int  # signed for in/out, positive for internal
    currency: str
    reference: str
    description: str
    from_id: str
    to_id: str
    href: str


@dataclass(frozen=True)
class Event:
    """One step of a money object's timeline."""

    at: datetime | None
    title: str
    status: str | None = None
    amount: int | None = None  # signed as the object's account sees it
    currency: str = "IDR"
    who: str = ""
    note: str = ""
    href: str | None = None


@dataclass
class Timeline:
    events: list[Event] = field(default_factory=list)

    def add(self, event: Event) -> None:
        self.events.append(event)

    def ordered(self) -> list[Event]:
        return sorted(self.events, key=lambda e: (e.at is None, e.at or datetime.max))


async def _viewer_accounts(actor: Actor, ids: set[str], account_id: str | None) -> set[str]:
    """Which of `ids` belong to what the viewer looks at: the one account, or every non-system account
    of the actor's scope (of the business when unscoped)."""
    if account_id:
        return {account_id} & ids
    rows = await sql.fetch(
        "SELECT id, path, kind FROM account WHERE business_id = $1 AND id = ANY($2::text[])",
        actor.business_id,
        list(ids),
    )
    scope = actor.scope_account_id
    return {r["id"] for r in rows if r["kind"] != "system" and (scope is None or f"/{scope}/" in r["path"])}


def _reference(row: asyncpg.Record | dict[str, Any]) -> str:
    # A hold's legs carry the money object's reference as their description (withdrawals, top-ups).
    return str(row["reference"] or "")


async def lines(
    actor: Actor, rows: list[asyncpg.Record], *, account_id: str | None = None
) -> tuple[list[Line], dict[str, str]]:
    """The rows of `list_transfer_rows(lines=True)` as history lines, and the names of their accounts."""
    ids = {r["debit_account_id"] for r in rows} | {r["credit_account_id"] for r in rows}
    mine = await _viewer_accounts(actor, ids, account_id)
    refs = await _object_references(actor, rows)
    out = []
    for r in rows:
        debit, credit = r["debit_account_id"], r["credit_account_id"]
        status = r["line_status"]
        amount = int(r["amount"])
        if r["phase"] == "pending" and status == "posted" and r["hold_posted_amount"] is not None:
            amount = int(r["hold_posted_amount"])
        if r["phase"] == "void_pending":
            debit, credit = credit, debit  # the money goes back where it was held
            label = gettext(_VOID_LABELS.get(r["kind"], N_("Hold released")))
        else:
            label = kind_label(r["kind"])
        if debit in mine and credit not in mine:
            direction, signed = "out", -amount
        elif credit in mine and debit not in mine:
            direction, signed = "in", amount
        else:
            direction, signed = "internal", amount
        reference = _reference(r) or refs.get(r["source_id"] or "", "") or refs.get(r["hold_id"] or "", "")
        description = r["description"] or ""
        out.append(
            Line(
                id=r["id"],
                created_at=r["created_at"],
                kind=r["kind"],
                label=label,
                status=status,
                direction=direction,
                amount=signed,
                currency=r["currency"],
                reference=reference,
                description="" if description == reference else description,
                from_id=debit,
                to_id=credit,
                href=f"/transfers/{r['id']}",
            )
        )
    return out, await account_names(list(ids))


async def _object_references(actor: Actor, rows: list[asyncpg.Record]) -> dict[str, str]:
    """The reference of the top-up or withdrawal behind each row, by the row's source or hold id."""
    keys = list(
        {r["source_id"] for r in rows if r["source_id"]} | {r["hold_id"] for r in rows if r["hold_id"]}
    )
    if not keys:
        return {}
    found = await sql.fetch(
        "SELECT id AS key, reference FROM withdrawal WHERE business_id = $1 AND id = ANY($2::text[]) "
        "UNION ALL SELECT amount_hold_id, reference FROM withdrawal WHERE business_id = $1 "
        "AND amount_hold_id = ANY($2::text[]) "
        "UNION ALL SELECT fee_hold_id, reference FROM withdrawal WHERE business_id = $1 "
        "AND fee_hold_id = ANY($2::text[]) "
        "UNION ALL SELECT id, reference FROM topup WHERE business_id = $1 AND id = ANY($2::text[])",
        actor.business_id,
        keys,
    )
    return {r["key"]: r["reference"] for r in found}


def _who(rows: list[dict[str, Any]], *actions: str) -> str:
    for row in rows:
        if row["action"] in actions:
            return str(row["actor_name"] or "")
    return ""


async def transfer_timeline(actor: Actor, row: asyncpg.Record) -> Timeline:
    """Created (by whom), held, posted / released / expired, reversed: from the transfer, its hold and the
    activity log. `row` is a transfer the actor may see (`get_transfer_row`)."""
    timeline = Timeline()
    activity = await about(actor.business_id, "transfer_id", row["id"])
    who = _who(activity, "transfer.created", "transfer.sent", "transfer.reversed")
    currency = row["currency"]
    if row["hold_id"]:
        hold = await sql.fetchrow(
            "SELECT id, amount, posted_amount, status, created_at, resolved_at, resolution_transfer_id "
            "FROM hold WHERE business_id = $1 AND id = $2",
            actor.business_id,
            row["hold_id"],
        )
        if hold is not None:
            timeline.add(
                Event(hold["created_at"], gettext("Held"), "pending", int(hold["amount"]), currency, who)
            )
            if hold["status"] != "pending":
                titles = {
                    "posted": gettext("Posted"),
                    "voided": gettext("Released: the money is available again"),
                    "expired": gettext("Expired: the money is available again"),
                }
                amount = int(hold["posted_amount"]) if hold["status"] == "posted" else int(hold["amount"])
                href = (
                    f"/transfers/{hold['resolution_transfer_id']}"
                    if hold["resolution_transfer_id"] and hold["resolution_transfer_id"] != row["id"]
                    else None
                )
                timeline.add(
                    Event(
                        hold["resolved_at"],
                        titles.get(hold["status"], hold["status"]),
                        hold["status"],
                        amount,
                        currency,
                        href=href,
                    )
                )
    else:
        title = gettext("Reversed") if row["kind"] == "reversal" else gettext("Booked")
        timeline.add(Event(row["created_at"], title, "posted", int(row["amount"]), currency, who))
    reversal = await sql.fetchrow(
        "SELECT id, created_at, amount FROM transfer WHERE business_id = $1 AND reverses_id = $2",
        actor.business_id,
        row["id"],
    )
    if reversal is not None:
        timeline.add(
            Event(
                reversal["created_at"],
                gettext("Reversed by a transfer the other way"),
                "refunded",
                int(reversal["amount"]),
                currency,
                href=f"/transfers/{reversal['id']}",
            )
        )
    return timeline


async def withdrawal_timeline(actor: Actor, withdrawal: Any) -> Timeline:
    """Created (by whom), amount and fee held, then paid (posted) or failed (both holds voided: the
    money is back). `withdrawal` is a WithdrawalOut the actor may see."""
    timeline = Timeline()
    activity = await about(actor.business_id, "withdrawal_id", withdrawal.id)
    currency = withdrawal.currency
    timeline.add(
        Event(
            withdrawal.created_at,
            gettext("Requested; amount and fee held"),
            "pending",
            -withdrawal.total,
            currency,
            _who(activity, "withdrawal.created"),
        )
    )
    if withdrawal.status == "paid":
        timeline.add(
            Event(
                withdrawal.completed_at,
                gettext("Paid to the bank"),
                "posted",
                -withdrawal.total,
                currency,
                _who(activity, "withdrawal.paid"),
            )
        )
    elif withdrawal.status == "failed":
        timeline.add(
            Event(
                withdrawal.completed_at,
                gettext("Failed: amount and fee are back in the available balance"),
                "refunded",
                withdrawal.total,
                currency,
                _who(activity, "withdrawal.failed"),
                note=withdrawal.failure_reason or "",
            )
        )
    return timeline


async def withdrawal_lines(actor: Actor, withdrawal_id: str, account_id: str) -> list[Line]:
    """Every ledger row of one withdrawal (holds, their posting or release) as the account sees them."""
    rows = await sql.fetch(
        "SELECT t.*, (CASE WHEN t.phase = 'pending' THEN coalesce(h.status, 'pending') "
        "WHEN t.phase = 'void_pending' THEN 'refunded' ELSE 'posted' END) AS line_status, "
        "h.posted_amount AS hold_posted_amount FROM transfer t "
        "LEFT JOIN hold h ON h.business_id = t.business_id AND h.id = t.hold_id "
        "WHERE t.business_id = $1 AND (t.source_id = $2 OR t.hold_id IN "
        "(SELECT amount_hold_id FROM withdrawal WHERE business_id = $1 AND id = $2 "
        "UNION ALL SELECT fee_hold_id FROM withdrawal WHERE business_id = $1 AND id = $2)) ORDER BY t.seq",
        actor.business_id,
        withdrawal_id,
    )
    found, _ = await lines(actor, list(rows), account_id=account_id)
    return found
