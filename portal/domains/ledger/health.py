"""The ledger's readiness check, found by `/readyz` (every domain may have a `health.readiness`)."""

from __future__ import annotations

from portal.domains.ledger.engine import write_path_problem


async def readiness() -> dict[str, str] | None:
    """None while ledger writes work in this process; else why they do not."""
    problem = await write_path_problem()
    return None if problem is None else {"ledger": problem}
