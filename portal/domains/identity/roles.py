"""Roles: named presets of view/manage rights per menu. Rights are `menu:level` strings,
the same vocabulary API key permissions use; `manage` implies `view`."""

from __future__ import annotations

from collections.abc import Iterable

from portal.lib.i18n import N_
from portal.lib.menus import MENU_KEYS

LEVELS = ("none", "view", "manage")


def _preset(manage: Iterable[str] = (), view: Iterable[str] = ()) -> frozenset[str]:
    rights = {f"{m}:manage" for m in manage}
    rights |= {f"{m}:view" for m in view if f"{m}:manage" not in rights}
    return frozenset(rights)


ROLE_PRESETS: dict[str, frozenset[str]] = {
    "owner": _preset(manage=MENU_KEYS),
    "admin": _preset(manage=MENU_KEYS),
    "finance": _preset(
        manage=("accounts", "transfers", "payments", "splits", "billing", "payouts", "approvals", "invoices"),
        view=("dashboard", "reports", "activity", "monitoring"),
    ),
    "operator": _preset(
        manage=("transfers", "payments", "splits", "billing"),
        view=("dashboard", "accounts", "payouts", "invoices", "reports"),
    ),
    "viewer": _preset(
        view=(
            "dashboard",
            "accounts",
            "transfers",
            "payments",
            "splits",
            "billing",
            "payouts",
            "invoices",
            "monitoring",
            "reports",
        )
    ),
    "division_manager": _preset(
        view=("dashboard", "accounts", "transfers", "payments", "billing", "payouts", "invoices", "reports")
    ),
    # Partners serve themselves: withdraw to their accounts' bank and send to accounts found by name.
    "partner": _preset(manage=("transfers",), view=("dashboard", "accounts", "invoices", "reports")),
}
ROLE_LABELS: dict[str, str] = {
    "owner": N_("Owner"),
    "admin": N_("Admin"),
    "finance": N_("Finance"),
    "operator": N_("Operator"),
    "viewer": N_("Viewer"),
    "division_manager": N_("Division Manager"),
    "partner": N_("Partner"),
}
ROLES = tuple(ROLE_PRESETS)
# Roles meant for one part of the business: a user of these sees one account's subtree, never all of it.
SCOPED_ROLES = frozenset({"partner", "division_manager"})
ALL_RIGHTS = frozenset(f"{m}:{level}" for m in MENU_KEYS for level in ("view", "manage"))


def normalise_rights(rights: Iterable[str]) -> frozenset[str]:
    """Known rights only, one level per menu (manage wins)."""
    out: dict[str, str] = {}
    for right in rights:
        if right not in ALL_RIGHTS:
            continue
        menu, level = right.split(":")
        if out.get(menu) != "manage":
            out[menu] = level
    return frozenset(f"{m}:{lvl}" for m, lvl in out.items())


def level_of(rights: Iterable[str], menu: str) -> str:
    rights = set(rights)
    if f"{menu}:manage" in rights:
        return "manage"
    if f"{menu}:view" in rights:
        return "view"
    return "none"


def covers(have: Iterable[str], want: Iterable[str]) -> bool:
    """True when the rights `have` include every right in `want` (manage implies view)."""
    have = set(have)
    for right in want:
        menu, level = right.split(":")
        if f"{menu}:manage" in have:
            continue
        if level == "view" and f"{menu}:view" in have:
            continue
        return False
    return True
