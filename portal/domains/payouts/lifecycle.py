"""Payouts `po_…`: money sent from an account to a beneficiary (or, for a withdrawal, to the account's
own bank account) over a rail.

Amount and fee are held at creation. States: awaiting_approval → scheduled → submitted → succeeded |
failed, succeeded → reversed; rejected or cancelled before submission. Success posts the holds (the
balance is debited), failure, rejection and cancellation void them (the money is available again at
once), a reversal books the money back by a reversal transfer. The provider's callbacks and status
queries drive the states after submission; an unknown outcome stays `submitted` until a status query
settles it, so a payout is never both refunded and paid.

Lock order: the payout row, then (through the ledger) its holds and accounts, then the activity log.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog

from portal.domains.accounts import services as accounts
from portal.domains.identity import idempotency
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation
from portal.domains.ledger.refusals import Refusal
from portal.domains.ledger.services.holds import hold_legs_committed, resolve_hold, resolve_holds
from portal.domains.ledger.services.shared import audit, claim_reference, event, notify_account
from portal.domains.payouts import services
from portal.domains.payouts.router import WIB, NoRail, Rail, eta, route
from portal.domains.payouts.schemas import PayoutOut, PayoutPage
from portal.domains.provider import gateway
from portal.domains.provider import services as provider
from portal.domains.provider.gateway import (
    PayoutRequest,
    ProviderConflict,
    ProviderError,
    ProviderNotFound,
    ProviderOutcomeUnknown,
    ProviderRefused,
)
from portal.lib import clock, screening, security, sql
from portal.lib.actor import Actor, system_actor
from portal.lib.errors import Amount, Conflict, FieldError, NeracaError, NotFound, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.jobs import enqueue
from portal.lib.sql import transaction
from portal.settings import get_settings

log = structlog.get_logger("neraca.payouts")

PAYOUT_COLUMNS = (
    "business_id, id, account_id, kind, beneficiary_id, withdrawal_id, destination_kind, bank_code, wallet, "
    "account_number, holder_name, rail, provider_rail, amount, fee, currency, reference, description, "
    "status, approval_reason, screening_code, amount_hold_id, fee_hold_id, process_at, eta, created_by, "
    "created_by_name, approved_by, approved_by_name, approved_at, rejected_by, rejection_reason, "
    "provider_payout_id, bank_reference, failure_code, verification_code, reversal_transfer_id, "
    "submitted_at, completed_at, reversed_at, created_at"
)
STATUSES = (
    "awaiting_approval",
    "scheduled",
    "submitted",
    "succeeded",
    "failed",
    "reversed",
    "rejected",
    "cancelled",
)
# A submitted payout without news for this long is asked about (a lost callback, an unknown outcome).
STATUS_QUERY_AFTER = timedelta(minutes=2)


def payout_out(row: asyncpg.Record | dict[str, Any]) -> PayoutOut:
    return PayoutOut(
        id=row["id"],
        account_id=row["account_id"],
        kind=row["kind"],
        beneficiary_id=row["beneficiary_id"],
        withdrawal_id=row["withdrawal_id"],
        destination_kind=row["destination_kind"],
        bank_code=row["bank_code"],
        wallet=row["wallet"],
        account_number=services.mask(row["account_number"]),
        holder_name=row["holder_name"],
        rail=row["rail"],
        amount=int(row["amount"]),
        fee=int(row["fee"]),
        total=int(row["amount"]) + int(row["fee"]),
        currency=row["currency"],
        reference=row["reference"],
        description=row["description"],
        status=row["status"],
        approval_reason=row["approval_reason"],
        eta=row["eta"],
        process_at=row["process_at"],
        bank_reference=row["bank_reference"],
        failure_code=row["failure_code"],
        created_by_name=row["created_by_name"],
        approved_by_name=row["approved_by_name"],
        created_at=row["created_at"],
        submitted_at=row["submitted_at"],
        completed_at=row["completed_at"],
        reversed_at=row["reversed_at"],
        verification_code=row["verification_code"],
    )


# --- settings -----------------------------------------------------------------------------------


async def approval_threshold(business_id: str) -> int | None:
    """Payouts above this amount need another user's approval (None: no threshold)."""
    row = await sql.fetchrow(
        "SELECT approval_threshold FROM payout_settings WHERE business_id = $1", business_id
    )
    if row is None:
        return services.DEFAULT_APPROVAL_THRESHOLD
    value = row["approval_threshold"]
    return None if value is None else int(value)


async def set_approval_threshold(actor: Actor, amount: Any) -> int | None:
    """Change the business's maker-checker threshold (empty: only reviews and batches need approval)."""
    return (await services.update_settings(actor, {"approval_threshold": amount})).approval_threshold


# --- reading --------------------------------------------------------------------------------------


def _not_found(payout_id: str) -> NotFound:
    return NotFound(
        N_("Payout %(id)s was not found."),
        params={"id": payout_id[:40]},
        errors=[FieldError("/payout_id", N_("not found"))],
    )


async def _row(actor: Actor, payout_id: str, *, lock: bool = False) -> asyncpg.Record:
    if not services.is_id(payout_id, "po"):
        raise _not_found(payout_id)
    row = await sql.fetchrow(
        f"SELECT {PAYOUT_COLUMNS} FROM payout WHERE business_id = $1 AND id = $2"
        + (" FOR UPDATE" if lock else ""),
        actor.business_id,
        payout_id,
    )
    if row is None:
        raise _not_found(payout_id)
    try:
        await accounts.get_account_row(actor, row["account_id"])
    except NotFound:
        raise _not_found(payout_id) from None
    return row


async def find_payout(actor: Actor, payout_id: str) -> None:
    """NotFound unless the actor may see the payout (no rights check: the route's guard does that)."""
    await _row(actor, payout_id)


async def get_payout(actor: Actor, payout_id: str) -> PayoutOut:
    """One payout of the actor's business and scope."""
    actor.require("payouts", "view")
    return payout_out(await _row(actor, payout_id))


