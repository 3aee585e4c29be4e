"""Who is acting: a signed-in user or an API key. Every service function that reads or changes tenant
data takes an Actor and filters by `actor.business_id`; scope checks use `scope_account_id`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from portal.lib.errors import Forbidden
from portal.lib.i18n import gettext
from portal.lib.menus import MENU_KEYS, MENUS

Level = Literal["view", "manage"]


@dataclass(frozen=True)
class Actor:
    business_id: str
    # Rights as "menu:level" strings ("accounts:view", "transfers:manage"); manage implies view.
    rights: frozenset[str]
    # None = the whole business; otherwise the root of the account subtree this actor may see and act in.
    scope_account_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    name: str = ""
    ip: str | None = None
    user_agent: str | None = None
    business_mode: Literal["sandbox", "live"] = "sandbox"
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def kind(self) -> Literal["user", "api_key", "system"]:
        if self.user_id:
            return "user"
        if self.api_key_id:
            return "api_key"
        return "system"

    def can(self, menu: str, level: Level = "view") -> bool:
        if f"{menu}:manage" in self.rights:
            return True
        return level == "view" and f"{menu}:view" in self.rights

    def require(self, menu: str, level: Level = "view") -> None:
        """Raise Forbidden (403) unless this actor has the right."""
        if not self.can(menu, level):
            labels = {item.key: gettext(item.label) for item in MENUS}
            message = (
                gettext("Your access does not include managing %(menu)s.")
                if level == "manage"
                else gettext("Your access does not include viewing %(menu)s.")
            )
            raise Forbidden(message % {"menu": labels.get(menu, menu)})


def system_actor(business_id: str, *, mode: Literal["sandbox", "live"] = "sandbox") -> Actor:
    """For jobs and CLI commands acting on a business as a whole (never for requests)."""
    return Actor(
        business_id=business_id,
        rights=frozenset(f"{menu}:manage" for menu in MENU_KEYS),
        name="system",
        business_mode=mode,
    )
