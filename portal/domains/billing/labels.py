"""Display labels of card billing's stored codes (types, statuses, schedule types); codes stay English."""

from __future__ import annotations

from typing import Any

from portal.lib.i18n import N_, gettext

TYPES = {"recurring": N_("Recurring"), "reminder": N_("Reminder"), "single": N_("Single payment")}
STATUSES = {
    "active": N_("Active"),
    "inactive": N_("Inactive"),
    "deleted": N_("Deleted"),
    "pending": N_("Pending"),
    "charging": N_("Charging"),
    "retry": N_("Retry scheduled"),
    "paid": N_("Paid"),
    "failed": N_("Failed"),
    "reminded": N_("Reminder sent"),
    "voided": N_("Voided"),
    "refunded": N_("Refunded"),
    "partially_refunded": N_("Partially refunded"),
    "cancelled": N_("Cancelled"),
}
SCHEDULE_TYPES = {"date": N_("Date"), "day": N_("Day"), "full_date": N_("Full Date")}
CARD_STATUSES = {
    "none": N_("No card"),
    "pending": N_("Waiting for the customer"),
    "registered": N_("Registered"),
    "failed": N_("Registration failed"),
}
WEEKDAYS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)
MONTHS = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)


def _label(table: dict[str, str], code: str | None) -> str:
    label = table.get(code or "")
    return gettext(label) if label else (code or "")


def billing_type(code: str | None) -> str:
    return _label(TYPES, code)


def billing_status(code: str | None) -> str:
    return _label(STATUSES, code)


def schedule_type(code: str | None) -> str:
    return _label(SCHEDULE_TYPES, code)


def card_status(code: str | None) -> str:
    return _label(CARD_STATUSES, code)


def schedule_summary(kind: str | None, data: dict[str, Any]) -> str:
    """A schedule in words: "Date 5 · Jan, Feb", "Day Monday · Dec", "Full Date 2027-01-05, …"."""
    if not kind:
        return gettext("No schedule")
    if kind == "date":
        months = ", ".join(gettext(MONTHS[m - 1])[:3] for m in data.get("months", []))
        return f"{gettext('Date')} {data.get('day')} · {months}"
    if kind == "day":
        days = ", ".join(gettext(WEEKDAYS[d]) for d in data.get("weekdays", []))
        months = ", ".join(gettext(MONTHS[m - 1])[:3] for m in data.get("months", []))
        return f"{gettext('Day')} {days} · {months}"
    dates = data.get("dates", [])
    shown = ", ".join(dates[:3]) + (" …" if len(dates) > 3 else "")
    return f"{gettext('Full Date')} {shown}"


def masked_card(first6: str | None, last4: str | None) -> str:
    return f"{first6}••••••{last4}" if first6 and last4 else "—"


TEMPLATE_FILTERS = {
    "billing_type": billing_type,
    "billing_status": billing_status,
    "schedule_type": schedule_type,
    "card_status": card_status,
}
TEMPLATE_GLOBALS = {"schedule_summary": schedule_summary, "masked_card": masked_card}
