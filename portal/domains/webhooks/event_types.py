"""The registry of event types: every type an event may have, with what it means.

Shown on the webhooks page (the endpoint's filter) and in the API documentation. A type is
`<object>.<what happened>`; a new type is added here before anything emits it.
"""

from __future__ import annotations

from portal.lib.i18n import N_

EVENT_TYPES: dict[str, str] = {
    "account.created": N_("An account was opened in the tree."),
    "account.frozen": N_("An account was frozen: it still receives, nothing can be debited."),
    "account.unfrozen": N_("A frozen account became active again."),
    "account.closed": N_("An account was closed for good."),
    "transfer.created": N_("Money moved between two accounts."),
    "hold.created": N_("Money was held (a pending transfer)."),
    "hold.posted": N_("A hold was posted: the held money moved."),
    "hold.voided": N_("A hold was voided: the held money is available again."),
    "hold.expired": N_("A hold expired unposted: the held money is available again."),
    "topup.created": N_("A top-up was created and waits for payment."),
    "topup.paid": N_("A top-up was paid and its account credited."),
    "topup.expired": N_("A top-up expired unpaid."),
    "withdrawal.created": N_("A withdrawal was requested; the money is held."),
    "withdrawal.paid": N_("A withdrawal reached the bank."),
    "withdrawal.failed": N_("A withdrawal failed and the money is back."),
    "invoice.created": N_("An invoice was issued for a subscription's billing period."),
    "invoice.paid": N_("An invoice was paid in full from the billed account's balance."),
    "invoice.payment_failed": N_("Collecting an invoice failed; it stays open and is retried."),
    "invoice.overdue": N_("The last retry of an invoice failed: it is overdue."),
    "alert.created": N_("A monitoring rule matched: an alert was raised."),
    "payout.scheduled": N_("A payout was scheduled: amount and fee are held until its rail sends it."),
    "payout.succeeded": N_("A payout reached the beneficiary; the held money left the account."),
    "payout.failed": N_("A payout failed and the held money is available again."),
    "payout.reversed": N_("The bank returned a succeeded payout; the money was booked back."),
    "billing.created": N_("A card billing was added for a customer."),
    "billing.updated": N_("A card billing's schedule, type or status changed."),
    "billing.deleted": N_("A card billing was deleted."),
    "billing.card_registered": N_("A customer registered a card for a billing on the provider's page."),
    "billing.charge.succeeded": N_("A billing's card was charged."),
    "billing.charge.failed": N_("A billing's card charge was declined (retried later when the bank allows)."),
    "billing.charge.voided": N_("A card charge was voided on its business day."),
    "billing.charge.refunded": N_("A card charge was refunded in full or in part."),
    "billing.charge.cancelled": N_("A scheduled single payment was cancelled before it was charged."),
    "billing.reminder": N_("A Reminder billing's execute date came: remind the customer (no charge)."),
    "payment.paid": N_("A customer paid a payment: Payment Success, pending in on its account."),
    "payment.expired": N_("A payment expired unpaid."),
    "payment.refunded": N_("A payment was refunded, in full or in part."),
    "payment.voided": N_("A card payment was voided on its business day: the money never settles."),
    "settlement.created": N_("A settlement batch was created from the provider's report."),
    "settlement.paid": N_("A settlement batch was applied: its payments are settled."),
    "split.failed": N_("A split settlement could not be paid (invalid bank account): Pending Settlement."),
    "webhook.test": N_("A test event sent from the webhooks console."),
}


def is_known(event_type: str) -> bool:
    return event_type in EVENT_TYPES
