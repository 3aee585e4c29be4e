"""What the batch endpoints (1–500 items in one call, one outcome per item) share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

from portal.simulator.errors import conflict


def repeated(
    reference: str,
    same: asyncpg.Record | None,
    name: str,
    view: Callable[[asyncpg.Record], dict[str, Any]],
) -> dict[str, Any]:
    """The outcome of an item whose reference is already taken (by an earlier call or earlier in this
    one): the object made for it, `same`, when the item asks for the same thing again (an idempotent
    retry), else a `duplicate_reference` conflict. `name` is the outcome's key and the object's name."""
    if same is not None:
        return {"reference": reference, name: view(same)}
    noun = {"payin": "pay-in"}.get(name, name)
    return {
        "reference": reference,
        "error": conflict(
            "duplicate_reference", f"A {noun} with reference {reference!r} already exists."
        ).body(),
    }
