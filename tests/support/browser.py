"""Browser test helpers."""

from __future__ import annotations

from typing import Any


async def csp_violations(page: Any) -> list[str]:
    return list(await page.evaluate("window.__cspViolations || []"))
