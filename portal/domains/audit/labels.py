"""Readable names of activity types (stored codes stay `user.login`, `transfer.created`, …)."""

from __future__ import annotations

from portal.lib.i18n import N_, gettext

# The activity page's type filter: a prefix of the stored code and what it covers.
ACTIVITY_GROUPS: dict[str, str] = {
    "user.": N_("Users and sign-in"),
    "account.": N_("Accounts"),
    "transfer": N_("Transfers"),
    "topup.": N_("Top-ups"),
    "withdrawal.": N_("Withdrawals"),
    "hold.": N_("Holds"),
    "api_key.": N_("API keys"),
    "webhook": N_("Webhooks"),
    "statement.": N_("Statements"),
    "business.": N_("Business settings"),
    "activity.": N_("Activity log"),
}

ACTIVITY_NAMES: dict[str, str] = {
    "user.login": N_("Signed in"),
    "user.login_failed": N_("Sign-in failed"),
    "user.logout": N_("Signed out"),
    "user.lockout": N_("Locked out after failed sign-ins"),
    "user.created": N_("User added"),
    "user.updated": N_("User changed"),
    "user.permissions_changed": N_("User's access changed"),
    "user.enrolled": N_("User enrolled"),
    "user.password_changed": N_("Password changed"),
    "user.password_reset": N_("Password reset"),
    "user.authenticator_reset": N_("Authenticator reset"),
    "user.unlocked": N_("User unlocked"),
    "user.code_confirmed": N_("Large amount confirmed with an authenticator code"),
    "user.code_refused": N_("Authenticator code refused for a large amount"),
    "account.created": N_("Account created"),
    "account.updated": N_("Account changed"),
    "account.frozen": N_("Account frozen"),
    "account.unfrozen": N_("Account unfrozen"),
    "account.closed": N_("Account closed"),
    "transfer.created": N_("Transfer booked"),
    "transfer.sent": N_("Money sent to another account"),
    "transfer.reversed": N_("Transfer reversed"),
    "transfer_group.created": N_("Transfer group booked"),
    "topup.created": N_("Top-up ordered"),
    "topup.paid": N_("Top-up paid"),
    "topup.expired": N_("Top-up expired"),
    "withdrawal.created": N_("Withdrawal requested"),
    "withdrawal.paid": N_("Withdrawal paid"),
    "withdrawal.failed": N_("Withdrawal failed"),
    "hold.created": N_("Hold placed"),
    "hold.posted": N_("Hold posted"),
    "hold.voided": N_("Hold released"),
    "hold.expired": N_("Hold expired"),
    "api_key.created": N_("API key created"),
    "api_key.revoked": N_("API key revoked"),
    "statement.exported": N_("Statement exported"),
    "business.updated": N_("Business settings changed"),
    "activity.exported": N_("Activity log exported"),
}


def activity_name(action: str) -> str:
    """The activity's name in words; an unknown code reads as itself, without dots and underscores."""
    label = ACTIVITY_NAMES.get(action)
    if label:
        return gettext(label)
    return action.replace("_", " ").replace(".", ": ").capitalize()


TEMPLATE_FILTERS = {"activity_name": activity_name}
TEMPLATE_GLOBALS = {"activity_groups": lambda: [(k, gettext(v)) for k, v in ACTIVITY_GROUPS.items()]}
