"""Stored monitoring codes → translated labels, and the template filters built on them."""

from __future__ import annotations

from portal.lib.i18n import N_, gettext

KIND_LABELS = {
    "large_amount": N_("Large single amount"),
    "velocity_count": N_("Number of operations in a window"),
    "velocity_sum": N_("Total of operations in a window"),
    "new_beneficiary": N_("First payout to a new beneficiary"),
    "night": N_("Activity at night"),
    "structuring": N_("Repeated amounts just below a limit"),
    "dormant": N_("Dormant account sending money"),
    "recent_change": N_("Money out right after a beneficiary or login change"),
    "failed_charges": N_("Failed card charges on one billing"),
}
ACTION_LABELS = {"alert": N_("Alert only"), "review": N_("Send to review"), "block": N_("Block")}
SEVERITY_LABELS = {"low": N_("Low"), "medium": N_("Medium"), "high": N_("High")}
STATUS_LABELS = {"open": N_("Open"), "acknowledged": N_("Acknowledged"), "resolved": N_("Resolved")}


def rule_kind(code: str) -> str:
    return gettext(KIND_LABELS.get(code, code))


def rule_action(code: str) -> str:
    return gettext(ACTION_LABELS.get(code, code))


def severity(code: str) -> str:
    return gettext(SEVERITY_LABELS.get(code, code))


def alert_status(code: str) -> str:
    return gettext(STATUS_LABELS.get(code, code))


TEMPLATE_FILTERS = {
    "rule_kind": rule_kind,
    "rule_action": rule_action,
    "severity": severity,
    "alert_status": alert_status,
}