async def list_payouts(
    actor: Actor,
    *,
    status: str | None = None,
    account_id: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> PayoutPage:
    """Payouts in scope, newest first, cursor-paginated by id."""
    actor.require("payouts", "view")
    size = 50 if limit is None else limit
    if not isinstance(size, int) or not 1 <= size <= 200:
        raise ValidationFailed(
            N_("limit must be between 1 and 200."),
            code="invalid_limit",
            errors=[FieldError("/limit", N_("1 to 200"))],
        )
    if status is not None and status not in STATUSES:
        raise ValidationFailed(
            N_("Unknown status %(status)s."),
            params={"status": status[:30]},
            code="invalid_status",
            errors=[FieldError("/status", N_("unknown status"))],
        )
    for name, value in (("account_id", account_id), ("after", after)):
        if value and not services.is_id(value):
            raise ValidationFailed(
                N_("%(name)s is not an id."),
                params={"name": name},
                code="invalid_id",
                errors=[FieldError(f"/{name}", N_("not an id"))],
            )
    args: list[Any] = [actor.business_id]
    where = "p.business_id = $1"
    if actor.scope_account_id:
        args.append(f"%/{actor.scope_account_id}/%")
        where += f" AND a.path LIKE ${len(args)}"
    if status:
        args.append(status)
        where += f" AND p.status = ${len(args)}"
    if account_id:
        args.append(account_id)
        where += f" AND p.account_id = ${len(args)}"
    if after:
        args.append(after)
        where += f" AND p.id < ${len(args)}"
    args.append(size + 1)
    columns = ", ".join(f"p.{c.strip()}" for c in PAYOUT_COLUMNS.split(","))
    rows = await sql.fetch(
        f"SELECT {columns} FROM payout p "
        "JOIN account a ON a.id = p.account_id AND a.business_id = p.business_id "
        f"WHERE {where} ORDER BY p.id DESC LIMIT ${len(args)}",
        *args,
    )
    data = [payout_out(r) for r in rows[:size]]
    more = len(rows) > size
    return PayoutPage(data, more, data[-1].id if more and data else None)


async def count_awaiting_approval(actor: Actor) -> int:
    """How many payouts in the actor's scope await approval (the sidebar's count)."""
    args: list[Any] = [actor.business_id]
    where = "p.business_id = $1 AND p.status = 'awaiting_approval' AND p.batch_id IS NULL"
    if actor.scope_account_id:
        args.append(f"%/{actor.scope_account_id}/%")
        where += " AND a.path LIKE $2"
    batches = await sql.fetchval(
        "SELECT count(*) FROM payout_batch WHERE business_id = $1 AND status = 'submitted'", actor.business_id
    )
    return int(batches or 0) + int(
        await sql.fetchval(
            "SELECT count(*) FROM payout p "
            f"JOIN account a ON a.id = p.account_id AND a.business_id = p.business_id WHERE {where}",
            *args,
        )
        or 0
    )


# --- creating -------------------------------------------------------------------------------------


def _rail_of(rails: list[Rail], code: str) -> Rail:
    return next(r for r in rails if r.code == code)


def _refused_rail(refused: NoRail, rail: str | None, destination: str) -> ValidationFailed:
    pointer, message, short = services.NO_RAIL[refused.reason]
    limit = 0
    if refused.rail is not None:
        limit = refused.rail.min_amount if refused.reason == "below_minimum" else refused.rail.max_amount
    return ValidationFailed(
        message,
        params={"rail": rail or "", "destination": destination, "limit": Amount(limit, "IDR")},
        code=f"rail_{refused.reason}",
        errors=[FieldError(pointer, short)],
    )


def _holds(
    account_id: str, world: str, fees: str, amount: int, fee: int, reference: str
) -> list[tuple[Leg, str, datetime | None]]:
    """The amount held for the bank (account → world) and the fee held for the fees account."""
    amount_hold = new_id("hld")
    holds: list[tuple[Leg, str, datetime | None]] = [
        (
            Leg(
                account_id,
                world,
                amount,
                kind="payout",
                phase="pending",
                hold_id=amount_hold,
                description=reference,
            ),
            amount_hold,
            None,
        )
    ]
    if fee:
        fee_hold = new_id("hld")
        leg = Leg(
            account_id,
            fees,
            fee,
            kind="fee",
            phase="pending",
            hold_id=fee_hold,
            description=f"Payout fee {reference}",
        )
        holds.append((leg, fee_hold, None))
    return holds


async def create_payout(
    actor: Actor,
    *,
    beneficiary_id: str,
    amount: Any,
    reference: Any,
    rail: str | None = None,
    description: Any = None,
    batch: bool = False,
) -> PayoutOut:
    """Pay `amount` to a beneficiary: screened, routed (the cheapest eligible rail, or `rail`), amount +
    fee held at once; above the business's threshold (or on monitoring's review) it awaits approval,
    otherwise it is scheduled and submitted when its rail is open."""
    actor.require("payouts", "manage")
    value = services.positive_amount(amount)
    ref = services.valid_reference(reference)
    text = services.optional_text(description, "/description", 140)
    request = {
        "beneficiary_id": str(beneficiary_id or ""),
        "amount": value,
        "description": text,
        "rail": rail,
    }
    if not batch and (earlier := await _earlier_payout(actor, ref, request)) is not None:
        return earlier  # a retry whose first answer was lost: nothing is screened, held or sent again
    now = clock.now()
    beneficiary = await services.usable_beneficiary(actor, str(beneficiary_id or ""), now=now)
    destination = "bank" if beneficiary.kind == "bank" else str(beneficiary.wallet)
    rails = await services.load_rails(actor.business_id)
    calendar = await services.load_calendar()
    try:
        quote = route(rails, value, destination, now, calendar, rail_code=rail or None)
    except NoRail as refused:
        raise _refused_rail(refused, rail, destination) from None
    account = await accounts.get_account_row(actor, beneficiary.account_id)
    verdict = await screening.screen(
        actor,
        screening.Outgoing(
            kind="payout",
            business_id=actor.business_id,
            account_id=account.id,
            amount=value,
            currency=account.currency,
            beneficiary_id=beneficiary.id,
            reference=ref,
        ),
    )
    if verdict.action == "block":
        raise ValidationFailed(
            verdict.message or N_("This payout was blocked by transaction monitoring."),
            params=verdict.params,
            code=verdict.code or "monitoring_blocked",
        )
    threshold = await approval_threshold(actor.business_id)
    reason = None
    if batch:
        reason = "batch"
    elif verdict.action == "review":
        reason = "review"
    elif threshold is not None and value > threshold:
        reason = "threshold"
    return await _insert(
        actor,
        account_id=account.id,
        currency=account.currency,
        destination={
            "beneficiary_id": beneficiary.id,
            "destination_kind": beneficiary.kind,
            "bank_code": beneficiary.bank_code,
            "wallet": beneficiary.wallet,
            "account_number": beneficiary.account_number,
            "holder_name": beneficiary.holder_name,
        },
        rail=quote.rail,
        fee=quote.fee,
        eta_at=quote.eta.settles_at,
        amount=value,
        reference=ref,
        description=text,
        approval_reason=reason,
        screening_code=verdict.code or None,
        request=None if batch else request,
    )


async def _earlier_payout(actor: Actor, reference: str, request: dict[str, Any]) -> PayoutOut | None:
    """The payout this very request created before, when its reference is taken by one: the payout the
    request's earlier attempt booked (its Request-Id claim says so), or one with the same beneficiary,
    amount, description and rail (the same reference and body sent again). None otherwise, so the
    reference stays `duplicate_reference`; a payout outside the actor's scope never replays."""
    row = await sql.fetchrow(
        f"SELECT {PAYOUT_COLUMNS}, batch_id FROM payout "
        "WHERE business_id = $1 AND reference = $2 AND kind = 'payout'",
        actor.business_id,
        reference,
    )
    if row is None or row["batch_id"] is not None:
        return None
    same = (
        row["beneficiary_id"] == request["beneficiary_id"]
        and int(row["amount"]) == request["amount"]
        and (row["description"] or "") == request["description"]
        and (not request["rail"] or row["rail"] == request["rail"])
    )
    if not (same or idempotency.booked_earlier(row["id"])):
        return None
    try:
        await accounts.get_account_row(actor, row["account_id"])
    except NotFound:
        return None
    return payout_out(row)


async def _insert(
    actor: Actor,
    *,
    account_id: str,
    currency: str,
    destination: dict[str, Any],
    rail: Rail,
    fee: int,
    eta_at: Any,
    amount: int,
    reference: str,
    description: str,
    approval_reason: str | None,
    screening_code: str | None,
    kind: str = "payout",
    withdrawal: tuple[str, str, str | None] | None = None,
    payout_id: str | None = None,
    batch_id: str | None = None,
    request: dict[str, Any] | None = None,
) -> PayoutOut:
    """Write the payout with its holds (or, for a withdrawal, the withdrawal's holds) in one transaction.
    With `request` (a single payout's create), a reference taken meanwhile by the same request replays."""
    try:
        return await _write_payout(
            actor,
            account_id=account_id,
            currency=currency,
            destination=destination,
            rail=rail,
            fee=fee,
            eta_at=eta_at,
            amount=amount,
            reference=reference,
            description=description,
            approval_reason=approval_reason,
            screening_code=screening_code,
            kind=kind,
            withdrawal=withdrawal,
            payout_id=payout_id,
            batch_id=batch_id,
        )
    except NeracaError as refused:
        if request is None or refused.code != Refusal.DUPLICATE_REFERENCE.value:
            raise
        # Two attempts of one request raced for the reference: the loser answers with the winner's payout.
        earlier = await _earlier_payout(actor, reference, request)
        if earlier is None:
            raise
        return earlier


async def _write_payout(
    actor: Actor,
    *,
    account_id: str,
    currency: str,
    destination: dict[str, Any],
    rail: Rail,
    fee: int,
    eta_at: Any,
    amount: int,
    reference: str,
    description: str,
    approval_reason: str | None,
    screening_code: str | None,
    kind: str,
    withdrawal: tuple[str, str, str | None] | None,
    payout_id: str | None,
    batch_id: str | None,
) -> PayoutOut:
    payout_id = payout_id or new_id("po")
    status = "awaiting_approval" if approval_reason else "scheduled"
    async with transaction():
        if withdrawal is None:
            await claim_reference(actor.business_id, reference, payout_id)
            world = await accounts.system_account_id(actor.business_id, currency, "world")
            fees = await accounts.system_account_id(actor.business_id, currency, "fees")
            holds = _holds(account_id, world, fees, amount, fee, reference)
            await engine.execute(
                Operation(
                    actor.business_id,
                    [leg for leg, _, _ in holds],
                    source_id=payout_id,
                    # The request's claim records the payout (not its hold) as what it booked.
                    reference_object_id=payout_id,
                    scope_account_id=actor.scope_account_id,
                    internal=True,
                    on_commit=hold_legs_committed(holds, reference, actor.business_id),
                )
            )
            amount_hold, fee_hold = holds[0][1], (holds[1][1] if len(holds) > 1 else None)
            withdrawal_id = None
        else:
            withdrawal_id, amount_hold, fee_hold = withdrawal
        row = await sql.fetchrow(
            "INSERT INTO payout (business_id, id, account_id, kind, beneficiary_id, withdrawal_id, "
            "destination_kind, bank_code, wallet, account_number, holder_name, rail, provider_rail, amount, "
            "fee, "
            "currency, reference, description, status, approval_reason, screening_code, amount_hold_id, "
            "fee_hold_id, process_at, eta, created_by, created_by_name, batch_id) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
            "$9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, "
            "$28) "
            f"RETURNING {PAYOUT_COLUMNS}",
            actor.business_id,
            payout_id,
            account_id,
            kind,
            destination.get("beneficiary_id"),
            withdrawal_id,
            destination["destination_kind"],
            destination.get("bank_code"),
            destination.get("wallet"),
            destination["account_number"],
            destination["holder_name"],
            rail.code,
            rail.provider_rail,
            amount,
            fee,
            currency,
            reference,
            description,
            status,
            approval_reason,
            screening_code,
            amount_hold,
            fee_hold,
            _process_at(eta_at, rail),
            eta_at,
            actor.user_id,
            actor.name,
            batch_id,
        )
        assert row is not None
        if status == "scheduled":
            await _scheduled(row)
        await audit(
            actor,
            "payout.created",
            f"Payout {reference} of {amount} to {destination['holder_name']} "
            f"({services.mask(destination['account_number'])}), {status}",
            {"payout_id": payout_id, "account_id": account_id, "reference": reference},
        )
    return payout_out(row)


async def insert_batch_payouts(
    actor: Actor, *, account_id: str, currency: str, batch_id: str, rows: list[dict[str, Any]]
) -> list[str]:
    """A batch's rows as payouts awaiting approval, set-based, inside the caller's transaction: every
    reference claimed in one statement, every row's amount and fee held through one engine call with all
    the operations (applied in order, so the account's balance covers them all or the first one it does
    not cover refuses the whole batch), every payout written in one INSERT, one activity entry each.
    `rows`: reference, amount, fee, rail (a `Rail`), destination (as for a payout), description.
    Returns the payout ids in the rows' order."""
    from portal.domains.audit.services import record_many

    business_id = actor.business_id
    now = clock.now()
    calendar = await services.load_calendar()
    settles: dict[str, datetime] = {}
    for row in rows:
        rail = row["rail"]
        if rail.code not in settles:
            settles[rail.code] = eta(rail, now, calendar).settles_at
    ids = [new_id("po") for _ in rows]
    references = [row["reference"] for row in rows]
    won = {
        r["reference"]
        for r in await sql.fetch(
            "INSERT INTO ledger_reference (business_id, reference, object_id) "
            "SELECT $1, r.reference, r.object_id "
            "FROM unnest($2::text[], $3::text[]) AS r(reference, object_id) "
            "ON CONFLICT DO NOTHING RETURNING reference",
            business_id,
            references,
            ids,
        )
    }
    taken = [reference for reference in references if reference not in won]
    if taken:
        raise engine.duplicate_reference(taken[0])
    world = await accounts.system_account_id(business_id, currency, "world")
    fees = await accounts.system_account_id(business_id, currency, "fees")
    claim = idempotency.current()
    ops = []
    hold_ids: list[tuple[str, str | None]] = []
    for payout_id, row in zip(ids, rows, strict=True):
        holds = _holds(account_id, world, fees, row["amount"], row["fee"], row["reference"])
        ops.append(
            Operation(
                business_id,
                [leg for leg, _, _ in holds],
                source_id=payout_id,
                reference_object_id=payout_id,
                scope_account_id=actor.scope_account_id,
                internal=True,
                on_commit=hold_legs_committed(holds, row["reference"], business_id),
                claim=claim,
            )
        )
        hold_ids.append((holds[0][1], holds[1][1] if len(holds) > 1 else None))
    for result in await engine.run_in_transaction(ops):
        if isinstance(result, NeracaError):
            raise result  # the caller's transaction rolls back: nothing of the batch is held
    destinations = [row["destination"] for row in rows]
    await sql.execute(
        "INSERT INTO payout (business_id, id, account_id, kind, destination_kind, bank_code, wallet, "
        "account_number, holder_name, rail, provider_rail, amount, fee, currency, reference, description, "
        "status, approval_reason, amount_hold_id, fee_hold_id, process_at, eta, created_by, created_by_name, "
        "batch_id) "
        "SELECT $1, p.id, $2, 'payout', p.destination_kind, p.bank_code, p.wallet, p.account_number, "
        "p.holder_name, p.rail, p.provider_rail, p.amount, p.fee, $3, p.reference, p.description, "
        "'awaiting_approval', 'batch', p.amount_hold_id, p.fee_hold_id, p.process_at, p.eta, $4, $5, $6 "
        "FROM unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], "
        "$14::text[], $15::bigint[], $16::bigint[], $17::text[], $18::text[], $19::text[], $20::text[], "
        "$21::timestamptz[], $22::timestamptz[]) "
        "AS p(id, destination_kind, bank_code, wallet, account_number, holder_name, rail, provider_rail, "
        "amount, fee, reference, description, amount_hold_id, fee_hold_id, process_at, eta)",
        business_id,
        account_id,
        currency,
        actor.user_id,
        actor.name,
        batch_id,
        ids,
        [d["destination_kind"] for d in destinations],
        [d.get("bank_code") for d in destinations],
        [d.get("wallet") for d in destinations],
        [d["account_number"] for d in destinations],
        [d["holder_name"] for d in destinations],
        [row["rail"].code for row in rows],
        [row["rail"].provider_rail for row in rows],
        [row["amount"] for row in rows],
        [row["fee"] for row in rows],
        references,
        [row["description"] for row in rows],
        [h[0] for h in hold_ids],
        [h[1] for h in hold_ids],
        [_process_at(settles[row["rail"].code], row["rail"]) for row in rows],
        [settles[row["rail"].code] for row in rows],
    )
    await record_many(
        [
            (
                actor,
                "payout.created",
                f"Payout {row['reference']} of {row['amount']} to {row['destination']['holder_name']} "
                f"({services.mask(row['destination']['account_number'])}), awaiting_approval",
                {"payout_id": payout_id, "account_id": account_id, "reference": row["reference"]},
            )
            for payout_id, row in zip(ids, rows, strict=True)
        ]
    )
    return ids


def _process_at(settles_at: datetime, rail: Rail) -> datetime:
    """When to hand the payout to the provider: now for 24/7 rails and open windows, else the opening of
    the rail's first window on the day it settles (the provider's clearing does the rest)."""
    now = clock.now()
    if rail.always_open or not rail.windows or settles_at <= now + timedelta(hours=12):
        return now
    local = settles_at.astimezone(WIB)
    opens = datetime.combine(local.date(), rail.windows[0].opens, tzinfo=WIB)
    return max(now, opens)


async def _scheduled(row: asyncpg.Record) -> None:
    """The payout is scheduled: say so, and queue its submission for when its rail opens."""
    await event(row["business_id"], "payout.scheduled", payout_out(row), (row["account_id"],))
    delay = max(row["process_at"] - clock.now(), timedelta(0))
    await enqueue(
        "payouts.submit",
        {"business_id": row["business_id"], "payout_id": row["id"]},
        delay=delay if delay > timedelta(seconds=1) else None,
    )


# --- withdrawals ----------------------------------------------------------------------------------


async def dispatch_withdrawal(
    business_id: str,
    withdrawal_id: str,
    *,
    review: bool = False,
    maker: str | None = None,
    maker_name: str = "",
) -> str:
    """Send a withdrawal as a payout to its account's own bank account (the job queued with it): the
    cheapest eligible bank rail, the withdrawal's own fee and holds. Idempotent: a withdrawal no longer
    pending, or already carried by a payout, is left alone."""
    from portal.domains.ledger.services.withdrawals import settle_withdrawal, take_for_payout

    base = system_actor(business_id)
    actor = Actor(business_id=business_id, rights=base.rights, user_id=maker, name=maker_name or "system")
    payout_id = new_id("po")
    async with transaction():
        taken = await take_for_payout(business_id, withdrawal_id, payout_id)
        if taken is None:
            return "skipped"
        amount = int(taken["amount"])
        rails = await services.load_rails(business_id)
        try:
            quote = route(rails, amount, "bank", clock.now(), await services.load_calendar())
        except NoRail:
            for hold_id, kind in ((taken["amount_hold_id"], "withdrawal"), (taken["fee_hold_id"], "fee")):
                if hold_id:
                    await resolve_hold(business_id, hold_id, "void", internal=True, kind=kind)
            await settle_withdrawal(business_id, withdrawal_id, paid=False, reason="no_rail")
            return "no_rail"
        await _insert(
            actor,
            payout_id=payout_id,
            account_id=taken["account_id"],
            currency=taken["currency"],
            destination={
                "destination_kind": "bank",
                "bank_code": taken["bank_code"],
                "account_number": taken["bank_account_number"],
                "holder_name": taken["bank_holder_name"],
            },
            rail=quote.rail,
            fee=int(taken["fee"]),
            eta_at=quote.eta.settles_at,
            amount=amount,
            reference=taken["reference"],
            description="",
            approval_reason="review" if review else None,
            screening_code=None,
            kind="withdrawal",
            withdrawal=(withdrawal_id, taken["amount_hold_id"], taken["fee_hold_id"]),
        )
    return "dispatched"


# --- approvals ------------------------------------------------------------------------------------


async def use_approval_code(actor: Actor, code: Any) -> None:
    """Check the approver's authenticator code and spend it: a code (a time step) serves once, for
    sign-in or an approval, like identity's own checks."""
    text = str(code or "").strip().replace(" ", "")
    row = await sql.fetchrow(
        "SELECT totp_secret FROM app_user WHERE business_id = $1 AND id = $2 AND totp_confirmed",
        actor.business_id,
        actor.user_id,
    )
    step = security.totp_match(row["totp_secret"], text, clock.now()) if row and row["totp_secret"] else None
    if step is None:
        raise ValidationFailed(
            N_("The authenticator code does not match."),
            code="approval_code_invalid",
            errors=[FieldError("/code", N_("wrong code"))],
        )
    moved = await sql.fetchval(
        "UPDATE app_user SET totp_last_step = $3 WHERE business_id = $1 AND id = $2 "
        "AND (totp_last_step IS NULL OR totp_last_step < $3) RETURNING id",
        actor.business_id,
        actor.user_id,
        step,
    )
    if moved is None:
        raise ValidationFailed(
            N_("This authenticator code was already used. Wait for the next one."),
            code="approval_code_used",
            errors=[FieldError("/code", N_("code already used"))],
        )


def require_checker(actor: Actor, maker_id: str | None) -> None:
    """The approve right, a signed-in user (an API key has no authenticator) and not the maker."""
    _require_checker(actor, maker_id)


def _require_checker(actor: Actor, maker_id: str | None) -> None:
    actor.require("approvals", "manage")
    if actor.user_id is None:
        raise ValidationFailed(
            N_("Approvals are given by a signed-in user with an authenticator, not by an API key."),
            code="approver_not_a_user",
        )
    if maker_id is not None and maker_id == actor.user_id:
        raise ValidationFailed(
            N_("You created this payout; another user must approve it."),
            code="approver_is_maker",
        )


def _not_awaiting(row: asyncpg.Record) -> Conflict:
    return Conflict(
        N_("Payout %(id)s is %(status)s, not awaiting approval."),
        params={"id": row["id"], "status": row["status"]},
        code="payout_not_awaiting_approval",
    )


async def approve_payout(actor: Actor, payout_id: str, code: Any) -> PayoutOut:
    """Approve a payout awaiting approval (another user than its maker, with their authenticator code):
    it is scheduled for its rail's next opening."""
    row = await _row(actor, payout_id)
    _require_checker(actor, row["created_by"])
    if row["status"] != "awaiting_approval":
        raise _not_awaiting(row)
    async with transaction():
        await use_approval_code(actor, code)
        updated = await schedule_approved(actor, payout_id)
    return updated


async def schedule_approved(actor: Actor, payout_id: str) -> PayoutOut:
    """Inside the approval's transaction: the payout is scheduled from now (ETA recomputed for its rail)."""
    row = await _row(actor, payout_id, lock=True)
    if row["status"] != "awaiting_approval":
        raise _not_awaiting(row)
    rails = await services.load_rails(actor.business_id)
    rail = _rail_of(rails, row["rail"])
    settles = eta(rail, clock.now(), await services.load_calendar()).settles_at
    updated = await sql.fetchrow(
        "UPDATE payout SET status = 'scheduled', approved_by = $3, approved_by_name = $4, "
        "approved_at = now(), eta = $5, process_at = $6, updated_at = now() "
        f"WHERE business_id = $1 AND id = $2 RETURNING {PAYOUT_COLUMNS}",
        actor.business_id,
        payout_id,
        actor.user_id,
        actor.name,
        settles,
        _process_at(settles, rail),
    )
    assert updated is not None
    await _scheduled(updated)
    await audit(
        actor,
        "payout.approved",
        f"Payout {row['reference']} approved",
        {"payout_id": payout_id, "account_id": row["account_id"], "reference": row["reference"]},
    )
    return payout_out(updated)


async def schedule_batch_approved(actor: Actor, batch_id: str) -> int:
    """Inside a batch's approval transaction: every payout of it awaiting approval is scheduled at once
    (one statement; the ETA computed once per rail), its `payout.scheduled` events written set-based, one
    submission job queued per moment the payouts fall due, and one activity entry per payout. Returns how
    many were scheduled."""
    import msgspec

    from portal.domains.audit.services import record_many
    from portal.domains.webhooks.services import emit_many

    now = clock.now()
    calendar = await services.load_calendar()
    rails = {r.code: r for r in await services.load_rails(actor.business_id)}
    codes = await sql.fetch(
        "SELECT DISTINCT rail FROM payout WHERE business_id = $1 AND batch_id = $2 AND status = "
        "'awaiting_approval'",
        actor.business_id,
        batch_id,
    )
    plan = []
    for code in (r["rail"] for r in codes):
        settles = eta(_rail_of(list(rails.values()), code), now, calendar).settles_at
        plan.append((code, settles, _process_at(settles, rails[code])))
    rows = await sql.fetch(
        "WITH locked AS (SELECT id FROM payout WHERE business_id = $1 AND batch_id = $2 "
        "AND status = 'awaiting_approval' ORDER BY id FOR UPDATE) "
        "UPDATE payout SET status = 'scheduled', approved_by = $3, approved_by_name = $4, "
        "approved_at = now(), "
        "eta = p.eta, process_at = p.process_at, updated_at = now() "
        "FROM locked, unnest($5::text[], $6::timestamptz[], $7::timestamptz[]) AS p(rail, eta, process_at) "
        "WHERE payout.business_id = $1 AND payout.id = locked.id AND payout.rail = p.rail "
        f"RETURNING {_qualified()}",
        actor.business_id,
        batch_id,
        actor.user_id,
        actor.name,
        [p[0] for p in plan],
        [p[1] for p in plan],
        [p[2] for p in plan],
    )
    async with sql.connection() as conn:
        await emit_many(
            conn,
            [
                (r["business_id"], "payout.scheduled", msgspec.to_builtins(payout_out(r)), (r["account_id"],))
                for r in rows
            ],
        )
    for process_at in sorted({r["process_at"] for r in rows}):
        delay = max(process_at - now, timedelta(0))
        await enqueue(
            "payouts.submit_batch",
            {"business_id": actor.business_id, "batch_id": batch_id},
            delay=delay if delay > timedelta(seconds=1) else None,
        )
    await record_many(
        [
            (
                actor,
                "payout.approved",
                f"Payout {r['reference']} approved",
                {"payout_id": r["id"], "account_id": r["account_id"], "reference": r["reference"]},
            )
            for r in rows
        ]
    )
    return len(rows)


async def submit_batch_due(business_id: str, batch_id: str) -> dict[str, str]:
    """The batch's scheduled payouts that are due, handed to the provider together (`submit_many`)."""
    ids = [
        r["id"]
        for r in await sql.fetch(
            "SELECT id FROM payout WHERE business_id = $1 AND batch_id = $2 AND status = 'scheduled' "
            "AND process_at <= $3 ORDER BY id",
            business_id,
            batch_id,
            clock.now(),
        )
    ]
    return await submit_many(business_id, ids) if ids else {}


async def reject_payout(actor: Actor, payout_id: str, reason: Any) -> PayoutOut:
    """Reject a payout awaiting approval: its holds void, the money is available again at once."""
    row = await _row(actor, payout_id)
    actor.require("approvals", "manage")  # refusing money to leave needs no authenticator code
    text = services.optional_text(reason, "/reason", 500)
    if not text:
        raise ValidationFailed(
            N_("Give a reason (at most 500 characters)."),
            code="reason_required",
            errors=[FieldError("/reason", N_("required"))],
        )
    if row["status"] != "awaiting_approval":
        raise _not_awaiting(row)
    return await _close_unsent(actor, payout_id, "rejected", text)


async def cancel_payout(actor: Actor, payout_id: str) -> PayoutOut:
    """Cancel a payout not yet handed to the provider (awaiting approval or scheduled): holds void."""
    actor.require("payouts", "manage")
    row = await _row(actor, payout_id)
    if row["status"] not in ("awaiting_approval", "scheduled"):
        raise Conflict(
            N_("Payout %(id)s is %(status)s and can no longer be cancelled."),
            params={"id": payout_id, "status": row["status"]},
            code="payout_not_cancellable",
        )
    return await _close_unsent(actor, payout_id, "cancelled", None)


async def _close_unsent(actor: Actor, payout_id: str, status: str, reason: str | None) -> PayoutOut:
    async with transaction():
        row = await _row(actor, payout_id, lock=True)
        allowed = ("awaiting_approval",) if status == "rejected" else ("awaiting_approval", "scheduled")
        if row["status"] not in allowed:
            raise Conflict(
                N_("Payout %(id)s is %(status)s and can no longer be cancelled."),
                params={"id": payout_id, "status": row["status"]},
                code="payout_not_cancellable",
            )
        await _resolve_holds(row, "void")
        updated = await sql.fetchrow(
            "UPDATE payout SET status = $3, rejected_by = $4, rejection_reason = $5, completed_at = now(), "
            f"updated_at = now() WHERE business_id = $1 AND id = $2 RETURNING {PAYOUT_COLUMNS}",
            actor.business_id,
            payout_id,
            status,
            actor.user_id if status == "rejected" else None,
            reason,
        )
        assert updated is not None
        await _settle_withdrawal(updated, paid=False, reason=reason or status)
        await audit(
            actor,
            f"payout.{status}",
            f"Payout {row['reference']} {status}" + (f": {reason}" if reason else ""),
            {"payout_id": payout_id, "account_id": row["account_id"], "reference": row["reference"]},
        )
    return payout_out(updated)


async def _resolve_holds(row: asyncpg.Record, action: str) -> None:
    for hold_id, kind in ((row["amount_hold_id"], row["kind"]), (row["fee_hold_id"], "fee")):
        if hold_id:
            await resolve_hold(row["business_id"], hold_id, action, internal=True, kind=kind)


async def _settle_withdrawal(row: asyncpg.Record, *, paid: bool, reason: str | None) -> None:
    """A withdrawal's payout decides the withdrawal (its holds were the payout's, resolved already)."""
    if row["withdrawal_id"] is None:
        return
    from portal.domains.ledger.services.withdrawals import settle_withdrawal

    await settle_withdrawal(row["business_id"], row["withdrawal_id"], paid=paid, reason=reason)


# --- submission -----------------------------------------------------------------------------------


async def submit_payout(business_id: str, payout_id: str) -> str:
    """Hand a scheduled payout whose time has come to the provider (the job calls this; repeated calls
    change nothing). Returns what happened."""
    async with transaction():
        row = await sql.fetchrow(
            f"SELECT {PAYOUT_COLUMNS} FROM payout WHERE business_id = $1 AND id = $2 FOR UPDATE",
            business_id,
            payout_id,
        )
        if row is None or row["status"] != "scheduled":
            return "skipped"
        if row["process_at"] > clock.now():
            return "not_due"
        # Marked before the call: from here on only the provider's answer decides (never a cancel).
        row = await sql.fetchrow(
            "UPDATE payout SET status = 'submitted', submitted_at = now(), updated_at = now() "
            f"WHERE business_id = $1 AND id = $2 RETURNING {PAYOUT_COLUMNS}",
            business_id,
            payout_id,
        )
    assert row is not None
    return await _send(row)


# Payouts per bulk call to the provider (its limit is 500), and bulk calls in flight at once for a set of
# due payouts: a chunk's answers are booked while the next chunks are at the provider.
SUBMIT_CHUNK = 250
SUBMIT_CONCURRENCY = 4
# At most this many provider answers booked in one transaction.
BOOK_GROUP = 500


async def submit_many(
    business_id: str,
    payout_ids: list[str],
    *,
    concurrency: int = SUBMIT_CONCURRENCY,
    chunk: int = SUBMIT_CHUNK,
) -> dict[str, str]:
    """Hand many due payouts of one business to the provider: one statement marks every one still
    scheduled and due as submitted (others are skipped, as `submit_payout` skips them), then they go in
    chunks through the provider's bulk call (`gateway.create_payouts`, at most `concurrency` calls in
    flight) and each chunk's answers are booked in groups by `apply_provider_statuses`. A payout whose
    outcome is unknown or that the provider could not take stays submitted: the sweep's status query
    settles it (sending it again only if the provider never recorded it). Returns {payout_id: outcome}."""
    outcomes = dict.fromkeys(payout_ids, "skipped")
    async with transaction():
        # Marked before the calls (ordered locks: no deadlock with another sweep doing the same).
        rows = await sql.fetch(
            "WITH due AS (SELECT id FROM payout WHERE business_id = $1 AND id = ANY($2::text[]) "
            "AND status = 'scheduled' AND process_at <= $3 ORDER BY id FOR UPDATE) "
            "UPDATE payout SET status = 'submitted', submitted_at = now(), updated_at = now() "
            f"FROM due WHERE payout.business_id = $1 AND payout.id = due.id RETURNING {_qualified()}",
            business_id,
            payout_ids,
            clock.now(),
        )
    gate = asyncio.Semaphore(max(1, concurrency))
    answers: asyncio.Queue[ProviderAnswer | None] = asyncio.Queue()

    async def send(part: list[asyncpg.Record]) -> None:
        async with gate:
            results = await _call_many(business_id, part)
        for row, result in zip(part, results, strict=True):
            if isinstance(result, str):
                outcomes[row["id"]] = result
            else:
                answers.put_nowait(result)

    async def book() -> None:
        # The answers that arrived while the previous group was booked form the next group.
        finished = False
        while not finished:
            group = []
            item = await answers.get()
            while item is not None:
                group.append(item)
                if answers.empty() or len(group) >= BOOK_GROUP:
                    break
                item = answers.get_nowait()
            finished = item is None
            if group:
                outcomes.update(await apply_provider_statuses(business_id, group))

    size = max(1, min(chunk, gateway.MAX_PAYOUTS_PER_CALL))
    booker = asyncio.create_task(book())
    try:
        await asyncio.gather(*(send(rows[i : i + size]) for i in range(0, len(rows), size)))
    finally:
        answers.put_nowait(None)
        await booker
    return outcomes


async def _call_many(business_id: str, rows: list[asyncpg.Record]) -> list[ProviderAnswer | str]:
    """Hand submitted payouts to the provider in one bulk call: each one's answer, or `unknown` /
    `unsent` (nothing to book; the sweep's status query settles it)."""
    try:
        results = await gateway.provider().create_payouts(business_id, [_request(row) for row in rows])
    except ProviderOutcomeUnknown:
        log.warning("bulk payout outcome unknown; status queries will settle it", payouts=len(rows))
        return ["unknown"] * len(rows)
    except NeracaError as exc:
        # Nothing was recorded at the provider: the sweep finds each payout unknown there and sends it.
        log.warning("provider did not take a bulk payout call", payouts=len(rows), code=exc.code)
        return ["unsent"] * len(rows)
    out: list[ProviderAnswer | str] = []
    for row, result in zip(rows, results, strict=True):
        if isinstance(result, ProviderRefused):
            params = result.params or {}
            code = str(params.get("code") or "provider_refused")
            out.append(ProviderAnswer(row["id"], "failed", failure_code=code[:60]))
        elif isinstance(result, ProviderConflict):
            # The provider holds this reference with other details: a status query says what it is.
            log.warning("payout reference conflict at the provider", payout_id=row["id"])
            out.append("unknown")
        elif isinstance(result, NeracaError):
            out.append("unsent")
        else:
            out.append(
                ProviderAnswer(
                    row["id"],
                    result.status,
                    provider_payout_id=result.payout_id,
                    bank_reference=result.bank_reference,
                    failure_code=result.failure_code,
                )
            )
    return out


def _qualified() -> str:
    return ", ".join(f"payout.{c.strip()}" for c in PAYOUT_COLUMNS.split(","))


def _request(row: asyncpg.Record) -> PayoutRequest:
    bank = row["destination_kind"] == "bank"
    return PayoutRequest(
        reference=row["id"],
        rail=row["provider_rail"],
        amount=int(row["amount"]),
        beneficiary_name=row["holder_name"],
        currency=row["currency"],
        bank_code=row["bank_code"] if bank else None,
        account_number=row["account_number"] if bank else None,
        wallet=None if bank else row["wallet"],
        phone=None if bank else row["account_number"],
    )


@dataclass(frozen=True)
class ProviderAnswer:
    """What the provider said about one payout (its answer to the submission, a callback, a status query)."""

    payout_id: str
    status: str
    provider_payout_id: str | None = None
    bank_reference: str | None = None
    failure_code: str | None = None


async def _call(row: asyncpg.Record) -> ProviderAnswer | str:
    """Hand one submitted payout to the provider: its answer, or `unknown` / `unsent` (nothing to book)."""
    business_id, payout_id = row["business_id"], row["id"]
    try:
        answer = await gateway.provider().submit_payout(business_id, _request(row))
    except ProviderRefused as refused:
        code = str(refused.params.get("code") or "provider_refused") if refused.params else "provider_refused"
        return ProviderAnswer(payout_id, "failed", failure_code=code[:60])
    except ProviderOutcomeUnknown:
        log.warning("payout outcome unknown; a status query will settle it", payout_id=payout_id)
        return "unknown"
    except ProviderError:
        # Nothing left our side: the next sweep sends it again under the same idempotency key.
        log.warning("provider unavailable for a payout", payout_id=payout_id)
        return "unsent"
    return ProviderAnswer(
        payout_id,
        answer.status,
        provider_payout_id=answer.payout_id,
        bank_reference=answer.bank_reference,
        failure_code=answer.failure_code,
    )


async def _send(row: asyncpg.Record) -> str:
    answer = await _call(row)
    if isinstance(answer, str):
        return answer
    return await apply_provider_status(
        row["business_id"],
        answer.payout_id,
        answer.status,
        provider_payout_id=answer.provider_payout_id,
        bank_reference=answer.bank_reference,
        failure_code=answer.failure_code,
    )


async def query_payout(business_id: str, payout_id: str) -> str:
    """Settle a submitted payout by a status query (a lost callback, an unknown outcome): the provider's
    state is applied; a payout the provider never recorded is sent again under the same key."""
    row = await sql.fetchrow(
        f"SELECT {PAYOUT_COLUMNS} FROM payout WHERE business_id = $1 AND id = $2", business_id, payout_id
    )
    if row is None or row["status"] != "submitted":
        return "skipped"
    try:
        found = await gateway.provider().find_payout(business_id, payout_id)
    except (ProviderError, ProviderNotFound):
        return "unknown"
    if found is None:
        return await _send(row)
    return await apply_provider_status(
        business_id,
        payout_id,
        found.status,
        provider_payout_id=found.payout_id,
        bank_reference=found.bank_reference,
        failure_code=found.failure_code,
    )


async def apply_provider_status(
    business_id: str,
    payout_id: str,
    status: str,
    *,
    provider_payout_id: str | None = None,
    bank_reference: str | None = None,
    failure_code: str | None = None,
) -> str:
    """Apply what the provider says in one transaction (idempotent: a repeat or a stale state changes
    nothing). succeeded posts the holds, failed voids them, reversed books the money back."""
    async with transaction():
        outcome = await _apply(
            business_id, payout_id, status, provider_payout_id, bank_reference, failure_code
        )
    return outcome


async def apply_provider_statuses(business_id: str, answers: list[ProviderAnswer]) -> dict[str, str]:
    """Book many provider answers of one business in one transaction: the payouts locked in id order, the
    plain outcomes (a submitted payout succeeded or failed) set-based — every hold posted or voided through
    one engine call, the payouts updated in one statement, events, notifications and activity written
    set-based — and anything else (a reversal, a withdrawal's payout, a repeat, a stale state) one by one
    by `apply_provider_status` after it. When the group is refused (a hold no longer pending), each
    answer is booked on its own so one cannot hold back the others. Returns {payout_id: outcome}."""
    outcomes: dict[str, str]
    try:
        async with transaction():
            outcomes, rest = await _apply_many(business_id, answers)
    except NeracaError:
        log.warning("a group of payout outcomes was refused; booking them one by one", count=len(answers))
        outcomes, rest = {}, answers
    # Each in its own transaction after the group's: the activity log is written last in a transaction.
    for a in rest:
        outcome = await apply_provider_status(
            business_id,
            a.payout_id,
            a.status,
            provider_payout_id=a.provider_payout_id,
            bank_reference=a.bank_reference,
            failure_code=a.failure_code,
        )
        if outcomes.get(a.payout_id) in (None, "submitted"):
            outcomes[a.payout_id] = outcome
    return outcomes


async def _apply_many(
    business_id: str, answers: list[ProviderAnswer]
) -> tuple[dict[str, str], list[ProviderAnswer]]:
    """The plain outcomes booked; the answers left for `_apply`."""
    outcomes: dict[str, str] = {}
    rows = {
        r["id"]: r
        for r in await sql.fetch(
            f"SELECT {PAYOUT_COLUMNS} FROM payout WHERE business_id = $1 AND id = ANY($2::text[]) "
            "ORDER BY id FOR UPDATE",
            business_id,
            sorted({a.payout_id for a in answers}),
        )
    }
    learnt = {
        a.payout_id: a.provider_payout_id
        for a in answers
        if a.provider_payout_id and a.payout_id in rows and rows[a.payout_id]["provider_payout_id"] is None
    }
    if learnt:
        await sql.execute(
            "UPDATE payout SET provider_payout_id = l.provider_payout_id "
            "FROM unnest($2::text[], $3::text[]) AS l(id, provider_payout_id) "
            "WHERE payout.business_id = $1 AND payout.id = l.id AND payout.provider_payout_id IS NULL",
            business_id,
            list(learnt),
            list(learnt.values()),
        )
    plain: list[tuple[asyncpg.Record, ProviderAnswer]] = []
    planned: set[str] = set()
    rest: list[ProviderAnswer] = []
    for a in answers:
        row = rows.get(a.payout_id)
        if row is None:
            outcomes[a.payout_id] = "unknown_reference"
        elif a.status == "submitted":
            outcomes[a.payout_id] = "submitted"
        elif (
            a.status in ("succeeded", "failed")
            and row["status"] == "submitted"
            and row["withdrawal_id"] is None
            and a.payout_id not in planned
        ):
            outcomes[a.payout_id] = a.status
            planned.add(a.payout_id)
            plain.append((row, a))
        else:
            rest.append(a)
    if plain:
        resolutions: list[tuple[str, str, str | None]] = []
        for row, a in plain:
            action = "post" if a.status == "succeeded" else "void"
            resolutions.append((row["amount_hold_id"], action, row["kind"]))
            if row["fee_hold_id"]:
                resolutions.append((row["fee_hold_id"], action, "fee"))
        await resolve_holds(business_id, resolutions)
        updated = await sql.fetch(
            "UPDATE payout SET status = o.status, bank_reference = o.bank_reference, "
            "verification_code = o.verification_code, failure_code = o.failure_code, completed_at = now(), "
            "updated_at = now() FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) "
            "AS o(id, status, bank_reference, verification_code, failure_code) "
            f"WHERE payout.business_id = $1 AND payout.id = o.id RETURNING {_qualified()}",
            business_id,
            [row["id"] for row, _a in plain],
            [a.status for _row, a in plain],
            [a.bank_reference if a.status == "succeeded" else None for _row, a in plain],
            [
                verification_code(business_id, row["id"], a.bank_reference or "")
                if a.status == "succeeded"
                else None
                for row, a in plain
            ],
            [(a.failure_code or "failed") if a.status == "failed" else None for _row, a in plain],
        )
        await _announce_many(updated)
    return outcomes, rest


async def _announce_many(rows: list[asyncpg.Record]) -> None:
    """`_announce` for many payouts: events, notifications and activity entries, each in one statement."""
    import msgspec

    from portal.domains.audit.services import record_many
    from portal.domains.notifications.services import notify_many
    from portal.domains.webhooks.services import emit_many

    if not rows:
        return
    kinds = [f"payout.{r['status']}" for r in rows]
    async with sql.connection() as conn:
        await emit_many(
            conn,
            [
                (r["business_id"], kind, msgspec.to_builtins(payout_out(r)), (r["account_id"],))
                for r, kind in zip(rows, kinds, strict=True)
            ],
        )
    await notify_many(
        [
            (
                r["business_id"],
                r["account_id"],
                kind,
                _notice(r),
                f"/payouts/{r['id']}",
            )
            for r, kind in zip(rows, kinds, strict=True)
        ]
    )
    await record_many(
        [
            (system_actor(r["business_id"]), kind, *_activity(r, kind))
            for r, kind in zip(rows, kinds, strict=True)
        ]
    )


def _notice(row: asyncpg.Record) -> dict[str, Any]:
    """What the account's notification of a provider outcome says."""
    return {
        "amount": int(row["amount"]),
        "currency": row["currency"],
        "reference": row["reference"],
        "reason": row["failure_code"] or "",
    }


def _activity(row: asyncpg.Record, event_type: str) -> tuple[str, dict[str, Any]]:
    """The activity log's summary and details of a provider outcome."""
    return (
        f"Payout {row['reference']} {event_type.removeprefix('payout.')}",
        {"payout_id": row["id"], "account_id": row["account_id"], "reference": row["reference"]},
    )


async def _apply(
    business_id: str,
    payout_id: str,
    status: str,
    provider_payout_id: str | None,
    bank_reference: str | None,
    failure_code: str | None,
) -> str:
    row = await sql.fetchrow(
        f"SELECT {PAYOUT_COLUMNS} FROM payout WHERE business_id = $1 AND id = $2 FOR UPDATE",
        business_id,
        payout_id,
    )
    if row is None:
        return "unknown_reference"
    if provider_payout_id and row["provider_payout_id"] is None:
        await sql.execute(
            "UPDATE payout SET provider_payout_id = $3 WHERE business_id = $1 AND id = $2",
            business_id,
            payout_id,
            provider_payout_id,
        )
    current = row["status"]
    if status == "submitted":
        return "submitted"
    if status == "succeeded" or (status == "reversed" and current == "submitted"):
        if current == "submitted":
            row = await _succeed(row, bank_reference)
            current = "succeeded"
        elif current in ("succeeded", "reversed"):
            if status == "succeeded":
                return "already"
        else:
            log.error("provider reports success of a payout we closed", payout_id=payout_id, status=current)
            return "stale"
    if status == "failed":
        if current != "submitted":
            if current == "failed":
                return "already"
            log.error("provider reports failure of a payout in state", payout_id=payout_id, status=current)
            return "stale"
        await _resolve_holds(row, "void")
        updated = await sql.fetchrow(
            "UPDATE payout SET status = 'failed', failure_code = $3, completed_at = now(), "
            "updated_at = now() "
            f"WHERE business_id = $1 AND id = $2 RETURNING {PAYOUT_COLUMNS}",
            business_id,
            payout_id,
            failure_code or "failed",
        )
        assert updated is not None
        await _settle_withdrawal(updated, paid=False, reason=failure_code or "failed")
        await _announce(updated, "payout.failed")
        return "failed"
    if status == "reversed":
        if current == "reversed":
            return "already"
        await _reverse(row)
        return "reversed"
    return "succeeded" if status == "succeeded" else "ignored"


async def _succeed(row: asyncpg.Record, bank_reference: str | None) -> asyncpg.Record:
    await _resolve_holds(row, "post")
    updated = await sql.fetchrow(
        "UPDATE payout SET status = 'succeeded', bank_reference = $3, verification_code = $4, "
        "completed_at = now(), updated_at = now() "
        f"WHERE business_id = $1 AND id = $2 RETURNING {PAYOUT_COLUMNS}",
        row["business_id"],
        row["id"],
        bank_reference,
        verification_code(row["business_id"], row["id"], bank_reference or ""),
    )
    assert updated is not None
    await _settle_withdrawal(updated, paid=True, reason=None)
    await _announce(updated, "payout.succeeded")
    return updated


async def _reverse(row: asyncpg.Record) -> None:
    """The bank returned the money: a reversal transfer books amount and fee back to the account."""
    business_id = row["business_id"]
    world = await accounts.system_account_id(business_id, row["currency"], "world")
    fees = await accounts.system_account_id(business_id, row["currency"], "fees")
    legs = [
        Leg(
            world,
            row["account_id"],
            int(row["amount"]),
            kind="reversal",
            description=f"Returned {row['reference']}",
        )
    ]
    if row["fee"]:
        legs.append(
            Leg(
                fees,
                row["account_id"],
                int(row["fee"]),
                kind="reversal",
                description=f"Fee returned {row['reference']}",
            )
        )
    result = await engine.execute(Operation(business_id, legs, source_id=row["id"], internal=True))
    updated = await sql.fetchrow(
        "UPDATE payout SET status = 'reversed', reversal_transfer_id = $3, reversed_at = now(), "
        "updated_at = now() "
        f"WHERE business_id = $1 AND id = $2 RETURNING {PAYOUT_COLUMNS}",
        business_id,
        row["id"],
        result.transfers[0]["id"],
    )
    assert updated is not None
    await _announce(updated, "payout.reversed")


async def _announce(row: asyncpg.Record, event_type: str) -> None:
    """The webhook event, the account's notification and the activity log of a provider outcome."""
    await event(row["business_id"], event_type, payout_out(row), (row["account_id"],))
    await notify_account(
        row["business_id"],
        row["account_id"],
        event_type,
        _notice(row),
        f"/payouts/{row['id']}",
    )
    await audit(system_actor(row["business_id"]), event_type, *_activity(row, event_type))


@provider.on_payout_lookup("payouts")
async def known_payout(business_id: str, reference: str) -> bool:
    """Whether a callback's reference is one of this business's payouts (those sent in a bulk call have
    no request of their own recorded at the provider boundary)."""
    return bool(
        await sql.fetchval(
            "SELECT 1 FROM payout WHERE business_id = $1 AND id = $2 AND status <> 'awaiting_approval'",
            business_id,
            reference,
        )
    )


@provider.on_payout_event
async def apply_callback(business_id: str, event_type: str, data: dict[str, Any]) -> str:
    """A provider callback (`payout.succeeded|failed|reversed`), inside the transaction recording it."""
    return await _apply(
        business_id,
        str(data.get("reference") or ""),
        event_type.removeprefix("payout."),
        str(data["payout_id"]) if data.get("payout_id") else None,
        data.get("bank_reference"),
        data.get("failure_code"),
    )


# --- sweeps (the jobs call these) -----------------------------------------------------------------


async def due_payouts(limit: int = 500) -> list[tuple[str, str]]:
    """(business_id, payout_id) of scheduled payouts whose rail is open now."""
    rows = await sql.fetch(
        "SELECT business_id, id FROM payout WHERE status = 'scheduled' AND process_at <= $1 "
        "ORDER BY process_at LIMIT $2",
        clock.now(),
        limit,
    )
    return [(r["business_id"], r["id"]) for r in rows]


async def stale_submissions(limit: int = 200) -> list[tuple[str, str]]:
    """(business_id, payout_id) of submitted payouts without news for a while (asked by status query)."""
    rows = await sql.fetch(
        "SELECT business_id, id FROM payout WHERE status = 'submitted' AND submitted_at <= $1 "
        "ORDER BY submitted_at LIMIT $2",
        clock.now() - STATUS_QUERY_AFTER,
        limit,
    )
    return [(r["business_id"], r["id"]) for r in rows]


# --- proof of payment -----------------------------------------------------------------------------


def verification_code(business_id: str, payout_id: str, bank_reference: str) -> str:
    """A code printed on the proof that only this portal can produce (keyed by its secret key)."""
    key = get_settings().secret_key.encode()
    mac = hmac.new(key, f"payout-proof:{business_id}:{payout_id}:{bank_reference}".encode(), hashlib.sha256)
    text = base64.b32encode(mac.digest()).decode()[:16]
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))
