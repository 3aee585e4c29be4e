"""Alerts: raised by a rule that matched (inline for a block, from events otherwise), then worked through
open → acknowledged → resolved, with an assignee, notes and the evidence (the operations that matched).
A new alert emits `alert.created` and is e-mailed to the business's monitoring recipients."""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.audit.services import record
from portal.domains.monitoring.schemas import AlertOut, AlertPage, Evidence, NoteOut
from portal.domains.monitoring.services.evaluate import Match
from portal.domains.webhooks.services import emit
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict, FieldError, NotFound, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.screening import Outgoing
from portal.lib.sql import transaction

STATUSES = ("open", "acknowledged", "resolved")
MAIL_TEMPLATE = "monitoring_alert"
ALERT_COLUMNS = (
    "business_id, id, rule_id, rule_kind, rule_name, severity, action, status, account_id, object_kind, "
    "object_id, amount, currency, evidence, assignee_id, resolution, created_at, acknowledged_at, "
    "resolved_at"
)


@dataclass(frozen=True)
class Operation:
    """A booked operation the event consumer screens (or a refused one, `object_id` None)."""

    business_id: str
    kind: str
    account_id: str | None
    amount: int
    currency: str
    at: datetime
    object_id: str | None
    beneficiary_id: str | None = None


def _evidence(value: Any) -> list[Evidence]:
    items = json.loads(value) if isinstance(value, str) else (value or [])
    return [Evidence(i.get("kind", ""), i.get("id", ""), i.get("amount"), i.get("at")) for i in items]


def alert_out(row: asyncpg.Record | dict[str, Any], notes: Sequence[Any] = ()) -> AlertOut:
    return AlertOut(
        id=row["id"],
        rule_id=row["rule_id"],
        rule_kind=row["rule_kind"],
        rule_name=row["rule_name"],
        severity=row["severity"],
        action=row["action"],
        status=row["status"],
        account_id=row["account_id"],
        object_kind=row["object_kind"],
        object_id=row["object_id"],
        amount=row["amount"],
        currency=row["currency"],
        evidence=_evidence(row["evidence"]),
        assignee_id=row["assignee_id"],
        resolution=row["resolution"],
        created_at=row["created_at"],
        acknowledged_at=row["acknowledged_at"],
        resolved_at=row["resolved_at"],
        notes=[NoteOut(n["id"], n["author_name"], n["body"], n["created_at"]) for n in notes],
    )


