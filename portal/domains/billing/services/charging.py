"""The one place a card is charged: a billing's charge becomes a payment (the payments domain's card
batch, `charge_cards`: the rules of `create_payment`, channel card, source billing, a chunk per provider
call), booked pending on the billing's account when paid.

The charge's invoice number is the payment's idempotency key (the same invoice number with the same
request is the same payment): a retry after a crash never charges twice. Every field of the request is
derived from the charge, never from the clock (the payment keeps the expiry of its first request), so
a retry sends the same request."""

from __future__ import annotations

from dataclasses import dataclass

from portal.domains.payments import services as payments
from portal.domains.payments.services import PaymentRequest
from portal.domains.payments.services.voids import void_payment
from portal.domains.provider.gateway import ProviderError
from portal.lib.actor import system_actor
from portal.lib.errors import Conflict, NeracaError
from portal.lib.i18n import N_

PAID = frozenset({"paid", "settled", "refunded", "partially_refunded", "pending_settlement"})


class OutcomeUnknown(ProviderError):
    """The payment exists but the provider's answer is not known yet: try again later, same invoice."""


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


@dataclass(frozen=True)
class ChargeResult:
    status: str  # paid | failed
    response_code: str | None
    approval_code: str | None
    error_message: str | None
    issuer: str | None
    payment_id: str | None
    provider_payin_id: str | None


def _result(payment: payments.Payment) -> ChargeResult:
    if payment.status in PAID:
        status = "paid"
    elif payment.status == "failed":
        status = "failed"
    else:
        raise OutcomeUnknown(N_("The payment provider has not answered this charge yet."))
    return ChargeResult(
        status=status,
        response_code=payment.response_code,
        approval_code=payment.approval_code,
        error_message=payment.failure_message,
        issuer=payment.issuer,
        payment_id=payment.id,
        provider_payin_id=payment.provider_payin_id,
    )


def _payment_request(charge: CardCharge) -> PaymentRequest:
    return PaymentRequest(
        account_id=charge.account_id,
        amount=charge.amount,
        channel="card",
        invoice_number=charge.invoice_number,
        customer_name=charge.customer_name[:100],
        currency=charge.currency,
        customer_id=charge.customer_ref,
        customer_email=charge.customer_email,
        description=charge.description[:140],
        card_token=charge.card_token,
        metadata={"billing_id": charge.billing_id, "charge_id": charge.charge_id},
        source="billing",
    )


async def charge_cards(business_id: str, charges: list[CardCharge]) -> list[ChargeResult | NeracaError]:
    """Charge a chunk of one business's cards through the payments domain's batch (one provider call,
    one booking transaction); one outcome per charge, in order: its result, or the error that refused
    it before the bank (final). Call outside any transaction.

    Raises the provider's errors when the whole call's outcome is not known: the caller keeps the
    charges claimed and tries again with the same invoice numbers (the same payments, the same pay-in
    references: never a second charge)."""
    actor = system_actor(business_id)
    outcomes = await payments.charge_cards(actor, [_payment_request(c) for c in charges])
    results: list[ChargeResult | NeracaError] = []
    for charge, outcome in zip(charges, outcomes, strict=True):
        if isinstance(outcome, Conflict) and outcome.code == "duplicate_invoice":
            # First sent with other details (the card or the customer's name changed since): that first
            # payment is the charge's answer, never a second one.
            page = await payments.list_payments(actor, q=charge.invoice_number, limit=100)
            found = next((p for p in page.data if p.invoice_number == charge.invoice_number), None)
            outcome = found if found is not None else outcome
        if isinstance(outcome, NeracaError):
            results.append(outcome)
            continue
        try:
            results.append(_result(outcome))
        except OutcomeUnknown as exc:
            results.append(exc)
    return results


async def refund(business_id: str, payment_id: str, amount: int, reason: str | None) -> None:
    """Give back part or all of a paid charge through its payment (the provider and the books)."""
    await payments.refund_payment(system_actor(business_id), payment_id, amount, reason)


async def void(business_id: str, payment_id: str) -> None:
    """Void a paid charge on its business day through its payment (the provider and the books)."""
    await void_payment(system_actor(business_id), payment_id)
