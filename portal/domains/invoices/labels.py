"""Display labels of the invoices vocabularies (statuses, cycles, steps); stored values stay codes."""

from __future__ import annotations

from portal.lib.i18n import N_, gettext

STATUSES = {
    "open": N_("Open"),
    "paid": N_("Paid"),
    "void": N_("Void"),
    "written_off": N_("Written off"),
    "credited": N_("Credited"),
}
CYCLES = {
    "weekly": N_("Weekly"),
    "monthly": N_("Monthly"),
    "quarterly": N_("Quarterly"),
    "yearly": N_("Yearly"),
}
STEPS = {
    "issued": N_("Issued"),
    "collected": N_("Collected from the account's balance"),
    "payment_failed": N_("Collection failed"),
    "notified": N_("Account users notified"),
    "emailed": N_("Contact e-mailed"),
    "account_frozen": N_("Account frozen"),
    "voided": N_("Voided"),
    "credited": N_("Credit note: payments reversed"),
    "written_off": N_("Written off"),
}
LINES = {"fixed": N_("Fixed fee"), "percentage": N_("Share of money in"), "usage": N_("Usage")}
REASONS = {
    "insufficient_funds": N_("not enough available balance"),
    "account_frozen": N_("the account is frozen"),
    "account_closed": N_("the account is closed"),
}


def _label(table: dict[str, str], key: str | None) -> str:
    label = table.get(key or "")
    return gettext(label) if label else (key or "")


def status_label(status: str) -> str:
    return _label(STATUSES, status)


def cycle_label(cycle: str) -> str:
    return _label(CYCLES, cycle)


def step_label(kind: str) -> str:
    return _label(STEPS, kind)


def line_label(kind: str) -> str:
    return _label(LINES, kind)


def reason_label(reason: str) -> str:
    return _label(REASONS, reason)


def status_tone(status: str, overdue: bool = False) -> str:
    """The badge key of an invoice's state (the UI badge's colours)."""
    if status == "open":
        return "overdue" if overdue else "pending"
    return {"paid": "paid", "void": "voided", "written_off": "closed", "credited": "cancelled"}.get(
        status, status
    )


TEMPLATE_FILTERS = {
    "invoice_status": status_label,
    "invoice_cycle": cycle_label,
    "invoice_step": step_label,
    "invoice_line": line_label,
    "invoice_reason": reason_label,
}
TEMPLATE_GLOBALS = {"invoice_tone": status_tone}
