"""Display labels of report vocabularies (schedule frequencies, export status); stored values stay codes."""

from __future__ import annotations

from portal.lib.i18n import N_, gettext

FREQUENCIES = {"daily": N_("Daily"), "weekly": N_("Weekly"), "monthly": N_("Monthly")}
EXPORT_STATUSES = {
    "queued": N_("Queued"),
    "running": N_("Preparing"),
    "done": N_("Ready"),
    "failed": N_("Failed"),
}


def frequency_label(frequency: str) -> str:
    label = FREQUENCIES.get(frequency)
    return gettext(label) if label else frequency


def export_status_label(status: str) -> str:
    label = EXPORT_STATUSES.get(status)
    return gettext(label) if label else status


# Template filters this domain gives the portal's Jinja environment (found by portal/server/templating.py).
TEMPLATE_FILTERS = {"schedule_frequency": frequency_label, "export_status": export_status_label}
