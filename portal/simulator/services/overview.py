"""What the control page shows: recent pay-ins, payouts, cards and each merchant's balance here."""

from __future__ import annotations

from typing import Any

import asyncpg

from portal.simulator.services import clock, payins, payouts


async def recent(conn: asyncpg.Connection, limit: int = 25) -> dict[str, Any]:
    payin_rows = await conn.fetch(
        "SELECT * FROM sim_payins ORDER BY created_at DESC, id DESC LIMIT $1", limit
    )
    payout_rows = await conn.fetch(
        "SELECT * FROM sim_payouts ORDER BY created_at DESC, id DESC LIMIT $1", limit
    )
    card_rows = await conn.fetch("SELECT * FROM sim_cards ORDER BY created_at DESC LIMIT $1", limit)
    clocks = await conn.fetch("SELECT merchant_id, offset_s FROM sim_clocks ORDER BY merchant_id")
    return {
        "payins": [payins.view(row) for row in payin_rows],
        "payouts": [payouts.view(row) for row in payout_rows],
        "cards": [dict(row) for row in card_rows],
        "clocks": [dict(row) for row in clocks],
    }


async def balance(conn: asyncpg.Connection, merchant_id: str) -> dict[str, Any]:
    """The merchant's money at the provider: settled pay-ins (net) less payouts and their fees.

    Money paid in but not yet settled (T+N) is `pending`; a reversed payout returns to the balance.
    """
    today = (await clock.now(conn, merchant_id)).astimezone(clock.WIB).date()
    row = await conn.fetchrow(
        "SELECT "
        "coalesce(sum(p.amount - p.fee - p.refunded) FILTER (WHERE p.settlement_date <= $2), 0) AS settled, "
        "coalesce(sum(p.amount - p.fee - p.refunded) FILTER (WHERE p.settlement_date > $2), 0) AS pending "
        "FROM sim_payins p WHERE p.merchant_id = $1 AND p.paid_at IS NOT NULL AND p.status <> 'voided'",
        merchant_id,
        today,
    )
    refund_fees = await conn.fetchval(
        "SELECT coalesce(sum(fee), 0) FROM sim_refunds WHERE merchant_id = $1 AND status = 'succeeded'",
        merchant_id,
    )
    paid_out = await conn.fetchval(
        "SELECT coalesce(sum(amount + fee), 0) FROM sim_payouts "
        "WHERE merchant_id = $1 AND status IN ('submitted', 'succeeded')",
        merchant_id,
    )
    return {
        "merchant_id": merchant_id,
        "available": int(row["settled"]) - int(refund_fees) - int(paid_out),
        "pending_settlement": int(row["pending"]),
        "currency": "IDR",
    }
