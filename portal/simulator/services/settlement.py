"""Settlement reports: the pay-ins of one merchant business day on one channel, settled T+N.

A pay-in counts for the business day it was paid on (WIB; weekends and holidays roll forward); the
channel settles N business days later (VA, QRIS, e-wallet T+1; card T+2). Each line's net is the
amount less the fee, less what was refunded and the refund fees.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from portal.simulator import reference as ref
from portal.simulator.errors import invalid
from portal.simulator.services import clock


async def report(
    conn: asyncpg.Connection, partner_id: str, merchant_id: str, day: str, channel: str
) -> dict[str, Any]:
    """The settlement report of `merchant_id` for business day `day` (YYYY-MM-DD) on `channel`."""
    if channel not in ref.CHANNELS:
        raise invalid("/channel", f"channel must be one of {', '.join(ref.CHANNELS)}.")
    try:
        business_day = date.fromisoformat(day)
    except ValueError:
        raise invalid("/date", "date must be YYYY-MM-DD.") from None
    rows = await conn.fetch(
        "SELECT p.id, p.reference, p.amount, p.fee, p.refunded, "
        "coalesce((SELECT sum(r.fee) FROM sim_refunds r WHERE r.payin_id = p.id AND r.status = "
        "'succeeded'), 0) "
        "AS refund_fee FROM sim_payins p WHERE p.partner_id = $1 AND p.merchant_id = $2 AND "
        "p.business_date = $3 "
        "AND p.channel = $4 AND p.paid_at IS NOT NULL ORDER BY p.paid_at, p.id",
        partner_id,
        merchant_id,
        business_day,
        channel,
    )
    lines = [
        {
            "payin_id": row["id"],
            "reference": row["reference"],
            "amount": row["amount"],
            "fee": row["fee"],
            "refunded": row["refunded"],
            "refund_fee": int(row["refund_fee"]),
            "net": row["amount"] - row["fee"] - row["refunded"] - int(row["refund_fee"]),
        }
        for row in rows
    ]
    settles_on = clock.add_business_days(clock.next_business_day(business_day), ref.SETTLEMENT_DAYS[channel])
    today = (await clock.now(conn, merchant_id)).astimezone(clock.WIB).date()
    return {
        "merchant_id": merchant_id,
        "date": business_day.isoformat(),
        "channel": channel,
        "settlement_date": settles_on.isoformat(),
        "status": "settled" if today >= settles_on else "pending",
        "lines": lines,
        "gross": sum(line["amount"] for line in lines),
        "fees": sum(line["fee"] for line in lines),
        "refunds": sum(line["refunded"] for line in lines),
        "refund_fees": sum(line["refund_fee"] for line in lines),
        "net": sum(line["net"] for line in lines),
    }
