"""The one place a card is charged: a billing's charge becomes a payment.

`charge_card` is the seam between card billing and the money side; every charge of the billing run
and of single payments goes through it, with the charge's invoice number as the idempotency key (the
same invoice number is the same payment: a retry after a crash never charges twice)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.domains.provider import gateway
from portal.domains.provider.gateway import Payin, PayinRequest, ProviderConflict


@dataclass(frozen=True)
class CardCharge:
    business_id: str
    account_id: str
    invoice_number: str
    amount: int
    currency: str
    card_token: str
    customer_ref: str
    customer_name: str
    customer_email: str | None
    description: str
    billing_id: str
    charge_id: str
    # Part of the request: derived from the charge, never from the clock, so a retry sends the same.
    expires_at: datetime


@dataclass(frozen=True)
class ChargeResult:
    status: str  # paid | failed
    response_code: str | None
    approval_code: str | None
    error_message: str | None
    issuer: str | None
    payment_id: str | None
    provider_payin_id: str | None


async def charge_card(charge: CardCharge) -> ChargeResult:
    """Charge the stored card once for this invoice number (call outside any transaction).

    Raises the provider's errors when the outcome is not known (unavailable, unknown outcome): the
    caller keeps the charge claimed and tries again with the same invoice number."""
    provider = gateway.provider()
    request = PayinRequest(
        reference=charge.invoice_number,
        channel="card",
        amount=charge.amount,
        currency=charge.currency,
        expires_at=charge.expires_at,
        customer_name=charge.customer_name[:100],
        card_token=charge.card_token,
        description=charge.description[:140] or None,
    )
    payin: Payin | None
    try:
        payin = await provider.create_payin(charge.business_id, request)
    except ProviderConflict:
        # Sent before with other details (the card or the name changed since): the first answer counts.
        payin = await provider.find_payin(charge.business_id, charge.invoice_number)
        if payin is None:
            raise
    return ChargeResult(
        status="paid" if payin.status in ("paid", "refunded", "partially_refunded") else "failed",
        response_code=payin.response_code,
        approval_code=payin.approval_code,
        error_message=payin.response_message if payin.status not in ("paid",) else None,
        issuer=None,
        payment_id=None,
        provider_payin_id=payin.payin_id,
    )
