"""A real void of a card charge: the provider cancels it before its settlement cut-off (no fee, nothing
settles), the payment's pending-in hold is released, the charge and the payment are `voided`. The next
day, twice, or after a refund, a void is refused with its own code and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest

from portal.domains.billing import services
from portal.domains.billing.services import common
from portal.domains.ledger.invariants import check_all
from portal.domains.provider import gateway
from portal.lib import sql
from portal.lib.errors import Conflict
from tests.support.billing import (
    advance_provider_clock,
    billing_business,
    customer_and_billing,
    pin_provider_clock,
    register_card,
)


async def _paid_charges(actor: Any, business_id: str, numbers: list[str]) -> list[Any]:
    today = common.today()
    for number in numbers:
        made = await customer_and_billing(
            actor,
            number,
            amount=100_000,
            schedule={"schedule_type": "full_date", "dates": [today.isoformat()]},
        )
        await register_card(actor, made.id)
    await services.run_billing(business_id=business_id)
    rows = await sql.fetch(
        "SELECT * FROM billing_charge WHERE business_id = $1 ORDER BY billing_number", business_id
    )
    assert [r["status"] for r in rows] == ["paid"] * len(numbers)
    return list(rows)


async def _pending_in(account_id: str) -> int:
    return int(await sql.fetchval("SELECT credits_pending FROM account WHERE id = $1", account_id))


async def test_a_same_day_void_releases_the_hold_and_later_voids_are_refused(db: str) -> None:
    actor, business = await billing_business()
    await pin_provider_clock(business.id)
    same_day, twice, refunded, next_day = await _paid_charges(
        actor, business.id, ["BIL-VD-1", "BIL-VD-2", "BIL-VD-3", "BIL-VD-4"]
    )
    account_id = same_day["account_id"]
    assert await _pending_in(account_id) == 400_000

    voided = await services.void_charge(actor, same_day["id"])
    assert (voided.status, voided.refunded_amount) == ("voided", 0)
    payment: Any = await sql.fetchrow("SELECT * FROM payment WHERE id = $1", same_day["payment_id"])
    assert payment["status"] == "voided" and payment["refunded_amount"] == 0
    hold: Any = await sql.fetchrow("SELECT status FROM hold WHERE id = $1", payment["hold_id"])
    assert hold["status"] == "voided"
    assert await _pending_in(account_id) == 300_000  # the voided money never reaches the balance
    refunds = await sql.fetchval("SELECT count(*) FROM payment_refund WHERE payment_id = $1", payment["id"])
    assert refunds == 0  # a void, not a refund
    at_provider = await gateway.provider().get_payin(business.id, payment["provider_payin_id"])
    assert at_provider.status == "voided"
    events = [
        r["type"] for r in await sql.fetch("SELECT type FROM event WHERE business_id = $1", business.id)
    ]
    assert events.count("payment.voided") == 1 and events.count("billing.charge.voided") == 1
    actions = [
        r["action"]
        for r in await sql.fetch("SELECT action FROM activity WHERE business_id = $1", business.id)
    ]
    assert "payment.voided" in actions and "billing.charge_voided" in actions

    # Twice: refused, nothing changes.
    with pytest.raises(Conflict) as again:
        await services.void_charge(actor, same_day["id"])
    assert again.value.code == "charge_already_voided"
    await services.void_charge(actor, twice["id"])
    with pytest.raises(Conflict) as again:
        await services.void_charge(actor, twice["id"])
    assert again.value.code == "charge_already_voided"

    # After a refund: refused (the charge is refunded, not voidable).
    await services.refund_charge(actor, refunded["id"], 10_000)
    with pytest.raises(Conflict) as after_refund:
        await services.void_charge(actor, refunded["id"])
    assert after_refund.value.code == "charge_not_voidable"

    # The next day at the provider: its settlement cut-off has passed; the refusal says to refund.
    await advance_provider_clock(business.id, 86_400)
    with pytest.raises(Conflict) as late:
        await services.void_charge(actor, next_day["id"])
    assert late.value.code == "void_after_settlement"
    assert "Refund it" in late.value.detail
    assert (await services.get_charge(actor, next_day["id"])).status == "paid"
    kept: Any = await sql.fetchrow("SELECT * FROM payment WHERE id = $1", next_day["payment_id"])
    assert kept["status"] == "paid"
    assert await sql.fetchval("SELECT status FROM hold WHERE id = $1", kept["hold_id"]) == "pending"
    assert await _pending_in(account_id) == 200_000  # a refund before settlement is booked by the batch
    assert not await check_all()
