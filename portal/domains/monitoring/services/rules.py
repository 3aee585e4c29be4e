"""Rules: each business's list (defaults created with the business), changed by users with the manage
right, and tested against the last 30 days before saving ("would have fired 12 times")."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import asyncpg

from portal.db import replica
from portal.domains.audit.services import record
from portal.domains.monitoring.schemas import BacktestOut, RuleList, RuleOut, SettingsOut
from portal.domains.monitoring.services import kinds
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, Forbidden, NotFound, ServiceUnavailable, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.sql import transaction

RULE_COLUMNS = "id, kind, name, params, severity, action, enabled, created_at, updated_at"
BACKTEST_DAYS = 30
BACKTEST_ROWS = 50000
BACKTEST_TIMEOUT_MS = 10000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_BACKTEST_SQL = f"""
SELECT x.object_kind, x.object_id, x.account_id, x.beneficiary_id, x.amount, x.created_at, m.n, m.t
FROM monitoring_outgoing x,
     LATERAL (SELECT {
    kinds.measure_sql(
        k="$2::text",
        p="$3::jsonb",
        b="$1",
        a="x.account_id",
        ben="x.beneficiary_id",
        at="x.created_at",
        ex="x.object_id",
    )
}) m
WHERE x.business_id = $1 AND x.created_at > $4::timestamptz - make_interval(days => $5) AND x.created_at <= $4
ORDER BY x.created_at LIMIT $6
"""


def _params(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def rule_out(row: asyncpg.Record) -> RuleOut:
    return RuleOut(
        id=row["id"],
        kind=row["kind"],
        name=row["name"],
        params=_params(row["params"]),
        severity=row["severity"],
        action=row["action"],
        enabled=row["enabled"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _require_whole_business(actor: Actor) -> None:
    actor.require("monitoring", "manage")
    if actor.scope_account_id is not None:
        raise Forbidden(N_("Only a user with access to the whole business can change monitoring rules."))


def _kind(value: Any) -> str:
    if value not in kinds.KINDS:
        raise ValidationFailed(
            N_("Unknown rule kind %(kind)s."),
            params={"kind": str(value)[:40]},
            code="unknown_kind",
            errors=[FieldError("/kind", N_("unknown kind"))],
        )
    return str(value)


def _choice(value: Any, allowed: tuple[str, ...], pointer: str) -> str:
    if value not in allowed:
        raise ValidationFailed(
            N_("Unknown value %(value)s."),
            params={"value": str(value)[:40]},
            code="invalid_value",
            errors=[FieldError(pointer, N_("not one of the choices"))],
        )
    return str(value)


def _name(value: Any) -> str:
    text = str(value or "").strip()
    if not 1 <= len(text) <= 80 or any(ord(c) < 32 for c in text):
        raise ValidationFailed(
            N_("A rule's name has 1 to 80 characters."),
            code="invalid_name",
            errors=[FieldError("/name", N_("1 to 80 characters"))],
        )
    return text


async def list_rules(actor: Actor) -> RuleList:
    """The business's rules, defaults first."""
    actor.require("monitoring")
    rows = await sql.fetch(
        f"SELECT {RULE_COLUMNS} FROM monitoring_rule WHERE business_id = $1 ORDER BY created_at, kind, id",
        actor.business_id,
    )
    return RuleList([rule_out(r) for r in rows])


async def _rule_row(actor: Actor, rule_id: str, *, lock: bool = False) -> asyncpg.Record:
    row = await sql.fetchrow(
        f"SELECT {RULE_COLUMNS} FROM monitoring_rule WHERE business_id = $1 AND id = $2"
        + (" FOR UPDATE" if lock else ""),
        actor.business_id,
        rule_id,
    )
    if row is None:
        raise NotFound(N_("Rule %(id)s was not found."), params={"id": rule_id}, code="not_found")
    return row


async def get_rule(actor: Actor, rule_id: str) -> RuleOut:
    """One rule of the business."""
    actor.require("monitoring")
    return rule_out(await _rule_row(actor, rule_id))


async def create_rule(
    actor: Actor,
    *,
    kind: Any,
    params: Any,
    name: Any = None,
    severity: Any = "medium",
    action: Any = "alert",
    enabled: bool = True,
) -> RuleOut:
    """A new rule of `kind` with checked parameters."""
    _require_whole_business(actor)
    kind = _kind(kind)
    clean = kinds.valid_params(kind, params)
    label = _name(name) if name else kind.replace("_", " ").capitalize()
    severity = _choice(severity, kinds.SEVERITIES, "/severity")
    action = _choice(action, kinds.ACTIONS, "/action")
    async with transaction():
        now = clock.now()
        row = await sql.fetchrow(
            "INSERT INTO monitoring_rule (business_id, id, kind, name, params, severity, action, enabled, "
            "created_at, updated_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $9) "
            f"RETURNING {RULE_COLUMNS}",
            actor.business_id,
            new_id("rul"),
            kind,
            label,
            json.dumps(clean),
            severity,
            action,
            bool(enabled),
            now,
        )
        assert row is not None
        await record(
            actor, "monitoring_rule.created", f"Created monitoring rule {label}", refs={"rule_id": row["id"]}
        )
    return rule_out(row)


