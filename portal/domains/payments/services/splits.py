"""Split settlement: where a payment's Total Settlement Amount goes — up to 10 destinations (accounts of
the business or verified bank accounts), each by percentage or fixed amount, the remainder to the
default settlement account. Rules: Σ % ≤ 100, Σ fixed ≤ Total Settlement Amount, all bank destinations
in one country, only Payment Success and Pending Settlement payments can change (docs/payments.md).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.payments.schemas import Payment, SplitPreview, SplitRuleOut, SplitRulePage, SplitShare
from portal.domains.payments.services.allocation import FULL, MAX_DESTINATIONS, Share, mdr, split
from portal.domains.payments.services.settings import default_settlement_account, fees_of, split_service
from portal.domains.payouts import services as payouts
from portal.lib import sql
from portal.lib.actor import Actor
from portal.lib.errors import Amount, Conflict, FieldError, NotFound, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.sql import transaction

# Payments whose settlement configuration may still change (the reference's rule 3).
EDITABLE = ("paid", "pending_settlement")
INVALID_BANK_REMARK = "Split Settlement Bank Account Invalid"
HOME_COUNTRY = "ID"


def _refuse(pointer: str, message: str, field_message: str, code: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(message, code=code, params=params, errors=[FieldError(pointer, field_message)])


def _percent(value: Any, pointer: str) -> int:
    """A percentage with at most two decimals, 0 < p ≤ 100, in hundredths of a percent."""
    try:
        exact = Decimal(str(value))
    except (InvalidOperation, ValueError):
        exact = Decimal(-1)
    scaled = exact * 100
    if isinstance(value, bool) or scaled != scaled.to_integral_value() or not 0 < scaled <= FULL:
        raise _refuse(
            pointer,
            N_("A percentage is more than 0 and at most 100, with at most two decimals."),
            N_("invalid percentage"),
            "invalid_split",
        )
    return int(scaled)


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


async def normalize(
    actor: Actor, raw: list[Any] | None, *, pointer: str = "/destinations"
) -> list[dict[str, Any]]:
    """Check each destination on its own row (`/destinations/2/account_id`) and the list's rules that do
    not depend on an amount; return the stored form. Nothing is written."""
    items = list(raw or [])
    if len(items) > MAX_DESTINATIONS:
        raise _refuse(
            pointer,
            N_("A split has at most %(max)s destinations."),
            N_("too many destinations"),
            "too_many_destinations",
            max=MAX_DESTINATIONS,
        )
    out: list[dict[str, Any]] = []
    countries: set[str] = set()
    total_percent = 0
    for i, item in enumerate(items):
        at = f"{pointer}/{i}"
        kind = _field(item, "kind")
        percent, amount = _field(item, "percent"), _field(item, "amount")
        if (percent is None) == (amount is None):
            raise _refuse(
                at,
                N_("Each destination has either a percentage or a fixed amount."),
                N_("percent or amount"),
                "invalid_split",
            )
        entry: dict[str, Any] = {"kind": kind, "percent": None, "amount": None}
        if percent is not None:
            entry["percent"] = _percent(percent, f"{at}/percent")
            total_percent += entry["percent"]
        else:
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise _refuse(
                    f"{at}/amount",
                    N_("A fixed amount is a whole number above zero."),
                    N_("invalid amount"),
                    "invalid_split",
                )
            entry["amount"] = amount
        if kind == "account":
            account_id = _field(item, "account_id")
            try:
                account = await accounts.get_account_row(actor, str(account_id), pointer=f"{at}/account_id")
            except NotFound:
                raise _refuse(
                    f"{at}/account_id",
                    N_("Destination %(id)s is not an account of this business."),
                    N_("not found"),
                    "destination_not_found",
                    id=str(account_id),
                ) from None
            if account.status == "closed":
                raise _refuse(
                    f"{at}/account_id",
                    N_("Account %(id)s is closed."),
                    N_("account is closed"),
                    "account_closed",
                    id=account.id,
                )
            if account.kind == "system" or account.currency != "IDR":
                raise _refuse(
                    f"{at}/account_id",
                    N_("A split destination is an open rupiah account."),
                    N_("must be an IDR account"),
                    "invalid_split",
                )
            entry["account_id"] = account.id
            entry["name"] = account.name
        elif kind == "bank":
            beneficiary_id = str(_field(item, "beneficiary_id") or "")
            row = await _beneficiary(actor, beneficiary_id, f"{at}/beneficiary_id")
            country = str(_field(item, "country") or HOME_COUNTRY).upper()
            countries.add(country)
            entry.update(
                beneficiary_id=row["id"],
                bank_code=row["bank_code"],
                account_number=row["account_number"],
                holder_name=row["holder_name"],
                country=country,
            )
        else:
            raise _refuse(f"{at}/kind", N_("kind is account or bank."), N_("invalid"), "invalid_split")
        out.append(entry)
    if len(countries) > 1:
        raise _refuse(
            pointer,
            N_("All bank destinations of a split must be in the same country."),
            N_("mixed countries"),
            "mixed_country_split",
        )
    if countries and countries != {HOME_COUNTRY}:
        raise _refuse(
            pointer,
            N_("Bank destinations abroad are not supported: payouts go to Indonesian banks only."),
            N_("unsupported country"),
            "unsupported_country",
        )
    if total_percent > FULL:
        raise _refuse(
            pointer,
            N_("The percentages of a split add up to %(total)s %%, more than 100 %%."),
            N_("more than 100 %"),
            "split_over_100_percent",
            total=f"{Decimal(total_percent) / 100:g}",
        )
    return out


async def _beneficiary(actor: Actor, beneficiary_id: str, pointer: str) -> asyncpg.Record:
    try:
        await payouts.find_beneficiary(actor, beneficiary_id)
    except NotFound:
        raise _refuse(
            pointer,
            N_("Destination %(id)s is not a bank account of this business."),
            N_("not found"),
            "destination_not_found",
            id=beneficiary_id[:40],
        ) from None
    row = await sql.fetchrow(
        "SELECT id, kind, bank_code, account_number, holder_name FROM beneficiary WHERE id = $1 AND "
        "business_id = $2",
        beneficiary_id,
        actor.business_id,
    )
    assert row is not None
    if row["kind"] != "bank":
        raise _refuse(
            pointer,
            N_("A bank destination is a bank account beneficiary."),
            N_("not a bank account"),
            "invalid_split",
        )
    return row


def shares(destinations: list[dict[str, Any]]) -> list[Share]:
    return [Share(percent=d.get("percent"), amount=d.get("amount")) for d in destinations]


def check_against(destinations: list[dict[str, Any]], total: int, pointer: str = "/destinations") -> None:
    """Σ fixed ≤ Total Settlement Amount, and fixed + percentage parts together within it."""
    fixed = sum(int(d["amount"]) for d in destinations if d.get("amount") is not None)
    percent = sum(int(d["percent"]) for d in destinations if d.get("percent") is not None)
    if fixed > total or fixed + total * percent // FULL > total:
        raise _refuse(
            pointer,
            N_("The split's fixed amounts (%(fixed)s) exceed the Total Settlement Amount %(total)s."),
            N_("more than the settlement amount"),
            "split_exceeds_amount",
            fixed=Amount(fixed, "IDR"),
            total=Amount(total, "IDR"),
        )


async def require_active(actor: Actor) -> None:
    if await split_service(actor.business_id) != "active":
        raise Conflict(
            N_("Split settlement is not active for this business yet (Settings → Services)."),
            code="split_service_inactive",
        )


async def destinations_for_payment(
    actor: Actor, request: Any, account_id: str
) -> list[dict[str, Any]] | None:
    """The split a new payment carries: its own `split`, its `split_rule_id`'s, or the rule attached to
    its account — checked against its Total Settlement Amount."""
    destinations: list[dict[str, Any]] | None = None
    if request.split:
        await require_active(actor)
        destinations = await normalize(actor, request.split, pointer="/split")
        pointer = "/split"
    elif request.split_rule_id:
        await require_active(actor)
        rule = await _rule_row(actor, request.split_rule_id, pointer="/split_rule_id")
        destinations = await normalize(
            actor,
            json.loads(rule["destinations"])
            if isinstance(rule["destinations"], str)
            else rule["destinations"],
            pointer="/split_rule_id",
        )
        pointer = "/split_rule_id"
    else:
        rule = await sql.fetchrow(
            "SELECT destinations FROM split_rule WHERE business_id = $1 AND account_id = $2 AND "
            "deleted_at IS NULL "
            "ORDER BY updated_at DESC LIMIT 1",
            actor.business_id,
            account_id,
        )
        if rule is None or await split_service(actor.business_id) != "active":
            return None
        stored = rule["destinations"]
        destinations = await normalize(actor, json.loads(stored) if isinstance(stored, str) else stored)
        pointer = "/account_id"
    fee = mdr(await fees_of(actor.business_id), request.channel, request.amount)
    check_against(destinations, request.amount - fee, pointer)
    return destinations or None


# --- split rules ----------------------------------------------------------------------------------


def rule_out(row: asyncpg.Record) -> SplitRuleOut:
    stored = row["destinations"]
    return SplitRuleOut(
        id=row["id"],
        name=row["name"],
        account_id=row["account_id"],
        destinations=json.loads(stored) if isinstance(stored, str) else stored,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _rule_row(actor: Actor, rule_id: str, *, pointer: str | None = None) -> asyncpg.Record:
    row = await sql.fetchrow(
        "SELECT * FROM split_rule WHERE business_id = $1 AND id = $2 AND deleted_at IS NULL",
        actor.business_id,
        str(rule_id),
    )
    if row is not None and row["account_id"] is not None and actor.scope_account_id is not None:
        try:
            await accounts.get_account_row(actor, row["account_id"])
        except NotFound:
            row = None
    if row is None:
        if pointer is not None:
            raise _refuse(
                pointer,
                N_("Split rule %(id)s was not found."),
                N_("not found"),
                "split_rule_not_found",
                id=str(rule_id)[:40],
            )
        raise NotFound(N_("Split rule %(id)s was not found."), params={"id": str(rule_id)[:40]})
    return row


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 100:
        raise _refuse(
            "/name", N_("A split rule's name is 1 to 100 characters."), N_("invalid"), "invalid_split"
        )
    return value.strip()


async def _attach(actor: Actor, account_id: str | None) -> str | None:
    if account_id is None:
        return None
    account = await accounts.get_account_row(actor, account_id)
    if account.status == "closed":
        raise _refuse(
            "/account_id",
            N_("Account %(id)s is closed."),
            N_("account is closed"),
            "account_closed",
            id=account.id,
        )
    return account.id


async def create_rule(
    actor: Actor, *, name: str, destinations: list[Any], account_id: str | None = None
) -> SplitRuleOut:
    """A reusable split rule, optionally attached to an account (its payments then use it)."""
    actor.require("splits", "manage")
    await require_active(actor)
    clean_name = _name(name)
    stored = await normalize(actor, destinations)
    if not stored:
        raise _refuse(
            "/destinations", N_("A split rule has at least one destination."), N_("required"), "invalid_split"
        )
    attached = await _attach(actor, account_id)
    async with transaction():
        row = await sql.fetchrow(
            "INSERT INTO split_rule (business_id, id, name, account_id, destinations) VALUES ($1, "
            "$2, $3, $4, $5::jsonb) "
            "RETURNING *",
            actor.business_id,
            new_id("spl"),
            clean_name,
            attached,
            json.dumps(stored),
        )
    assert row is not None
    return rule_out(row)


async def get_rule(actor: Actor, rule_id: str) -> SplitRuleOut:
    actor.require("splits")
    return rule_out(await _rule_row(actor, rule_id))


async def find_rule(actor: Actor, rule_id: str) -> None:
    await _rule_row(actor, rule_id)


async def list_rules(actor: Actor, *, limit: int | None = None, after: str | None = None) -> SplitRulePage:
    actor.require("splits")
    size = clamp_limit(limit)
    args: list[Any] = [actor.business_id]
    where = ["deleted_at IS NULL"]
    cursor = decode_cursor(after)
    if cursor is not None:
        args.append(str(cursor))
        where.append(f"id < ${len(args)}")
    args.append(size + 1)
    clause = " AND ".join(where)
    rows = await sql.fetch(
        f"SELECT * FROM split_rule WHERE business_id = $1 AND {clause} ORDER BY id DESC LIMIT ${len(args)}",
        *args,
    )
    page = rows[:size]
    next_cursor = encode_cursor(page[-1]["id"]) if len(rows) > size else None
    return SplitRulePage([rule_out(r) for r in page], next_cursor is not None, next_cursor)


async def update_rule(actor: Actor, rule_id: str, changes: dict[str, Any]) -> SplitRuleOut:
    actor.require("splits", "manage")
    row = await _rule_row(actor, rule_id)
    name = _name(changes["name"]) if changes.get("name") is not None else row["name"]
    stored = row["destinations"]
    if changes.get("destinations") is not None:
        stored = await normalize(actor, changes["destinations"])
        if not stored:
            raise _refuse(
                "/destinations",
                N_("A split rule has at least one destination."),
                N_("required"),
                "invalid_split",
            )
        stored = json.dumps(stored)
    elif not isinstance(stored, str):
        stored = json.dumps(stored)
    account_id = (
        await _attach(actor, changes["account_id"])
        if "account_id" in changes and changes["account_id"] is not None
        else row["account_id"]
    )
    async with transaction():
        updated = await sql.fetchrow(
            "UPDATE split_rule SET name = $3, destinations = $4::jsonb, account_id = $5, updated_at = now() "
            "WHERE business_id = $1 AND id = $2 RETURNING *",
            actor.business_id,
            row["id"],
            name,
            stored,
            account_id,
        )
    assert updated is not None
    return rule_out(updated)


async def delete_rule(actor: Actor, rule_id: str) -> None:
    """Retire the rule (payments that copied it keep their destinations)."""
    actor.require("splits", "manage")
    row = await _rule_row(actor, rule_id)
    async with transaction():
        await sql.execute(
            "UPDATE split_rule SET deleted_at = now() WHERE business_id = $1 AND id = $2",
            actor.business_id,
            row["id"],
        )


# --- preview and per-transaction configuration ----------------------------------------------------


async def preview(
    actor: Actor,
    destinations: list[Any],
    *,
    amount: int | None = None,
    channel: str | None = None,
    payment_id: str | None = None,
) -> SplitPreview:
    """A dry run: what each destination would receive from one payment and the remainder (writes
    nothing). For an existing payment its own amount, fee and refunds are used."""
    actor.require("splits")
    from portal.domains.payments.services.payments import visible_row

    account_id: str | None = None
    refunded = 0
    if payment_id is not None:
        row = await visible_row(actor, payment_id)
        gross, fee, account_id, refunded = (
            int(row["amount"]),
            int(row["fee"]),
            row["account_id"],
            int(row["refunded_amount"]),
        )
    else:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise _refuse(
                "/amount",
                N_("A preview needs the payment's amount or its id."),
                N_("required"),
                "invalid_split",
            )
        gross = amount
        fee = mdr(await fees_of(actor.business_id), channel or "va", amount)
    stored = await normalize(actor, destinations)
    total = max(gross - fee - refunded, 0)
    check_against(stored, total)
    parts, remainder = split(total, shares(stored))
    default = await default_settlement_account(actor.business_id)
    return SplitPreview(
        gross=gross,
        fee=fee,
        total_settlement_amount=total,
        parts=[
            SplitShare(d["kind"], d.get("account_id"), d.get("beneficiary_id"), part)
            for d, part in zip(stored, parts, strict=True)
        ],
        remainder=remainder,
        remainder_account_id=default or account_id,
    )


async def update_payment_split(actor: Actor, payment_id: str, destinations: list[Any]) -> Payment:
    """Settlement Configuration of one transaction: save its destinations (an empty list cancels the
    split). Only Payment Success and Pending Settlement payments not yet in a batch can change."""
    actor.require("splits", "manage")
    from portal.domains.payments.services.payments import payment_out, visible_row

    await require_active(actor)
    stored = await normalize(actor, destinations)
    async with transaction():
        row = await visible_row(actor, payment_id, lock=True)
        if row["status"] not in EDITABLE or (
            row["settlement_id"] is not None and row["status"] != "pending_settlement"
        ):
            raise Conflict(
                N_("Payment %(id)s can no longer change its settlement: its batch was created."),
                code="payment_not_editable",
                params={"id": payment_id},
                errors=[FieldError("/destinations", N_("not editable"))],
            )
        total = int(row["amount"]) - int(row["fee"]) - int(row["refunded_amount"])
        check_against(stored, total)
        status = row["status"]
        remark = row["remark"]
        if status == "pending_settlement" and remark == INVALID_BANK_REMARK:
            # Fixed by the user: it settles in the next batch.
            remark = None
        updated = await sql.fetchrow(
            "UPDATE payment SET split = $3::jsonb, remark = $4, updated_at = now() WHERE business_id "
            "= $1 AND id = $2 "
            "RETURNING *",
            actor.business_id,
            payment_id,
            json.dumps(stored) if stored else None,
            remark,
        )
        from portal.domains.ledger.services.shared import audit

        await audit(
            actor,
            "payment.split_updated",
            f"Settlement configuration of {row['invoice_number']}: {len(stored)} destinations",
            {"payment_id": payment_id, "account_id": row["account_id"]},
        )
    assert updated is not None
    return payment_out(updated)