async def _related(op: Operation, match: Match) -> list[dict[str, Any]]:
    """The earlier operations a counting rule counted (up to 20), for the evidence."""
    if match.kind not in ("velocity_count", "velocity_sum", "structuring") or op.account_id is None:
        return []
    per_beneficiary = match.params.get("per") == "beneficiary"
    if per_beneficiary and op.beneficiary_id is None:
        return []
    args: list[Any] = [op.business_id, op.beneficiary_id if per_beneficiary else op.account_id, op.at]
    args += [int(match.params["window_hours"]), op.object_id]
    column = "beneficiary_id" if per_beneficiary else "account_id"
    band = ""
    if match.kind == "structuring":
        limit = int(match.params["limit"])
        args += [limit * (100 - int(match.params["margin_pct"])) // 100, limit]
        band = " AND o.amount >= $6 AND o.amount < $7"
    rows = await sql.fetch(
        f"SELECT o.object_kind, o.object_id, o.amount, o.created_at FROM monitoring_outgoing o "
        f"WHERE o.business_id = $1 AND o.{column} = $2 AND o.created_at <= $3 "
        "AND o.created_at > $3::timestamptz - make_interval(hours => $4) "
        f"AND o.object_id IS DISTINCT FROM $5{band} "
        "ORDER BY o.created_at DESC LIMIT 20",
        *args,
    )
    return [
        {
            "kind": r["object_kind"],
            "id": r["object_id"],
            "amount": r["amount"],
            "at": r["created_at"].isoformat(),
        }
        for r in rows
    ]


async def raise_alerts(
    op: Operation, matches: Sequence[Match], *, refused_reference: str | None = None
) -> list[str]:
    """Write one alert per matched rule (once per rule and operation), emit `alert.created` and queue the
    e-mails, in one transaction. Returns the new alert ids."""
    if not matches:
        return []
    rows = []
    for match in matches:
        evidence: list[dict[str, Any]] = []
        if op.object_id is not None:
            evidence.append(
                {"kind": op.kind, "id": op.object_id, "amount": op.amount, "at": op.at.isoformat()}
            )
        elif refused_reference:
            evidence.append(
                {"kind": "refused", "id": refused_reference, "amount": op.amount, "at": op.at.isoformat()}
            )
        evidence += await _related(op, match)
        rows.append((new_id("alr"), match, evidence))
    created: list[asyncpg.Record] = []
    async with transaction():
        for alert_id, match, evidence in rows:
            row = await sql.fetchrow(
                "INSERT INTO monitoring_alert (business_id, id, rule_id, rule_kind, rule_name, severity, "
                "action, "
                "account_id, object_kind, object_id, amount, currency, evidence, created_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, $14) "
                f"ON CONFLICT DO NOTHING RETURNING {ALERT_COLUMNS}",
                op.business_id,
                alert_id,
                match.rule_id,
                match.kind,
                match.name,
                match.severity,
                match.action,
                op.account_id,
                op.kind,
                op.object_id,
                op.amount,
                op.currency,
                json.dumps(evidence),
                clock.now(),
            )
            if row is not None:
                created.append(row)
        for row in created:
            out = alert_out(row)
            await emit(
                op.business_id,
                "alert.created",
                _event_data(out),
                account_ids=(op.account_id,) if op.account_id else (),
            )
        await _mail(op.business_id, created)
    return [r["id"] for r in created]


def _event_data(out: AlertOut) -> dict[str, Any]:
    import msgspec

    data: dict[str, Any] = msgspec.to_builtins(out)
    data.pop("notes", None)
    return data


async def _mail(business_id: str, created: Sequence[asyncpg.Record]) -> None:
    if not created:
        return
    settings = await sql.fetchrow(
        "SELECT s.recipients, b.default_language, b.name FROM monitoring_settings s "
        "JOIN business b ON b.id = s.business_id WHERE s.business_id = $1",
        business_id,
    )
    if settings is None or not settings["recipients"]:
        return
    from portal.domains.identity import mail

    mail.TEMPLATES.add(MAIL_TEMPLATE)
    for row in created:
        for to in settings["recipients"]:
            await mail.queue(
                MAIL_TEMPLATE,
                to=to,
                language=settings["default_language"] or "en",
                context={"alert": alert_out(row), "business_name": settings["name"]},
                business_id=business_id,
            )


async def raise_blocked(outgoing: Outgoing, matches: Sequence[Match], at: datetime) -> list[str]:
    """Alerts for an operation a rule refused, committed on their own (the caller's transaction, if
    any, rolls back with the refusal)."""
    op = Operation(
        outgoing.business_id,
        outgoing.kind,
        outgoing.account_id,
        outgoing.amount,
        outgoing.currency,
        at,
        None,
        outgoing.beneficiary_id,
    )
    task = asyncio.get_running_loop().create_task(
        raise_alerts(op, matches, refused_reference=outgoing.reference or "-"), context=contextvars.Context()
    )
    return await task


# --- the queue ----------------------------------------------------------------------------------


def _scope(actor: Actor, args: list[Any], alias: str = "a") -> str:
    if not actor.scope_account_id:
        return ""
    args.append(f"%/{actor.scope_account_id}/%")
    return (
        f" AND EXISTS (SELECT 1 FROM account ac WHERE ac.business_id = {alias}.business_id "
        f"AND ac.id = {alias}.account_id AND ac.path LIKE ${len(args)})"
    )


def _not_found(alert_id: str) -> NotFound:
    return NotFound(N_("Alert %(id)s was not found."), params={"id": alert_id}, code="not_found")


async def _alert_row(actor: Actor, alert_id: str, *, lock: bool = False) -> asyncpg.Record:
    args: list[Any] = [actor.business_id, alert_id]
    scope = _scope(actor, args)
    row = await sql.fetchrow(
        f"SELECT {', '.join('a.' + c.strip() for c in ALERT_COLUMNS.split(','))} FROM monitoring_alert a "
        f"WHERE a.business_id = $1 AND a.id = $2{scope}{' FOR UPDATE OF a' if lock else ''}",
        *args,
    )
    if row is None:
        raise _not_found(alert_id)
    return row


def _choice(value: str | None, allowed: Sequence[str], pointer: str) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise ValidationFailed(
            N_("Unknown value %(value)s."),
            params={"value": value},
            code="invalid_filter",
            errors=[FieldError(pointer, N_("not one of the choices"))],
        )
    return value


async def list_alerts(
    actor: Actor,
    *,
    status: str | None = None,
    severity: str | None = None,
    rule_kind: str | None = None,
    account_id: str | None = None,
    assignee_id: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> AlertPage:
    """Alerts in the actor's scope, newest first, filtered, cursor-paginated."""
    from portal.domains.monitoring.services.kinds import KINDS, SEVERITIES

    actor.require("monitoring")
    size = clamp_limit(limit)
    args: list[Any] = [actor.business_id]
    where = ["a.business_id = $1"]
    for column, value, allowed in (
        ("status", status, STATUSES),
        ("severity", severity, SEVERITIES),
        ("rule_kind", rule_kind, tuple(KINDS)),
    ):
        chosen = _choice(value, allowed, f"/{column}")
        if chosen:
            args.append(chosen)
            where.append(f"a.{column} = ${len(args)}")
    if account_id:
        await accounts.get_account_row(actor, account_id)
        args.append(account_id)
        where.append(f"a.account_id = ${len(args)}")
    if assignee_id:
        args.append(assignee_id)
        where.append(f"a.assignee_id = ${len(args)}")
    cursor = decode_cursor(after)
    if cursor is not None:
        args.append(str(cursor))
        where.append(f"a.id < ${len(args)}")
    scope = _scope(actor, args)
    args.append(size + 1)
    rows = await sql.fetch(
        f"SELECT {', '.join('a.' + c.strip() for c in ALERT_COLUMNS.split(','))} FROM monitoring_alert a "
        f"WHERE {' AND '.join(where)}{scope} ORDER BY a.id DESC LIMIT ${len(args)}",
        *args,
    )
    page = rows[:size]
    next_cursor = encode_cursor(page[-1]["id"]) if len(rows) > size else None
    return AlertPage([alert_out(r) for r in page], next_cursor is not None, next_cursor)


async def get_alert(actor: Actor, alert_id: str) -> AlertOut:
    """One alert of the business (in the actor's scope) with its notes."""
    actor.require("monitoring")
    row = await _alert_row(actor, alert_id)
    notes = await sql.fetch(
        "SELECT id, author_name, body, created_at FROM monitoring_alert_note "
        "WHERE business_id = $1 AND alert_id = $2 ORDER BY created_at, id",
        actor.business_id,
        alert_id,
    )
    return alert_out(row, notes)


async def open_count(actor: Actor) -> int:
    """Open alerts the actor can see (the sidebar's badge)."""
    if not actor.can("monitoring"):
        return 0
    args: list[Any] = [actor.business_id]
    scope = _scope(actor, args)
    return int(
        await sql.fetchval(
            f"SELECT count(*) FROM monitoring_alert a WHERE a.business_id = $1 AND a.status = 'open'{scope}",
            *args,
        )
    )


def _note_text(note: str | None, pointer: str = "/note") -> str | None:
    text = (note or "").strip()
    if not text:
        return None
    if len(text) > 2000:
        raise ValidationFailed(
            N_("A note holds at most 2,000 characters."),
            code="invalid_note",
            errors=[FieldError(pointer, N_("too long"))],
        )
    return text


async def _add_note(actor: Actor, alert_id: str, body: str) -> None:
    await sql.execute(
        "INSERT INTO monitoring_alert_note (business_id, id, alert_id, author_id, author_name, body, "
        "created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        actor.business_id,
        new_id("aln"),
        alert_id,
        actor.user_id or actor.api_key_id,
        actor.name,
        body,
        clock.now(),
    )


async def acknowledge(actor: Actor, alert_id: str, note: str | None = None) -> AlertOut:
    """Someone is looking at it: open → acknowledged (a resolved alert stays resolved)."""
    actor.require("monitoring", "manage")
    text = _note_text(note)
    async with transaction():
        row = await _alert_row(actor, alert_id, lock=True)
        if row["status"] == "resolved":
            raise Conflict(
                N_("Alert %(id)s is already resolved."), params={"id": alert_id}, code="alert_resolved"
            )
        if row["status"] == "open":
            await sql.execute(
                "UPDATE monitoring_alert SET status = 'acknowledged', acknowledged_at = $3, "
                "acknowledged_by = $4, "
                "assignee_id = coalesce(assignee_id, $5) WHERE business_id = $1 AND id = $2",
                actor.business_id,
                alert_id,
                clock.now(),
                actor.name,
                actor.user_id,
            )
        if text:
            await _add_note(actor, alert_id, text)
        await record(actor, "alert.acknowledged", f"Acknowledged alert {alert_id}", refs=_refs(row))
    return await get_alert(actor, alert_id)


async def resolve(actor: Actor, alert_id: str, note: str | None = None) -> AlertOut:
    """Close it with what was found (kept as its resolution)."""
    actor.require("monitoring", "manage")
    text = _note_text(note)
    async with transaction():
        row = await _alert_row(actor, alert_id, lock=True)
        if row["status"] == "resolved":
            raise Conflict(
                N_("Alert %(id)s is already resolved."), params={"id": alert_id}, code="alert_resolved"
            )
        now = clock.now()
        await sql.execute(
            "UPDATE monitoring_alert SET status = 'resolved', resolved_at = $3, resolved_by = $4, "
            "resolution = $5, acknowledged_at = coalesce(acknowledged_at, $3), "
            "acknowledged_by = coalesce(acknowledged_by, $4) "
            "WHERE business_id = $1 AND id = $2",
            actor.business_id,
            alert_id,
            now,
            actor.name,
            text,
        )
        if text:
            await _add_note(actor, alert_id, text)
        await record(actor, "alert.resolved", f"Resolved alert {alert_id}", refs=_refs(row))
    return await get_alert(actor, alert_id)


async def assign(actor: Actor, alert_id: str, assignee_id: str | None) -> AlertOut:
    """Give it to a user of the business (None: nobody)."""
    actor.require("monitoring", "manage")
    async with transaction():
        row = await _alert_row(actor, alert_id, lock=True)
        if assignee_id:
            known = await sql.fetchval(
                "SELECT 1 FROM app_user WHERE business_id = $1 AND id = $2", actor.business_id, assignee_id
            )
            if not known:
                raise ValidationFailed(
                    N_("User %(id)s was not found."),
                    params={"id": assignee_id},
                    code="unknown_user",
                    errors=[FieldError("/assignee_id", N_("not found"))],
                )
        await sql.execute(
            "UPDATE monitoring_alert SET assignee_id = $3 WHERE business_id = $1 AND id = $2",
            actor.business_id,
            alert_id,
            assignee_id or None,
        )
        await record(actor, "alert.assigned", f"Assigned alert {alert_id}", refs=_refs(row))
    return await get_alert(actor, alert_id)


async def add_note(actor: Actor, alert_id: str, body: str) -> AlertOut:
    """A note on the alert, signed by the actor."""
    actor.require("monitoring", "manage")
    text = _note_text(body, "/body")
    if text is None:
        raise ValidationFailed(
            N_("The note is empty."), code="invalid_note", errors=[FieldError("/body", N_("required"))]
        )
    async with transaction():
        await _alert_row(actor, alert_id, lock=True)
        await _add_note(actor, alert_id, text)
    return await get_alert(actor, alert_id)


async def freeze_account(actor: Actor, alert_id: str) -> AlertOut:
    """Freeze the alert's account (nothing can be debited from it), noted on the alert."""
    actor.require("monitoring", "manage")
    row = await _alert_row(actor, alert_id)
    if not row["account_id"]:
        raise Conflict(N_("Alert %(id)s names no account."), params={"id": alert_id}, code="no_account")
    async with transaction():
        await accounts.set_status(actor, row["account_id"], "freeze")
        await _add_note(actor, alert_id, f"Account {row['account_id']} frozen.")
    return await get_alert(actor, alert_id)


def _refs(row: asyncpg.Record) -> dict[str, str]:
    refs = {"alert_id": row["id"]}
    if row["account_id"]:
        refs["account_id"] = row["account_id"]
    return refs


async def find_alert(actor: Actor, alert_id: str) -> None:
    """NotFound unless the alert exists in the actor's business and scope (routes check it first)."""
    await _alert_row(actor, alert_id)
