"""Finding what each domain plugs in, by module name, so the server never imports a domain statically.

Every folder under portal/domains/ may have the same modules (docs/architecture.md): `api` and `views`
(`ROUTES`), `server_hooks` (`MIDDLEWARE`, `on_app`), `labels` (`TEMPLATE_FILTERS`, `TEMPLATE_GLOBALS`).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from types import ModuleType

import portal.domains


def domain_names() -> list[str]:
    """Every domain package, in name order (the order routes and hooks are registered in)."""
    return sorted(m.name for m in pkgutil.iter_modules(portal.domains.__path__) if m.ispkg)


def domain_modules(kind: str) -> list[ModuleType]:
    """Each domain's `<kind>` module (e.g. "views"), imported, for the domains that have one."""
    modules = []
    for domain in domain_names():
        name = f"portal.domains.{domain}.{kind}"
        if importlib.util.find_spec(name) is not None:
            modules.append(importlib.import_module(name))
    return modules
