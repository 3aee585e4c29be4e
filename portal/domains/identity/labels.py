"""Display labels of identity vocabularies (mail outbox status, languages); stored values stay codes."""

from __future__ import annotations

from portal.lib.i18n import LANGUAGES, N_, gettext

MAIL_STATUSES = {
    "queued": N_("Queued"),
    "sent": N_("Sent"),
    "outbox": N_("Kept in the outbox"),
    "failed": N_("Failed"),
}

LANGUAGE_NAMES = dict(LANGUAGES)  # each language by its own name ("English", "Bahasa Indonesia")


def mail_status_label(status: str) -> str:
    label = MAIL_STATUSES.get(status)
    return gettext(label) if label else status


def language_name(code: str | None) -> str:
    return LANGUAGE_NAMES.get(code or "", code or "")


# Template filters this domain gives the portal's Jinja environment (found by portal/server/templating.py).
TEMPLATE_FILTERS = {"mail_status": mail_status_label, "language_name": language_name}
