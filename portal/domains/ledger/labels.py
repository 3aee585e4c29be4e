"""Display labels of the ledger vocabularies (transaction kinds, statuses); stored values stay codes."""

from __future__ import annotations

from portal.lib.i18n import N_, gettext

TRANSACTION_KINDS = {
    "transfer": N_("Transfer"),
    "topup": N_("Top-up"),
    "fee": N_("Fee"),
    "withdrawal": N_("Withdrawal"),
    "payout": N_("Payout"),
    "reversal": N_("Reversal"),
    "hold": N_("Hold"),
    "hold_post": N_("Hold posted"),
    "hold_void": N_("Hold released"),
    "hold_expire": N_("Hold expired"),
    # Payments received and their settlement (the payments domain's entries).
    "payment": N_("Payment received"),
    "settlement": N_("Settlement"),
    "payment_fee": N_("Provider fee (MDR)"),
    "payment_refund": N_("Refund"),
    "refund_fee": N_("Refund fee"),
    "split_settlement": N_("Split settlement"),
    "split_payout": N_("Split settlement to bank"),
    "split_remainder": N_("Settlement remainder"),
    "split_pending": N_("Split pending"),
    "split_release": N_("Split released"),
    "split_refund": N_("Refund share"),
    "refund_deduction": N_("Refund deduction"),
    "deduction_from_balance": N_("Refund deduction from balance"),
    "split_payout_returned": N_("Split payout returned"),
}

# Holds, top-ups and withdrawals (the same words the status badges use).
STATUSES = {
    "pending": N_("Pending"),
    "posted": N_("Posted"),
    "voided": N_("Voided"),
    "expired": N_("Expired"),
    "paid": N_("Paid"),
    "failed": N_("Failed"),
}


def kind_label(kind: str) -> str:
    label = TRANSACTION_KINDS.get(kind)
    return gettext(label) if label else kind.replace("_", " ")


def status_label(status: str) -> str:
    label = STATUSES.get(status)
    return gettext(label).lower() if label else status


# Template filters this domain gives the portal's Jinja environment (found by portal/server/templating.py).
TEMPLATE_FILTERS = {"transaction_kind": kind_label}
