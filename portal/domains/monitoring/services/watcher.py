"""The event consumer: screens every business's new events (the webhooks outbox) within seconds.

A business's events carry a gapless sequence and commit in its order (an event holds the business's
sequence row until commit), so one cursor per business is enough: everything at or below the
business's committed `event_sequence.last` is there to read. Alerts are unique per rule and operation,
so an event screened twice (two workers, a crash before the cursor moved) raises nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta
from typing import Any

from portal.domains.monitoring.services import kinds
from portal.domains.monitoring.services.alerts import Operation, raise_alerts
from portal.domains.monitoring.services.evaluate import Booked, Match, matching_rules_many
from portal.lib import jobs, sql
from portal.lib.sql import transaction

# Event types that describe money leaving an account, and the failed card charges of a billing.
OUTGOING_EVENTS = ("transfer.created", "withdrawal.created", "payout.created", "payout.scheduled")
WATCHED = (*OUTGOING_EVENTS, kinds.FAILED_CHARGE_EVENT)
BATCH = 500
POLL_S = 0.25


def _data(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def operation_of(business_id: str, event_type: str, data: dict[str, Any], at: datetime) -> Operation | None:
    """The outgoing operation an event tells about (None for any other event)."""
    if event_type == "transfer.created":
        if data.get("kind") != "transfer":
            return None
        account = data.get("from_account_id")
    elif event_type in ("withdrawal.created", "payout.created", "payout.scheduled"):
        # A withdrawal sent as a payout was screened as the withdrawal.
        if data.get("kind") == "withdrawal" or data.get("withdrawal_id"):
            return None
        account = data.get("account_id")
    else:
        return None
    if not account or not isinstance(data.get("amount"), int):
        return None
    return Operation(
        business_id,
        event_type.split(".")[0],
        str(account),
        int(data["amount"]),
        str(data.get("currency") or "IDR"),
        at,
        str(data.get("id")),
        data.get("beneficiary_id"),
    )


async def _failed_charges(business_id: str, event_id: str, data: dict[str, Any], at: datetime) -> list[Match]:
    """Failed-charges rules crossing their count with this failure (one alert per crossing)."""
    billing = data.get("billing_id") or data.get("subscription_id")
    if not billing:
        return []
    rules = await sql.fetch(
        "SELECT id, kind, name, params, severity, action FROM monitoring_rule "
        "WHERE business_id = $1 AND enabled AND kind = 'failed_charges'",
        business_id,
    )
    out = []
    for rule in rules:
        params = _data(rule["params"])
        n = await sql.fetchval(
            "SELECT count(*) FROM event e WHERE e.business_id = $1 AND e.type = $2 "
            "AND coalesce(e.data->>'billing_id', e.data->>'subscription_id') = $3 "
            "AND e.created_at > $4::timestamptz - make_interval(hours => $5) AND e.created_at <= $4",
            business_id,
            kinds.FAILED_CHARGE_EVENT,
            str(billing),
            at,
            int(params["window_hours"]),
        )
        if int(n) == params["max_failures"]:
            out.append(
                Match(rule["id"], rule["kind"], rule["name"], rule["severity"], rule["action"], params)
            )
    return out


async def screen_events(business_id: str, events: list[Any]) -> list[str]:
    """Screen a business's events, in order: every outgoing operation's counts in one statement, then
    the alerts of what matched; returns the ids of the alerts raised."""
    ops: list[Operation | None] = []
    for event in events:
        op = None
        if event["type"] != kinds.FAILED_CHARGE_EVENT:
            op = operation_of(business_id, event["type"], _data(event["data"]), event["created_at"])
        ops.append(op if op is not None and op.account_id is not None else None)
    booked = [
        Booked(str(op.account_id), op.amount, op.at, op.beneficiary_id, op.object_id) for op in ops if op
    ]
    found = iter(await matching_rules_many(business_id, booked))
    raised: list[str] = []
    for event, op in zip(events, ops, strict=True):
        if op is not None:
            raised += await raise_alerts(op, next(found))
        elif event["type"] == kinds.FAILED_CHARGE_EVENT:
            raised += await _failed_charge_alerts(business_id, event)
    return raised


async def _failed_charge_alerts(business_id: str, event: Any) -> list[str]:
    data = _data(event["data"])
    at: datetime = event["created_at"]
    matches = await _failed_charges(business_id, event["id"], data, at)
    if not matches:
        return []
    amount = data.get("amount")
    charge = Operation(
        business_id,
        "charge",
        data.get("account_id"),
        int(amount) if isinstance(amount, int) else 0,
        str(data.get("currency") or "IDR"),
        at,
        str(data.get("id") or event["id"]),
    )
    return await raise_alerts(charge, matches)


async def consume_once() -> int:
    """Screen every business's events since its cursor (up to a batch each); returns how many were read."""
    behind = await sql.fetch(
        "SELECT s.business_id, s.last, coalesce(c.last_sequence, 0) AS cursor FROM event_sequence s "
        "LEFT JOIN monitoring_cursor c ON c.business_id = s.business_id "
        "WHERE s.last > coalesce(c.last_sequence, 0)"
    )
    total = 0
    for row in behind:
        business_id, cursor = row["business_id"], int(row["cursor"])
        upto = min(int(row["last"]), cursor + BATCH)
        events = await sql.fetch(
            "SELECT id, type, data, created_at FROM event WHERE business_id = $1 AND type = ANY($2::text[]) "
            "AND sequence > $3 AND sequence <= $4 ORDER BY sequence",
            business_id,
            list(WATCHED),
            cursor,
            upto,
        )
        await screen_events(business_id, list(events))
        async with transaction():
            await sql.execute(
                "INSERT INTO monitoring_cursor AS c (business_id, last_sequence, updated_at) "
                "VALUES ($1, $2, now()) ON CONFLICT (business_id) DO UPDATE "
                "SET last_sequence = greatest(c.last_sequence, EXCLUDED.last_sequence), "
                "updated_at = now()",
                business_id,
                upto,
            )
        total += upto - cursor
    return total


async def watch(seconds: float) -> None:
    """Keep screening new events for `seconds` (ends early when the worker stops)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not jobs.worker_stopping():
        if not await consume_once():
            await asyncio.sleep(POLL_S)


def lag(event_at: datetime, alert_at: datetime) -> timedelta:
    return alert_at - event_at
