"""The portal's menus: the unit of access rights (`<menu>:view`, `<menu>:manage`) and of navigation.

They live below every layer that needs them: actors and roles grant rights per menu key, and the
server's navigation (portal/server/nav.py) shows each menu once its domain has a page.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.lib.i18n import N_


@dataclass(frozen=True)
class Menu:
    key: str
    label: str  # English source text, translated at render time
    href: str
    icon: str


MENUS: tuple[Menu, ...] = (
    Menu("dashboard", N_("Dashboard"), "/", "home"),
    Menu("accounts", N_("Accounts"), "/accounts", "accounts"),
    Menu("transfers", N_("Transfers"), "/transfers", "transfers"),
    Menu("payments", N_("Payments"), "/payments", "inbox"),
    Menu("splits", N_("Splits"), "/splits", "splits"),
    Menu("payouts", N_("Payouts"), "/payouts", "payouts"),
    Menu("approvals", N_("Approvals"), "/approvals", "check"),
    Menu("billing", N_("Billing"), "/billing", "billing"),
    Menu("invoices", N_("Invoices"), "/invoices", "calendar"),
    Menu("monitoring", N_("Monitoring"), "/monitoring", "warning"),
    Menu("reports", N_("Reports"), "/reports", "reports"),
    Menu("users", N_("Users"), "/users", "users"),
    Menu("activity", N_("Activity"), "/activity", "activity"),
    Menu("developers", N_("Developers"), "/developers", "developers"),
    Menu("settings", N_("Settings"), "/settings", "settings"),
)
MENU_KEYS = tuple(menu.key for menu in MENUS)
