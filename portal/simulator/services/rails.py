"""Rail and channel modes the control surface sets: normal, slow, offline, timeout."""

from __future__ import annotations

from contextvars import ContextVar

import asyncpg

from portal.simulator.errors import SimError, invalid
from portal.simulator.reference import RAIL_MODES, RAIL_NAMES

SLOW_ANSWER_S = 3.0
# Seconds the API holds its answer after committing (slow and timeout modes); read by the API layer.
answer_delay: ContextVar[float] = ContextVar("answer_delay", default=0.0)


async def mode(conn: asyncpg.Connection, name: str) -> str:
    value = await conn.fetchval("SELECT mode FROM sim_rails WHERE name = $1", name)
    return str(value or "normal")


async def modes(conn: asyncpg.Connection) -> dict[str, str]:
    rows = await conn.fetch("SELECT name, mode FROM sim_rails")
    current = {row["name"]: row["mode"] for row in rows}
    return {name: current.get(name, "normal") for name in RAIL_NAMES}


async def set_mode(conn: asyncpg.Connection, name: str, new_mode: str) -> dict[str, str]:
    if name not in RAIL_NAMES:
        raise SimError(404, "not_found", f"No rail or channel {name!r}.")
    if new_mode not in RAIL_MODES:
        raise invalid("/mode", f"mode must be one of {', '.join(RAIL_MODES)}.")
    await conn.execute(
        "INSERT INTO sim_rails (name, mode) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET mode = $2",
        name,
        new_mode,
    )
    return {"rail": name, "mode": new_mode}


async def gate(conn: asyncpg.Connection, name: str, timeout_hold_s: float) -> str:
    """Refuse when `name` is offline (503); for slow/timeout, delay the answer after the work commits."""
    current = await mode(conn, name)
    if current == "offline":
        raise SimError(503, "rail_offline", f"{name} is offline; try again later.")
    if current == "timeout":
        answer_delay.set(timeout_hold_s)
    elif current == "slow":
        answer_delay.set(SLOW_ANSWER_S)
    return current