async def update_rule(actor: Actor, rule_id: str, changes: dict[str, Any]) -> RuleOut:
    """Tune, rename, switch on or off, or change the severity or action of a rule."""
    _require_whole_business(actor)
    async with transaction():
        row = await _rule_row(actor, rule_id, lock=True)
        params = _params(row["params"])
        if changes.get("params") is not None:
            params = kinds.valid_params(row["kind"], changes["params"], base=params)
        name = _name(changes["name"]) if changes.get("name") is not None else row["name"]
        severity = (
            _choice(changes["severity"], kinds.SEVERITIES, "/severity")
            if changes.get("severity") is not None
            else row["severity"]
        )
        action = (
            _choice(changes["action"], kinds.ACTIONS, "/action")
            if changes.get("action") is not None
            else row["action"]
        )
        enabled = bool(changes["enabled"]) if changes.get("enabled") is not None else row["enabled"]
        updated = await sql.fetchrow(
            "UPDATE monitoring_rule SET name = $3, params = $4::jsonb, severity = $5, action = $6, "
            "enabled = $7, "
            f"updated_at = $8 WHERE business_id = $1 AND id = $2 RETURNING {RULE_COLUMNS}",
            actor.business_id,
            rule_id,
            name,
            json.dumps(params),
            severity,
            action,
            enabled,
            clock.now(),
        )
        assert updated is not None
        await record(
            actor, "monitoring_rule.updated", f"Changed monitoring rule {name}", refs={"rule_id": rule_id}
        )
    return rule_out(updated)


async def test_rule(
    actor: Actor,
    *,
    rule_id: str | None = None,
    kind: Any = None,
    params: Any = None,
    days: int = BACKTEST_DAYS,
) -> BacktestOut:
    """How often a rule (saved, or a draft of `kind` with `params`) would have fired on the business's
    outgoing money of the last `days` days. Read-only, on the report connection, with a time limit. Rules
    count the whole business's money, so only a user with the whole business may test them."""
    actor.require("monitoring")
    if actor.scope_account_id is not None:
        raise Forbidden(N_("Only a user with access to the whole business can test monitoring rules."))
    base: dict[str, Any] | None = None
    if rule_id is not None:
        row = await _rule_row(actor, rule_id)
        kind = row["kind"]
        base = _params(row["params"])
    kind = _kind(kind)
    clean = kinds.valid_params(kind, params if params is not None else (base or {}), base=base)
    at = clock.now()
    operations = fired = 0
    examples: list[str] = []
    if kind not in kinds.EVENT_ONLY:
        try:
            async with replica.read_connection() as conn, conn.transaction(readonly=True):
                await conn.execute(f"SET LOCAL statement_timeout = {BACKTEST_TIMEOUT_MS}")
                rows = await conn.fetch(
                    _BACKTEST_SQL, actor.business_id, kind, json.dumps(clean), at, days, BACKTEST_ROWS
                )
        except asyncpg.QueryCanceledError:
            raise ServiceUnavailable(
                N_("Testing the rule took too long and was stopped; try a narrower rule."),
                code="query_timeout",
            ) from None
        for r in rows:
            operations += 1
            if kinds.fires(
                kind,
                clean,
                amount=r["amount"],
                at=r["created_at"],
                n=r["n"],
                t=r["t"],
                beneficiary_id=r["beneficiary_id"],
            ):
                fired += 1
                if len(examples) < 10:
                    examples.append(r["object_id"])
    else:
        rows = await sql.fetch(
            "SELECT e.data->>'billing_id' AS billing_id, count(*) AS n FROM event e WHERE e.business_id = $1 "
            "AND e.type = $2 AND e.created_at > $3::timestamptz - make_interval(days => $4) GROUP BY 1",
            actor.business_id,
            kinds.FAILED_CHARGE_EVENT,
            at,
            days,
        )
        operations = sum(int(r["n"]) for r in rows)
        fired = sum(max(0, int(r["n"]) - clean["max_failures"] + 1) for r in rows)
    return BacktestOut(rule_id, kind, clean, days, operations, fired, examples)


async def get_settings(actor: Actor) -> SettingsOut:
    actor.require("monitoring")
    recipients = await sql.fetchval(
        "SELECT recipients FROM monitoring_settings WHERE business_id = $1", actor.business_id
    )
    return SettingsOut(list(recipients or []))


async def set_recipients(actor: Actor, recipients: Any) -> SettingsOut:
    """The addresses new alerts are e-mailed to (at most 20)."""
    _require_whole_business(actor)
    if isinstance(recipients, str):
        recipients = [r for r in re.split(r"[\s,;]+", recipients) if r]
    if not isinstance(recipients, list) or len(recipients) > 20:
        raise ValidationFailed(
            N_("Give at most 20 e-mail addresses."),
            code="invalid_recipients",
            errors=[FieldError("/recipients", N_("at most 20 addresses"))],
        )
    clean: list[str] = []
    for i, value in enumerate(recipients):
        text = str(value).strip()
        if not _EMAIL.match(text) or len(text) > 254:
            raise ValidationFailed(
                N_("%(value)s is not an e-mail address."),
                params={"value": text[:60]},
                code="invalid_recipients",
                errors=[FieldError(f"/recipients/{i}", N_("not an e-mail address"))],
            )
        if text.lower() not in (c.lower() for c in clean):
            clean.append(text)
    async with transaction():
        await sql.execute(
            "INSERT INTO monitoring_settings (business_id, recipients, updated_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (business_id) DO UPDATE SET recipients = EXCLUDED.recipients, "
            "updated_at = EXCLUDED.updated_at",
            actor.business_id,
            clean,
            clock.now(),
        )
        await record(actor, "monitoring.settings_changed", "Changed the monitoring recipients")
    return SettingsOut(clean)


def window_of(params: dict[str, Any]) -> timedelta:
    return timedelta(hours=int(params.get("window_hours", 24)))


async def find_rule(actor: Actor, rule_id: str) -> None:
    """NotFound unless the rule is the actor's business's (routes check it first)."""
    await _rule_row(actor, rule_id)
