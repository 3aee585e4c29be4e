"""Demo data: each domain may have `demo.py` with `ORDER` (int) and `async def load(state) -> None`.

Loaders run in ORDER and share `state` (a dict): earlier ones leave ids behind for later ones, and
`state["lines"]` collects what to print (logins, keys). The whole set runs once per database.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import pkgutil
from datetime import UTC, datetime
from typing import Any

import portal.domains

DEMO_MARKER = "demo_loaded"


def _loaders() -> list[Any]:
    modules = []
    for module in pkgutil.iter_modules(portal.domains.__path__):
        name = f"portal.domains.{module.name}.demo"
        if module.ispkg and importlib.util.find_spec(name) is not None:
            modules.append(importlib.import_module(name))
    return sorted(modules, key=lambda m: getattr(m, "ORDER", 100))


async def load_demo() -> list[str]:
    """Load the demo data unless it is already there; return the lines to print."""
    from portal.db.tables import SystemSetting

    existing = await SystemSetting.select(SystemSetting.value).where(SystemSetting.key == DEMO_MARKER).first()
    if existing is not None:
        # The logins printed when the data was loaded (JSONB comes back as its JSON text).
        value = existing["value"]
        stored = json.loads(value) if isinstance(value, str) else value
        lines = stored.get("lines", []) if isinstance(stored, dict) else []
        return ["Demo data is already loaded.", *lines]
    state: dict[str, Any] = {"lines": []}
    for loader in _loaders():
        await loader.load(state)
    await SystemSetting.insert(
        SystemSetting(
            key=DEMO_MARKER, value=json.dumps({"lines": state["lines"]}), updated_at=datetime.now(UTC)
        )
    )
    return ["Demo data loaded.", *state["lines"]]
