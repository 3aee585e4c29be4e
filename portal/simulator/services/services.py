"""A merchant's financial services at the provider (split settlement): the merchant asks for one
(`updating`); the provider's review — in the sandbox, the control surface — makes it `active` and sends
the merchant a signed `service.activated` callback. Neraca can also read the state by a status query."""

from __future__ import annotations

from typing import Any

import asyncpg

from portal.simulator.errors import SimError
from portal.simulator.services import callbacks, fields

SERVICES = ("split_settlement",)


def _known(service: str) -> str:
    if service not in SERVICES:
        raise SimError(404, "not_found", "No such service.")
    return service


def _out(merchant_id: str, service: str, row: asyncpg.Record | None) -> dict[str, Any]:
    return {
        "merchant_id": merchant_id,
        "service": service,
        "status": row["status"] if row else "inactive",
        "requested_at": row["requested_at"].isoformat() if row else None,
        "verified_at": row["verified_at"].isoformat() if row and row["verified_at"] else None,
    }


async def request(conn: asyncpg.Connection, service: str, body: dict[str, Any]) -> dict[str, Any]:
    """The merchant asks for the service: `updating` (an active service stays active)."""
    merchant_id = fields.required_text(body, "merchant_id", max_length=64)
    assert merchant_id is not None
    row = await conn.fetchrow(
        "INSERT INTO sim_services (merchant_id, service, status) VALUES ($1, $2, 'updating') "
        "ON CONFLICT (merchant_id, service) DO UPDATE SET requested_at = now() RETURNING *",
        merchant_id,
        _known(service),
    )
    return _out(merchant_id, service, row)


async def get(conn: asyncpg.Connection, merchant_id: str, service: str) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT * FROM sim_services WHERE merchant_id = $1 AND service = $2", merchant_id, _known(service)
    )
    return _out(merchant_id, service, row)


async def verify(conn: asyncpg.Connection, merchant_id: str, service: str) -> dict[str, Any]:
    """The provider's review passed: `updating` → `active` (409 when it was never requested). The change
    sends a `service.activated` callback in the same transaction; verifying an active service again sends
    nothing."""
    before = await conn.fetchval(
        "SELECT status FROM sim_services WHERE merchant_id = $1 AND service = $2 FOR UPDATE",
        merchant_id,
        _known(service),
    )
    if before is None:
        raise SimError(409, "not_requested", "The merchant has not asked for this service.")
    row = await conn.fetchrow(
        "UPDATE sim_services SET status = 'active', verified_at = coalesce(verified_at, now()) "
        "WHERE merchant_id = $1 AND service = $2 RETURNING *",
        merchant_id,
        service,
    )
    answer = _out(merchant_id, service, row)
    if before != "active":
        await callbacks.enqueue(conn, "services", "service.activated", merchant_id, answer)
    return answer


async def listing(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT * FROM sim_services ORDER BY requested_at DESC LIMIT 100")
    return [_out(r["merchant_id"], r["service"], r) for r in rows]
