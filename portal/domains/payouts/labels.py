"""Display labels of the payouts vocabularies (destinations, rail hours); stored values stay codes."""

from __future__ import annotations

from portal.domains.payouts.schemas import RailOut
from portal.lib.i18n import N_, gettext

DESTINATIONS = {
    "bank": N_("Bank account"),
    "OVO": "OVO",
    "GOPAY": "GoPay",
    "DANA": "DANA",
    "SHOPEEPAY": "ShopeePay",
    "LINKAJA": "LinkAja",
}
PAYOUT_STATUSES = {
    "awaiting_approval": N_("Awaiting approval"),
    "scheduled": N_("Scheduled"),
    "submitted": N_("Sent"),
    "succeeded": N_("Succeeded"),
    "failed": N_("Failed"),
    "reversed": N_("Reversed"),
    "rejected": N_("Rejected"),
    "cancelled": N_("Cancelled"),
}
APPROVAL_REASONS = {
    "threshold": N_("Above the approval threshold"),
    "review": N_("Held for review by monitoring"),
    "batch": N_("Batch payout"),
}
KINDS = {"bank": N_("Bank account"), "ewallet": N_("E-wallet")}


def destination_label(destination: str) -> str:
    label = DESTINATIONS.get(destination)
    return gettext(label) if label else destination


BATCH_NAME_STATUSES = {
    "pending": N_("Checking names…"),
    "matched": N_("Name matches the bank's"),
    "mismatch": N_("The bank's name differs"),
    "not_found": N_("Account not found at the bank"),
    "closed": N_("Account closed at the bank"),
    "unavailable": N_("The bank could not be asked"),
}


def batch_name_status_label(status: str | None) -> str:
    if status is None:  # uploaded before batch rows were checked
        return gettext("Name not checked")
    label = BATCH_NAME_STATUSES.get(status)
    return gettext(label) if label else ""


def payout_status_label(status: str) -> str:
    label = PAYOUT_STATUSES.get(status)
    return gettext(label) if label else status


def approval_reason_label(reason: str | None) -> str:
    label = APPROVAL_REASONS.get(reason or "")
    return gettext(label) if label else ""


def kind_label(kind: str) -> str:
    label = KINDS.get(kind)
    return gettext(label) if label else kind


def hours_label(rail: RailOut) -> str:
    """ "24/7, holidays included" or the business-day hours with the clearing windows and last cut-off."""
    if rail.always_open or not rail.windows:
        return gettext("24/7, holidays included")
    last = max(w.cutoff for w in rail.windows)
    first = min(w.opens for w in rail.windows)
    if len(rail.windows) == 1:
        return gettext("Business days %(opens)s–%(cutoff)s WIB (cut-off %(cutoff)s)") % {
            "opens": first,
            "cutoff": last,
        }
    return gettext(
        "Business days from %(opens)s WIB in %(count)s clearing windows, last cut-off %(cutoff)s"
    ) % {
        "opens": first,
        "count": len(rail.windows),
        "cutoff": last,
    }
