"""Display labels of the payments vocabularies (statuses as the reference names them, channels); stored
values stay codes."""

from __future__ import annotations

from portal.lib.i18n import N_, gettext

STATUSES = {
    "pending": N_("Awaiting payment"),
    "paid": N_("Payment Success"),
    "pending_settlement": N_("Pending Settlement"),
    "settled": N_("Settled"),
    "expired": N_("Expired"),
    "failed": N_("Failed"),
    "refunded": N_("Refunded"),
    "partially_refunded": N_("Partially refunded"),
    "voided": N_("Voided"),
}
TONES = {
    "pending": "pending",
    "paid": "paid",
    "pending_settlement": "overdue",
    "settled": "posted",
    "expired": "expired",
    "failed": "failed",
    "refunded": "voided",
    "partially_refunded": "processing",
    "voided": "voided",
}
CHANNELS = {"va": N_("Virtual account"), "qris": "QRIS", "card": N_("Card"), "ewallet": N_("E-wallet")}
REMARKS = {"Split Settlement Bank Account Invalid": N_("Split Settlement Bank Account Invalid")}
SETTLEMENT_STATUSES = {"pending": N_("Awaiting settlement date"), "paid": N_("Settled")}
# A refund deduction: taken by the channel's batches (open), from the balance after the grace days
# (overdue), or worked off (settled).
DEDUCTION_STATUSES = {
    "open": N_("Owed: taken from the next batches"),
    "overdue": N_("Owed: taken from the balance when available"),
    "settled": N_("Taken in full"),
}
DEDUCTION_TONES = {"open": "pending", "overdue": "overdue", "settled": "posted"}
SPLIT_SERVICE = {"inactive": N_("Not active"), "updating": N_("UPDATING"), "active": N_("ACTIVE")}


def _label(table: dict[str, str], value: str | None) -> str:
    if value is None:
        return ""
    label = table.get(value)
    return gettext(label) if label else value


def payment_status_label(status: str) -> str:
    return _label(STATUSES, status)


def payment_status_tone(status: str) -> str:
    return TONES.get(status, status)


def channel_label(channel: str) -> str:
    return _label(CHANNELS, channel)


def remark_label(remark: str | None) -> str:
    return _label(REMARKS, remark)


def settlement_status_label(status: str) -> str:
    return _label(SETTLEMENT_STATUSES, status)


def deduction_status_label(status: str) -> str:
    return _label(DEDUCTION_STATUSES, status)


def deduction_status_tone(status: str) -> str:
    return DEDUCTION_TONES.get(status, status)


def split_service_label(status: str) -> str:
    return _label(SPLIT_SERVICE, status)


TEMPLATE_FILTERS = {
    "payment_status": payment_status_label,
    "payment_tone": payment_status_tone,
    "payment_channel": channel_label,
    "payment_remark": remark_label,
    "settlement_status": settlement_status_label,
    "deduction_status": deduction_status_label,
    "deduction_tone": deduction_status_tone,
}
