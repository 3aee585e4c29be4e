"""Monitoring test helpers: alerts and rules set up directly, and the event consumer run to the end."""

from __future__ import annotations

import json
from typing import Any

from portal.lib import sql
from portal.lib.ids import new_id


async def insert_alert(business_id: str, account_id: str | None, *, amount: int = 1000) -> str:
    """An open alert of `business_id` on `account_id` (as the large-amount rule would raise it)."""
    alert_id = new_id("alr")
    await sql.execute(
        "INSERT INTO monitoring_alert (business_id, id, rule_kind, rule_name, severity, action, account_id, "
        "object_kind, amount, currency, evidence) "
        "VALUES ($1, $2, 'large_amount', 'Large single amount', 'high', "
        "'alert', $3, 'transfer', $4, 'IDR', $5::jsonb)",
        business_id,
        alert_id,
        account_id,
        amount,
        json.dumps([{"kind": "transfer", "id": "trf_test", "amount": amount}]),
    )
    return alert_id


async def rule_of(business_id: str, kind: str, per: str | None = None) -> dict[str, Any]:
    """The business's default rule of `kind` (and `per`, for velocity rules)."""
    rows = await sql.fetch(
        "SELECT id, params FROM monitoring_rule WHERE business_id = $1 AND kind = $2 ORDER BY id",
        business_id,
        kind,
    )
    for row in rows:
        params = json.loads(row["params"]) if isinstance(row["params"], str) else dict(row["params"])
        if per is None or params.get("per") == per:
            return {"id": row["id"], "params": params}
    raise LookupError(kind)


async def set_rule(business_id: str, rule_id: str, *, action: str | None = None, **params: Any) -> None:
    """Change a rule directly (its action, some parameters)."""
    if action:
        await sql.execute(
            "UPDATE monitoring_rule SET action = $3 WHERE business_id = $1 AND id = $2",
            business_id,
            rule_id,
            action,
        )
    if params:
        await sql.execute(
            "UPDATE monitoring_rule SET params = params || $3::jsonb WHERE business_id = $1 AND id = $2",
            business_id,
            rule_id,
            json.dumps(params),
        )


async def only_rules(business_id: str, *rule_ids: str) -> None:
    """Switch off every rule of the business except these."""
    await sql.execute(
        "UPDATE monitoring_rule SET enabled = (id = ANY($2::text[])) WHERE business_id = $1",
        business_id,
        list(rule_ids),
    )


async def drain() -> int:
    """Run the event consumer until it has read everything."""
    from portal.domains.monitoring.services import watcher

    total = 0
    while n := await watcher.consume_once():
        total += n
    return total


async def with_defaults(business_id: str) -> None:
    """The default rules for a business made without the business row (ledger test trees)."""
    await sql.execute("SELECT monitoring_default_rules($1)", business_id)


async def add_failed_charge(business_id: str, billing_id: str, amount: int = 150_000) -> None:
    """A `billing.charge.failed` event as card billing writes it (the type is registered by that domain)."""
    async with sql.connection() as conn, conn.transaction():
        sequence = await conn.fetchval(
            "INSERT INTO event_sequence AS s (business_id, last) VALUES ($1, 1) "
            "ON CONFLICT (business_id) DO UPDATE SET last = s.last + 1 RETURNING last",
            business_id,
        )
        await conn.execute(
            "INSERT INTO event (id, business_id, sequence, type, data) VALUES ($1, $2, $3, $4, $5::jsonb)",
            new_id("evt"),
            business_id,
            sequence,
            "billing.charge.failed",
            json.dumps({"id": new_id("chg"), "billing_id": billing_id, "amount": amount, "currency": "IDR"}),
        )


async def alerts_of(business_id: str) -> list[Any]:
    return await sql.fetch(
        "SELECT * FROM monitoring_alert WHERE business_id = $1 ORDER BY created_at, id", business_id
    )
