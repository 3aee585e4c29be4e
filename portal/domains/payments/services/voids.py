"""Void of a card payment on the business day it was paid, before the provider's settlement cut-off.

A void is not a refund: the provider cancels the charge (no fee, nothing settles) and the payment's
pending-in hold is released, so the money never reaches the account's balance. After the cut-off the
provider refuses (`void_window_closed`) and the payment can only be refunded.
"""

from __future__ import annotations

from portal.domains.ledger.services.holds import resolve_hold
from portal.domains.ledger.services.shared import audit, event
from portal.domains.payments.schemas import Payment
from portal.domains.payments.services.payments import PAYMENT_COLUMNS, payment_out, visible_row
from portal.domains.payouts.services import load_calendar
from portal.domains.provider import gateway
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict
from portal.lib.i18n import N_
from portal.lib.sql import transaction
from portal.lib.timefmt import WIB


def _after_cutoff(payment_id: str) -> Conflict:
    return Conflict(
        N_(
            "Payment %(id)s can be voided only on the business day it was paid, before it settles. Refund it."
        ),
        code="void_after_settlement",
        params={"id": payment_id},
    )


async def void_payment(actor: Actor, payment_id: str) -> Payment:
    """Void a paid card payment on its own business day: the provider cancels the charge, the pending-in
    hold is released, the payment becomes `voided` (event `payment.voided`, audited)."""
    actor.require("payments", "manage")
    row = await visible_row(actor, payment_id)
    if row["status"] == "voided":
        raise Conflict(
            N_("Payment %(id)s is already voided."), code="payment_already_voided", params={"id": payment_id}
        )
    if (
        row["channel"] != "card"
        or row["status"] != "paid"
        or int(row["refunded_amount"])
        or row["hold_id"] is None
        or row["settlement_id"] is not None
    ):
        raise Conflict(
            N_("Payment %(id)s cannot be voided: only a paid card payment with nothing refunded can."),
            code="payment_not_voidable",
            params={"id": payment_id},
        )
    calendar = await load_calendar()
    paid_on = calendar.next_business_day(row["paid_at"].astimezone(WIB).date())
    if calendar.next_business_day(clock.now().astimezone(WIB).date()) != paid_on:
        raise _after_cutoff(payment_id)
    try:
        await gateway.provider().void_payin(actor.business_id, row["provider_payin_id"])
    except gateway.ProviderConflict as exc:
        if exc.params.get("code") == "void_window_closed":
            raise _after_cutoff(payment_id) from None
        raise
    async with transaction():
        row = await visible_row(actor, payment_id, lock=True)
        if row["status"] != "paid" or row["hold_id"] is None:  # a concurrent void got here first
            raise Conflict(
                N_("Payment %(id)s is already voided."),
                code="payment_already_voided",
                params={"id": payment_id},
            )
        await resolve_hold(actor.business_id, row["hold_id"], "void", internal=True)
        updated = await sql.fetchrow(
            "UPDATE payment SET status = 'voided', updated_at = now() "
            f"WHERE business_id = $1 AND id = $2 RETURNING {PAYMENT_COLUMNS}",
            actor.business_id,
            payment_id,
        )
        assert updated is not None
        await event(actor.business_id, "payment.voided", payment_out(updated), (row["account_id"],))
        await audit(
            actor,
            "payment.voided",
            f"Void of {row['invoice_number']}",
            {"payment_id": payment_id, "account_id": row["account_id"]},
        )
    return payment_out(updated)
