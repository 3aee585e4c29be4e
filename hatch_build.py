"""Wheel build hook: compiles the message catalogs and ships templates/ and static/ inside the package.

The repository keeps templates/ and static/ at the top level (where designers and the tests look); an
installed portal finds them under portal/ (see `portal.settings`). Catalogs are compiled here, at build
time, so a wheel never depends on `make catalogs` having run in the checkout.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CatalogsAndAssets(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        root = Path(self.root)
        self._tmp = tempfile.TemporaryDirectory(prefix="neraca-catalogs-")
        for po_path in sorted((root / "portal" / "locale").glob("*/LC_MESSAGES/messages.po")):
            language = po_path.parent.parent.name
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=language, domain="messages")
            mo_path = Path(self._tmp.name) / language / "messages.mo"
            mo_path.parent.mkdir(parents=True)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            build_data["force_include"][str(mo_path)] = f"portal/locale/{language}/LC_MESSAGES/messages.mo"
        build_data["force_include"][str(root / "templates")] = "portal/templates"
        build_data["force_include"][str(root / "static")] = "portal/static"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            tmp.cleanup()
