"""Display labels of the account vocabularies (kinds, system accounts); stored values stay English codes."""

from __future__ import annotations

from portal.lib.i18n import N_, gettext

ACCOUNT_KINDS = {
    "main": N_("Main"),
    "partner": N_("Partner"),
    "division": N_("Division"),
    "system": N_("System account"),
}

# System accounts are stored as "<role> (<currency>)"; people see what the role stands for.
SYSTEM_ROLES = {"world": N_("Bank (outside Neraca)"), "fees": N_("Fees"), "clearing": N_("Clearing")}


STATUSES = {"active": N_("Active"), "frozen": N_("Frozen"), "closed": N_("Closed")}


def status_label(status: str) -> str:
    label = STATUSES.get(status)
    return gettext(label).lower() if label else status


def kind_label(kind: str) -> str:
    label = ACCOUNT_KINDS.get(kind)
    return gettext(label) if label else kind


def system_role_label(role: str) -> str:
    label = SYSTEM_ROLES.get(role)
    return gettext(label) if label else role


def display_name(name: str, kind: str, system_role: str | None, currency: str) -> str:
    """An account's name as shown: system accounts by their translated role, e.g. "Biaya (IDR)"."""
    if kind == "system" and system_role:
        return f"{system_role_label(system_role)} ({currency})"
    return name


# Template filters this domain gives the portal's Jinja environment (found by portal/server/templating.py).
TEMPLATE_FILTERS = {"account_kind": kind_label}
