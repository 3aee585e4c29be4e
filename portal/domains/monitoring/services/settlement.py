"""Holding an account's settlement: while a hold is open, settlement batches skip the account and its
subtree (they call `is_settlement_held`), and release it later. Both are in the activity log."""

from __future__ import annotations

from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.audit.services import record
from portal.domains.monitoring.schemas import SettlementHoldOut
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict, FieldError, NotFound, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.sql import transaction

HOLD_COLUMNS = "id, account_id, alert_id, reason, held_at, held_by, released_at, released_by"


def hold_out(row: asyncpg.Record) -> SettlementHoldOut:
    return SettlementHoldOut(
        id=row["id"],
        account_id=row["account_id"],
        alert_id=row["alert_id"],
        reason=row["reason"],
        held_at=row["held_at"],
        held_by=row["held_by"],
        released_at=row["released_at"],
        released_by=row["released_by"],
    )


async def is_settlement_held(business_id: str, account_id: str) -> bool:
    """Whether the account's settlement waits: an open hold on it or on one of its ancestors."""
    return bool(
        await sql.fetchval(
            "SELECT EXISTS (SELECT 1 FROM settlement_hold h JOIN account a ON a.business_id = h.business_id "
            "AND a.id = $2 AND a.path LIKE '%/' || h.account_id || '/%' "
            "WHERE h.business_id = $1 AND h.released_at IS NULL)",
            business_id,
            account_id,
        )
    )


async def first_held(business_id: str, account_ids: list[str]) -> str | None:
    """Of `account_ids`, the first (by id) whose settlement waits (an open hold on it or on one of its
    ancestors), or None: one statement for a whole settlement batch."""
    found = await sql.fetchval(
        "SELECT a.id FROM account a WHERE a.business_id = $1 AND a.id = ANY($2::text[]) AND EXISTS ("
        "SELECT 1 FROM settlement_hold h WHERE h.business_id = a.business_id AND h.released_at IS NULL "
        "AND a.path LIKE '%/' || h.account_id || '/%') ORDER BY a.id LIMIT 1",
        business_id,
        account_ids,
    )
    return str(found) if found is not None else None


async def held_accounts(business_id: str) -> list[str]:
    """The accounts with an open hold (settlement batches skip their subtrees)."""
    rows = await sql.fetch(
        "SELECT account_id FROM settlement_hold WHERE business_id = $1 AND released_at IS NULL "
        "ORDER BY held_at",
        business_id,
    )
    return [r["account_id"] for r in rows]


async def hold_settlement(
    actor: Actor, account_id: str, *, reason: str = "", alert_id: str | None = None
) -> SettlementHoldOut:
    """Hold the account's settlement until released (409 `settlement_held` if it already is)."""
    actor.require("monitoring", "manage")
    text = (reason or "").strip()
    if len(text) > 500:
        raise ValidationFailed(
            N_("The reason holds at most 500 characters."),
            code="invalid_reason",
            errors=[FieldError("/reason", N_("too long"))],
        )
    account = await accounts.get_account_row(actor, account_id)
    if account.kind == "system":
        raise NotFound(N_("Account %(id)s was not found."), params={"id": account_id}, code="not_found")
    async with transaction():
        if alert_id is not None:
            known = await sql.fetchval(
                "SELECT 1 FROM monitoring_alert WHERE business_id = $1 AND id = $2",
                actor.business_id,
                alert_id,
            )
            if not known:
                raise NotFound(N_("Alert %(id)s was not found."), params={"id": alert_id}, code="not_found")
        row = await sql.fetchrow(
            "INSERT INTO settlement_hold (business_id, id, account_id, alert_id, reason, held_at, held_by) "
            f"VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING {HOLD_COLUMNS}",
            actor.business_id,
            new_id("shd"),
            account.id,
            alert_id,
            text,
            clock.now(),
            actor.name,
        )
        if row is None:
            raise Conflict(
                N_("The settlement of account %(id)s is already held."),
                params={"id": account.id},
                code="settlement_held",
            )
        refs: dict[str, Any] = {"account_id": account.id, "settlement_hold_id": row["id"]}
        if alert_id:
            refs["alert_id"] = alert_id
        await record(actor, "settlement.held", f"Held the settlement of {account.name}", refs=refs)
    return hold_out(row)


async def release_settlement(actor: Actor, account_id: str) -> SettlementHoldOut:
    """Release the account's open settlement hold (404 if there is none)."""
    actor.require("monitoring", "manage")
    account = await accounts.get_account_row(actor, account_id)
    async with transaction():
        row = await sql.fetchrow(
            "UPDATE settlement_hold SET released_at = $3, released_by = $4 "
            "WHERE business_id = $1 AND account_id = $2 AND released_at IS NULL "
            f"RETURNING {HOLD_COLUMNS}",
            actor.business_id,
            account.id,
            clock.now(),
            actor.name,
        )
        if row is None:
            raise NotFound(
                N_("The settlement of account %(id)s is not held."),
                params={"id": account.id},
                code="not_held",
            )
        await record(
            actor,
            "settlement.released",
            f"Released the settlement of {account.name}",
            refs={"account_id": account.id, "settlement_hold_id": row["id"]},
        )
    return hold_out(row)


async def list_holds(actor: Actor, *, include_released: bool = False) -> list[SettlementHoldOut]:
    """Settlement holds of accounts in the actor's scope, newest first."""
    actor.require("monitoring")
    args: list[Any] = [actor.business_id]
    where = "h.business_id = $1" + ("" if include_released else " AND h.released_at IS NULL")
    if actor.scope_account_id:
        args.append(f"%/{actor.scope_account_id}/%")
        where += (
            " AND EXISTS (SELECT 1 FROM account a WHERE a.business_id = h.business_id "
            "AND a.id = h.account_id "
            f"AND a.path LIKE ${len(args)})"
        )
    rows = await sql.fetch(
        f"SELECT {HOLD_COLUMNS} FROM settlement_hold h WHERE {where} ORDER BY h.held_at DESC LIMIT 200", *args
    )
    return [hold_out(r) for r in rows]
