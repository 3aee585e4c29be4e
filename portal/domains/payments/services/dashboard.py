"""The dashboard's payments figures for one actor: money in by channel (paid in the last 30 days),
what awaits settlement, and the next settlement batch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from portal.lib import clock, sql
from portal.lib.actor import Actor


@dataclass(frozen=True)
class PaymentsSummary:
    by_channel: list[tuple[str, int, int]]  # channel, count, gross (last 30 days)
    pending_settlement: int  # paid, not yet settled: gross less the expected fees and refunds
    next_settlement_date: date | None
    next_settlement_net: int


async def summary(actor: Actor) -> PaymentsSummary | None:
    """None when the actor may not see payments."""
    if not actor.can("payments", "view"):
        return None
    args: list[Any] = [actor.business_id, f"%/{actor.scope_account_id}/%" if actor.scope_account_id else None]
    scope = (
        "EXISTS (SELECT 1 FROM account a WHERE a.id = p.account_id AND a.business_id = p.business_id "
        "AND ($2::text IS NULL OR a.path LIKE $2::text))"
    )
    rows = await sql.fetch(
        "SELECT p.channel, count(*) AS n, sum(p.amount) AS gross FROM payment p WHERE p.business_id = $1 "
        f"AND p.paid_at >= $3 AND {scope} GROUP BY p.channel ORDER BY p.channel",
        *args,
        clock.now() - timedelta(days=30),
    )
    pending = await sql.fetchval(
        "SELECT coalesce(sum(p.amount - p.fee - p.refunded_amount), 0) FROM payment p WHERE "
        "p.business_id = $1 "
        f"AND p.hold_id IS NOT NULL AND p.settled_at IS NULL AND {scope}",
        *args,
    )
    upcoming = await sql.fetchrow(
        "SELECT settlement_date, sum(net) AS net FROM settlement WHERE business_id = $1 AND status = "
        "'pending' "
        "GROUP BY settlement_date ORDER BY settlement_date LIMIT 1",
        actor.business_id,
    )
    return PaymentsSummary(
        [(r["channel"], int(r["n"]), int(r["gross"])) for r in rows],
        int(pending or 0),
        upcoming["settlement_date"] if upcoming else None,
        int(upcoming["net"]) if upcoming else 0,
    )
