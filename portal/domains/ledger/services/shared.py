"""Helpers every ledger aggregate uses: input checks, fees, the activity log and notifications (deferred
to the batch inside a group commit), reference claims, account names and the object list query."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.accounts.labels import display_name
from portal.domains.ledger import engine
from portal.domains.ledger.refusals import Refusal, refuse
from portal.lib import screening, sql
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, ServiceUnavailable, ValidationFailed
from portal.lib.i18n import gettext
from portal.lib.money import check_amount
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor

# --- validation ---------------------------------------------------------------------------------


def valid_amount(value: Any, pointer: str = "/amount") -> int:
    """A positive amount in minor units, else 422 on `pointer`."""
    return check_amount(value, pointer=pointer)


def valid_reference(value: Any, pointer: str = "/reference") -> str:
    """The reference, stripped: required, at most 100 printable characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(
            gettext("A reference is required."), errors=[FieldError(pointer, gettext("required"))]
        )
    value = value.strip()
    if len(value) > 100 or any(ord(ch) < 32 for ch in value):
        raise ValidationFailed(
            gettext("A reference is at most 100 printable characters."),
            errors=[FieldError(pointer, gettext("invalid"))],
        )
    return value


def valid_description(value: Any, pointer: str = "/description") -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 500:
        raise ValidationFailed(
            gettext("A description is at most 500 characters."),
            errors=[FieldError(pointer, gettext("too long"))],
        )
    return value.strip()


def valid_metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 50 or len(json.dumps(value)) > 8000:
        raise ValidationFailed(
            gettext("metadata is an object of at most 50 keys and 8,000 characters."),
            errors=[FieldError("/metadata", gettext("invalid"))],
        )
    return value


def require_distinct(from_id: str, to_id: str, pointer: str = "") -> None:
    if from_id == to_id:
        raise refuse(Refusal.SAME_ACCOUNT, f"{pointer}/to_account_id", account_id=to_id)


async def business_fees(business_id: str) -> dict[str, int]:
    """The business's fee schedule (IDR minor units): identity owns it and fills any gap with its defaults."""
    from portal.domains.identity.services import get_business

    return dict((await get_business(business_id)).fees)


async def audit(actor: Actor, action: str, summary: str, refs: dict[str, str | None]) -> None:
    """One activity-log row: collected for the whole batch inside a group commit, else written now."""
    from portal.domains.audit.services import record

    clean = {k: v for k, v in refs.items() if v is not None}
    batch = engine.deferred()
    if batch is not None:
        batch.audits.append((actor, action, summary, clean))
        return
    await record(actor, action, summary, refs=clean, business_id=actor.business_id)


async def event(business_id: str, event_type: str, data: Any, account_ids: tuple[str, ...]) -> None:
    """One webhook event (`data` an API object): collected for the whole batch inside a group commit,
    else written in the current transaction. Call it before `audit` (the activity log locks last)."""
    import msgspec

    from portal.domains.webhooks.services import emit

    payload = data if isinstance(data, dict) else msgspec.to_builtins(data)
    batch = engine.deferred()
    if batch is not None:
        batch.events.append((business_id, event_type, payload, account_ids))
        return
    await emit(business_id, event_type, payload, account_ids=account_ids)


async def notify_account(
    business_id: str, account_id: str, kind: str, params: dict[str, Any], link: str
) -> None:
    from portal.domains.notifications.services import notify

    batch = engine.deferred()
    if batch is not None:
        batch.notifications.append((business_id, account_id, kind, params, link))
        return
    await notify(business_id, account_id, kind, params, link)


async def claim_reference(business_id: str, reference: str, object_id: str) -> None:
    """Register a money object's reference (unique per business forever) in the current transaction."""
    won = await sql.fetchval(
        "INSERT INTO ledger_reference (business_id, reference, object_id) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING RETURNING object_id",
        business_id,
        reference,
        object_id,
    )
    if won is None:
        raise engine.duplicate_reference(reference)


async def account_names(ids: list[str]) -> dict[str, str]:
    """Names as shown: system accounts by their translated role ("Biaya (IDR)")."""
    rows = await sql.fetch(
        "SELECT id, name, kind, system_role, currency FROM account WHERE id = ANY($1::text[])", ids
    )
    return {r["id"]: display_name(r["name"], r["kind"], r["system_role"], r["currency"]) for r in rows}


async def list_objects(
    actor: Actor,
    table: str,
    columns: str,
    account_id: str | None,
    status: str | None,
    statuses: tuple[str, ...],
    limit: int | None,
    after: str | None,
) -> tuple[list[asyncpg.Record], str | None]:
    size = clamp_limit(limit)
    args: list[Any] = [actor.business_id]
    where = ["o.business_id = $1"]
    if account_id:
        await accounts.get_account_row(actor, account_id)
        args.append(account_id)
        where.append(f"o.account_id = ${len(args)}")
    elif actor.scope_account_id:
        args.append(f"%/{actor.scope_account_id}/%")
        where.append(
            f"EXISTS (SELECT 1 FROM account a WHERE a.id = o.account_id AND a.path LIKE ${len(args)})"
        )
    if status:
        if status not in statuses:
            raise ValidationFailed(
                gettext("status is one of %(statuses)s.") % {"statuses": ", ".join(statuses)},
                errors=[FieldError("status", gettext("invalid"))],
            )
        args.append(status)
        where.append(f"o.status = ${len(args)}")
    cursor = decode_cursor(after)
    if cursor is not None:
        args.append(str(cursor))
        where.append(f"o.id < ${len(args)}")
    args.append(size + 1)
    cols = ", ".join("o." + c.strip() for c in columns.split(","))
    rows = await sql.fetch(
        f"SELECT {cols} FROM {table} o WHERE {' AND '.join(where)} ORDER BY o.id DESC LIMIT ${len(args)}",
        *args,
    )
    page = rows[:size]
    return page, encode_cursor(page[-1]["id"]) if len(rows) > size else None


async def screen_outgoing(actor: Actor, outgoing: screening.Outgoing) -> None:
    """Show money about to leave an account to the registered screens (monitoring); a block is refused
    with 422 `monitoring_blocked` before anything is written or held."""
    try:
        verdict = await screening.screen(actor, outgoing)
    except ServiceUnavailable as exc:
        # The database went away under the screen: the write path's readiness must say so too.
        engine.note_lost_connection(exc.__cause__ or exc)
        raise
    if verdict.blocks:
        raise refuse(Refusal.MONITORING_BLOCKED, None, rule=verdict.params.get("rule", ""))
