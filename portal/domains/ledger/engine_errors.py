"""The engine's refusals in the request's language.

engine.py raises its errors in English (it may run an operation inside another request's group commit,
whose language is not this caller's), so the services localise them where the caller awaits the result:
the machine `code` and the `pointer`s stay as they are, only the sentences a person reads change.
"""

from __future__ import annotations

import re
from dataclasses import replace

from portal.lib.errors import NeracaError
from portal.lib.i18n import N_, current_language, gettext

# The short field details the engine uses (fixed English strings), marked for extraction.
FIELD_DETAILS = (
    N_("not found"),
    N_("currency differs from the source account"),
    N_("account is closed"),
    N_("account is frozen"),
    N_("more than the available balance"),
    N_("already used"),
)

# (code, the engine's English sentence, its msgid with the same named values).
SENTENCES: list[tuple[str, re.Pattern[str], str]] = [
    (
        "not_found",
        re.compile(r"^Account (?P<id>\S+) was not found\.$"),
        N_("Account %(id)s was not found."),
    ),
    (
        "currency_mismatch",
        re.compile(
            r"^Account (?P<debit>\S+) holds (?P<debit_currency>\S+) but (?P<credit>\S+) holds "
            r"(?P<credit_currency>\S+); a transfer moves one currency\.$"
        ),
        N_(
            "Account %(debit)s holds %(debit_currency)s but %(credit)s holds %(credit_currency)s; "
            "a transfer moves one currency."
        ),
    ),
    ("account_closed", re.compile(r"^Account (?P<id>\S+) is closed\.$"), N_("Account %(id)s is closed.")),
    (
        "account_frozen",
        re.compile(r"^Account (?P<id>\S+) is frozen: nothing can be debited from it\.$"),
        N_("Account %(id)s is frozen: nothing can be debited from it."),
    ),
    (
        "insufficient_funds",
        re.compile(
            r"^Account (?P<account>\S+) has (?P<available>-?\d+) available; (?P<needed>-?\d+) is needed\.$"
        ),
        N_("Account %(account)s has %(available)s available; %(needed)s is needed."),
    ),
    (
        "duplicate_reference",
        re.compile(r"^The reference (?P<reference>.+) has already been used in this business\.$", re.S),
        N_("The reference %(reference)s has already been used in this business."),
    ),
]

TITLES = {"insufficient_funds": N_("Insufficient funds"), "duplicate_reference": N_("Duplicate reference")}


def localise(exc: NeracaError) -> None:
    """Translate the engine's English detail, title and field details in place (English: unchanged)."""
    if current_language.get() == "en":
        return
    for code, pattern, msgid in SENTENCES:
        if exc.code != code:
            continue
        match = pattern.match(exc.detail)
        if match:
            exc.detail = gettext(msgid) % match.groupdict()
            break
    if exc.code in TITLES and exc.title == TITLES[exc.code]:
        exc.title = gettext(TITLES[exc.code])
    exc.errors = [
        replace(error, detail=gettext(error.detail)) if error.detail in FIELD_DETAILS else error
        for error in exc.errors
    ]
