"""Billings: a customer's Billing Number with its account, amount, type (Recurring or Reminder), status,
schedule (execute dates materialised ahead) and the card registered on the provider's hosted page."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.billing import schedule as schedules
from portal.domains.billing.schemas import BillingOut, BillingPage, CardOut
from portal.domains.billing.services import common
from portal.domains.billing.services.customers import customer_row
from portal.domains.provider import gateway
from portal.domains.provider import services as provider_services
from portal.domains.provider.gateway import CardRegistration
from portal.domains.webhooks.services import emit
from portal.lib import clock, security, sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict, FieldError, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.sql import transaction

NEXT_DATES_SHOWN = 6
_UPDATE = "UPDATE billing SET updated_at = $3, <set> WHERE business_id = $1 AND id = $2 RETURNING *"
TYPES = ("recurring", "reminder")

_COLUMNS = (
    "b.*, c.customer_ref, c.name AS customer_name, c.email AS customer_email, c.phone AS customer_phone"
)


def _schedule_of(row: asyncpg.Record | dict[str, Any]) -> schedules.Schedule | None:
    if not row["schedule_type"]:
        return None
    data = row["schedule"]
    data = json.loads(data) if isinstance(data, str) else dict(data or {})
    return schedules.Schedule.from_json(row["schedule_type"], data)


def billing_out(row: asyncpg.Record | dict[str, Any], next_dates: list[date]) -> BillingOut:
    data = row["schedule"]
    return BillingOut(
        id=row["id"],
        billing_number=row["billing_number"],
        customer_id=row["customer_id"],
        customer_ref=row["customer_ref"],
        account_id=row["account_id"],
        amount=row["amount"],
        currency=row["currency"],
        description=row["description"],
        type=row["kind"],
        status=row["status"],
        schedule_type=row["schedule_type"],
        schedule=json.loads(data) if isinstance(data, str) else dict(data or {}),
        next_execute_dates=next_dates,
        card=CardOut(
            status=row["card_status"],
            first6=row["card_first6"],
            last4=row["card_last4"],
            brand=row["card_brand"],
            issuer=row["card_issuer"],
            expiry_month=row["card_expiry_month"],
            expiry_year=row["card_expiry_year"],
            hosted_url=row["card_hosted_url"] if row["card_status"] == "pending" else None,
            registration_id=row["card_registration_id"],
        ),
        created_at=row["created_at"],
    )


async def next_dates(business_id: str, billing_id: str, count: int = NEXT_DATES_SHOWN) -> list[date]:
    """The next scheduled execute dates of a billing (today included), from the materialised rows."""
    rows = await sql.fetch(
        "SELECT execute_date FROM billing_execute_date WHERE business_id = $1 AND billing_id = $2 "
        "AND status = 'scheduled' AND execute_date >= $3 ORDER BY execute_date LIMIT $4",
        business_id,
        billing_id,
        common.today(),
        count,
    )
    return [r["execute_date"] for r in rows]


async def billing_row(
    actor: Actor, billing: str, *, lock: bool = False, pointer: str | None = None
) -> asyncpg.Record:
    """A billing of the actor's business and scope by id (`bil_…`) or Billing Number, or NotFound.
    A deleted billing is not found."""
    actor.require("billing")
    column = "b.id" if common.valid_id(billing, "bil") else "b.billing_number"
    args: list[Any] = [actor.business_id, str(billing)[:64]]
    scope = common.scope_clause(actor, args, "b.account_id")
    row = await sql.fetchrow(
        f"SELECT {_COLUMNS} FROM billing b JOIN billing_customer c "
        "ON c.business_id = b.business_id AND c.id = b.customer_id "
        f"WHERE b.business_id = $1 AND {column} = $2 AND b.status <> 'deleted'{scope}"
        + (" FOR UPDATE OF b" if lock else ""),
        *args,
    )
    if row is None:
        raise common.not_found("Billing", billing, pointer)
    return row


async def find_billing(actor: Actor, billing_id: str) -> None:
    await billing_row(actor, billing_id)


async def get_billing(actor: Actor, billing: str) -> BillingOut:
    """One billing with its next execute dates and card."""
    row = await billing_row(actor, billing)
    return billing_out(row, await next_dates(actor.business_id, row["id"]))


async def _materialise(
    business_id: str, billing_id: str, plan: schedules.Schedule | None, *, replace: bool
) -> None:
    """Write the billing's execute dates from today to the horizon (inside the caller's transaction).

    `replace` drops every future date first (a new schedule); otherwise only missing dates are added,
    so a date the user deleted stays deleted."""
    today = common.today()
    if replace:
        await sql.execute(
            "DELETE FROM billing_execute_date WHERE business_id = $1 AND billing_id = $2 AND "
            "execute_date >= $3",
            business_id,
            billing_id,
            today,
        )
    if plan is None:
        return
    dates = schedules.upcoming(plan, today)
    if dates:
        await sql.execute(
            "INSERT INTO billing_execute_date (business_id, billing_id, execute_date) "
            "SELECT $1, $2, d FROM unnest($3::date[]) AS d ON CONFLICT DO NOTHING",
            business_id,
            billing_id,
            dates,
        )


def _schedule_input(schedule: Any) -> tuple[str | None, dict[str, Any]]:
    if schedule is None:
        return None, {}
    if isinstance(schedule, dict):
        data = dict(schedule)
    else:
        data = {
            name: getattr(schedule, name) for name in ("schedule_type", "day", "weekdays", "months", "dates")
        }
    return data.pop("schedule_type", None), data


async def create_billing(
    actor: Actor,
    *,
    customer_id: Any,
    billing_number: Any,
    amount: Any,
    account_id: str | None = None,
    currency: Any = "IDR",
    description: Any = None,
    type: Any = "recurring",
    schedule: Any = None,
) -> BillingOut:
    """Add a billing for a customer: Billing Number unique in the business, the account the money is
    for (the main account, or the actor's scope, when none is given), amount, type and schedule."""
    actor.require("billing", "manage")
    common.refuse_card_numbers(
        {
            "/customer_id": customer_id,
            "/billing_number": billing_number,
            "/description": description,
            "/account_id": account_id,
        }
    )
    number = common.reference(billing_number, "/billing_number", "Billing Number")
    value = common.amount(amount)
    if str(currency or "IDR").upper() != "IDR":
        raise ValidationFailed(
            N_("Card billing collects rupiah only (IDR)."),
            code="unsupported_currency",
            errors=[FieldError("/currency", N_("IDR only"), "unsupported_currency")],
        )
    kind = str(type or "recurring").strip().lower()
    if kind not in TYPES:
        raise ValidationFailed(
            N_("The type is Recurring or Reminder."),
            code="invalid_type",
            errors=[FieldError("/type", N_("recurring or reminder"), "invalid_type")],
        )
    note = common.text(description, "/description", max_length=140, required=False)
    customer = await customer_row(actor, str(customer_id or ""), pointer="/customer_id")
    schedule_type, schedule_data = _schedule_input(schedule)
    plan = (
        schedules.parse(schedule_type, schedule_data, today=common.today(), prefix="/schedule")
        if schedule_type
        else None
    )
    if account_id:
        account = (await accounts.get_account_row(actor, account_id)).id
    elif actor.scope_account_id:
        account = actor.scope_account_id
    else:
        account = (await accounts.main_account(actor)).id
    billing_id = new_id("bil")
    async with transaction():
        try:
            await sql.execute(
                "INSERT INTO billing (business_id, id, customer_id, billing_number, account_id, "
                "amount, currency, "
                "description, kind, schedule_type, schedule, created_by, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, 'IDR', $7, $8, $9, $10::jsonb, $11, $12, $12)",
                actor.business_id,
                billing_id,
                customer["id"],
                number,
                account,
                value,
                note,
                kind,
                plan.type if plan else None,
                json.dumps(plan.to_json() if plan else {}),
                actor.user_id or actor.api_key_id,
                clock.now(),
            )
        except asyncpg.UniqueViolationError:
            raise ValidationFailed(
                N_("This Billing Number is already used in your business."),
                code="duplicate_billing_number",
                errors=[FieldError("/billing_number", N_("already used"), "duplicate_billing_number")],
            ) from None
        await _materialise(actor.business_id, billing_id, plan, replace=True)
        await emit(
            actor.business_id,
            "billing.created",
            {"id": billing_id, "billing_number": number, "customer_id": customer["customer_ref"]},
            account_ids=[account],
        )
        await common.audit(
            actor,
            "billing.created",
            f"Billing {number} added for customer {customer['customer_ref']}",
            {"billing_number": number, "customer_id": customer["customer_ref"]},
        )
    return await get_billing(actor, billing_id)


async def _change(
    actor: Actor,
    billing: str,
    action: str,
    summary: str,
    update: str,
    *args: Any,
    replace_dates: bool = False,
) -> BillingOut:
    actor.require("billing", "manage")
    async with transaction():
        row = await billing_row(actor, billing, lock=True)
        changed = await sql.fetchrow(
            _UPDATE.replace("<set>", update),
            actor.business_id,
            row["id"],
            clock.now(),
            *args,
        )
        assert changed is not None
        if replace_dates:
            await _materialise(actor.business_id, row["id"], _schedule_of(changed), replace=True)
        if action == "billing.activated":
            # Dates passed while inactive were skipped, not owed: they are never charged later.
            await sql.execute(
                "DELETE FROM billing_execute_date e WHERE e.business_id = $1 AND e.billing_id = $2 "
                "AND e.execute_date < $3 AND NOT EXISTS (SELECT 1 FROM billing_charge ch WHERE "
                "ch.business_id = $1 AND ch.billing_id = $2 AND ch.execute_date = e.execute_date)",
                actor.business_id,
                row["id"],
                common.today(),
            )
        await emit(
            actor.business_id,
            "billing.updated",
            {"id": row["id"], "billing_number": row["billing_number"], "change": action.split(".")[-1]},
            account_ids=[row["account_id"]],
        )
        await common.audit(
            actor,
            action,
            summary % {"number": row["billing_number"]},
            {"billing_number": row["billing_number"], "customer_id": row["customer_ref"]},
        )
    return await get_billing(actor, row["id"])


async def set_schedule(actor: Actor, billing: str, schedule: Any) -> BillingOut:
    """Edit Date: replace the billing's schedule (Date, Day or Full Date) and its future execute dates."""
    actor.require("billing", "manage")
    schedule_type, data = _schedule_input(schedule)
    plan = schedules.parse(schedule_type, data, today=common.today())
    return await _change(
        actor,
        billing,
        "billing.schedule_changed",
        "Billing %(number)s: schedule changed",
        "schedule_type = $4, schedule = $5::jsonb",
        plan.type,
        json.dumps(plan.to_json()),
        replace_dates=True,
    )


async def set_active(actor: Actor, billing: str, active: bool) -> BillingOut:
    """Activate or inactivate a billing: an inactive one is kept but never run."""
    return await _change(
        actor,
        billing,
        "billing.activated" if active else "billing.inactivated",
        "Billing %(number)s activated" if active else "Billing %(number)s inactivated",
        "status = $4",
        "active" if active else "inactive",
    )


async def change_type(actor: Actor, billing: str, kind: Any) -> BillingOut:
    """Change Type: Recurring (charges the card) or Reminder (notifies only, no charge)."""
    value = str(kind or "").strip().lower()
    if value not in TYPES:
        raise ValidationFailed(
            N_("The type is Recurring or Reminder."),
            code="invalid_type",
            errors=[FieldError("/type", N_("recurring or reminder"), "invalid_type")],
        )
    return await _change(
        actor, billing, "billing.type_changed", f"Billing %(number)s: type {value}", "kind = $4", value
    )


async def delete_billing(actor: Actor, billing: str) -> None:
    """Delete a billing: it never runs again and leaves the lists; its charges stay in the reports."""
    actor.require("billing", "manage")
    async with transaction():
        row = await billing_row(actor, billing, lock=True)
        await sql.execute(
            "UPDATE billing SET status = 'deleted', deleted_at = $3, updated_at = $3 "
            "WHERE business_id = $1 AND id = $2",
            actor.business_id,
            row["id"],
            clock.now(),
        )
        await sql.execute(
            "DELETE FROM billing_execute_date WHERE business_id = $1 AND billing_id = $2 AND "
            "execute_date >= $3",
            actor.business_id,
            row["id"],
            common.today(),
        )
        await emit(
            actor.business_id,
            "billing.deleted",
            {"id": row["id"], "billing_number": row["billing_number"]},
            account_ids=[row["account_id"]],
        )
        await common.audit(
            actor,
            "billing.deleted",
            f"Billing {row['billing_number']} deleted",
            {"billing_number": row["billing_number"], "customer_id": row["customer_ref"]},
        )


async def confirm_code(actor: Actor, otp: Any, pointer: str = "/otp") -> None:
    """A signed-in user confirms with a fresh authenticator code (each code once); API keys are their
    own authentication and need none."""
    if actor.kind != "user":
        return
    code = str(otp or "").strip()
    row = await sql.fetchrow(
        "SELECT totp_secret, totp_last_step FROM app_user WHERE id = $1 AND business_id = $2",
        actor.user_id,
        actor.business_id,
    )
    step = (
        security.totp_match(row["totp_secret"], code, clock.now())
        if row and row["totp_secret"] and code.isdigit()
        else None
    )
    fresh = step is not None and row is not None
    fresh = fresh and (row["totp_last_step"] is None or step > row["totp_last_step"])  # type: ignore[index]
    if fresh:
        fresh = bool(
            await sql.fetchval(
                "UPDATE app_user SET totp_last_step = $2 WHERE id = $1 AND business_id = $3 "
                "AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id",
                actor.user_id,
                step,
                actor.business_id,
            )
        )
    if not fresh:
        raise ValidationFailed(
            N_("The authenticator code does not match or was already used."),
            code="invalid_otp",
            errors=[FieldError(pointer, N_("code does not match"), "invalid_otp")],
        )


async def delete_execute_date(actor: Actor, billing: str, execute_date: Any, otp: Any = None) -> BillingOut:
    """Cancel one execute date of a billing (a future one, still scheduled), confirmed with the user's
    authenticator code."""
    actor.require("billing", "manage")
    try:
        day = (
            execute_date if isinstance(execute_date, date) else date.fromisoformat(str(execute_date).strip())
        )
    except ValueError:
        raise ValidationFailed(
            N_("Dates are written YYYY-MM-DD."),
            code="invalid_date",
            errors=[FieldError("/execute_date", N_("not a date"), "invalid_date")],
        ) from None
    row = await billing_row(actor, billing)
    await confirm_code(actor, otp)
    async with transaction():
        deleted = await sql.fetchval(
            "UPDATE billing_execute_date SET status = 'deleted', deleted_by = $4, deleted_at = $5 "
            "WHERE business_id = $1 AND billing_id = $2 AND execute_date = $3 AND status = 'scheduled' "
            "AND execute_date >= $6 AND NOT EXISTS (SELECT 1 FROM billing_charge ch WHERE "
            "ch.business_id = $1 "
            "AND ch.billing_id = $2 AND ch.execute_date = $3 AND ch.kind <> 'single') RETURNING execute_date",
            actor.business_id,
            row["id"],
            day,
            actor.user_id or actor.api_key_id,
            clock.now(),
            common.today(),
        )
        if deleted is None:
            raise ValidationFailed(
                N_("%(date)s is not an upcoming execute date of this billing."),
                params={"date": day.isoformat()},
                code="not_an_execute_date",
                errors=[
                    FieldError("/execute_date", N_("not an upcoming execute date"), "not_an_execute_date")
                ],
            )
        await common.audit(
            actor,
            "billing.execute_date_deleted",
            f"Billing {row['billing_number']}: execute date {day.isoformat()} deleted",
            {"billing_number": row["billing_number"], "customer_id": row["customer_ref"]},
        )
    return await get_billing(actor, row["id"])


async def list_billings(
    actor: Actor,
    *,
    search: str | None = None,
    customer: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> BillingPage:
    """Billings of the business and scope, newest first; `search` matches the Customer ID or the
    Billing Number exactly or by prefix (Manage Recurring's search); a card number typed into it is
    refused (never echoed, never logged)."""
    actor.require("billing")
    common.refuse_card_numbers({"/search": search, "/customer_id": customer})
    size = clamp_limit(limit)
    args: list[Any] = [actor.business_id]
    where = "b.business_id = $1 AND b.status <> 'deleted'"
    where += common.scope_clause(actor, args, "b.account_id")
    position = decode_cursor(after)
    if position is not None:
        args.append(str(position))
        where += f" AND b.id < ${len(args)}"
    if search and search.strip():
        args.append(search.strip()[:40].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        where += f" AND (b.billing_number ILIKE ${len(args)} OR c.customer_ref ILIKE ${len(args)})"
    if customer:
        args.append(str(customer)[:64])
        where += f" AND (c.id = ${len(args)} OR c.customer_ref = ${len(args)})"
    args.append(size + 1)
    rows = await sql.fetch(
        f"SELECT {_COLUMNS} FROM billing b JOIN billing_customer c "
        "ON c.business_id = b.business_id AND c.id = b.customer_id "
        f"WHERE {where} ORDER BY b.id DESC LIMIT ${len(args)}",
        *args,
    )
    more = len(rows) > size
    rows = rows[:size]
    upcoming = await _next_dates_many(actor.business_id, [r["id"] for r in rows])
    return BillingPage(
        [billing_out(r, upcoming.get(r["id"], [])) for r in rows],
        more,
        encode_cursor(rows[-1]["id"]) if more and rows else None,
    )


async def _next_dates_many(business_id: str, billing_ids: list[str]) -> dict[str, list[date]]:
    if not billing_ids:
        return {}
    rows = await sql.fetch(
        "SELECT billing_id, (array_agg(execute_date ORDER BY execute_date))[1:$4] AS dates "
        "FROM billing_execute_date WHERE business_id = $1 AND billing_id = ANY($2::text[]) "
        "AND status = 'scheduled' AND execute_date >= $3 GROUP BY billing_id",
        business_id,
        billing_ids,
        common.today(),
        NEXT_DATES_SHOWN,
    )
    return {r["billing_id"]: list(r["dates"]) for r in rows}


async def extend_execute_dates(business_id: str | None = None) -> int:
    """Add the execute dates that entered the horizon since the schedules were set (idempotent; a
    deleted date stays deleted). Returns the number of billings looked at."""
    args: list[Any] = []
    where = "status <> 'deleted' AND schedule_type IS NOT NULL AND schedule_type <> 'full_date'"
    if business_id:
        args.append(business_id)
        where += " AND business_id = $1"
    rows = await sql.fetch(
        f"SELECT business_id, id, schedule_type, schedule FROM billing WHERE {where}", *args
    )
    for row in rows:
        async with transaction():
            await _materialise(row["business_id"], row["id"], _schedule_of(row), replace=False)
    return len(rows)


# --- the card, registered on the provider's hosted page --------------------------------------------


async def start_card_registration(actor: Actor, billing: str, return_url: str) -> BillingOut:
    """Ask the provider for a hosted registration page for the billing's card; the customer types the
    card there (never in Neraca). Returns the billing with `card.hosted_url`."""
    actor.require("billing", "manage")
    if not return_url.startswith(("http://", "https://")) or len(return_url) > 2000:
        raise ValidationFailed(
            N_("The return address must be an http(s) URL."),
            code="invalid_return_url",
            errors=[FieldError("/return_url", N_("not an http(s) URL"), "invalid_return_url")],
        )
    row = await billing_row(actor, billing)
    if row["card_status"] == "pending" and row["card_hosted_url"]:
        return await get_billing(actor, row["id"])
    attempt = row["card_attempt"] + 1
    # A new customer reference per attempt: the provider answers a repeated one with its first answer.
    registration = await gateway.provider().register_card(
        actor.business_id, f"{row['id']}-{attempt}", return_url
    )
    async with transaction():
        await sql.execute(
            "UPDATE billing SET card_status = CASE WHEN card_status = 'registered' THEN card_status "
            "ELSE 'pending' END, "
            "card_registration_id = $3, card_hosted_url = $4, card_attempt = $5, updated_at = $6 "
            "WHERE business_id = $1 AND id = $2",
            actor.business_id,
            row["id"],
            registration.registration_id,
            registration.hosted_url,
            attempt,
            clock.now(),
        )
        await common.audit(
            actor,
            "billing.card_registration_started",
            f"Billing {row['billing_number']}: card registration started",
            {"billing_number": row["billing_number"], "customer_id": row["customer_ref"]},
        )
    return await get_billing(actor, row["id"])


async def _apply_registration(business_id: str, registration: CardRegistration) -> str:
    """Store the result of a registration on its billing (inside a transaction); idempotent."""
    row = await sql.fetchrow(
        "SELECT b.*, c.customer_ref FROM billing b JOIN billing_customer c ON c.business_id = b.business_id "
        "AND c.id = b.customer_id WHERE b.business_id = $1 AND b.card_registration_id = $2 FOR UPDATE OF b",
        business_id,
        registration.registration_id,
    )
    if row is None:
        return "unknown_reference"
    if registration.status == "registered" and registration.token:
        if row["card_status"] == "registered" and row["card_token"] == registration.token:
            return "already_registered"
        await sql.execute(
            "UPDATE billing SET card_status = 'registered', card_token = $3, card_first6 = $4, "
            "card_last4 = $5, "
            "card_brand = $6, card_issuer = $7, card_expiry_month = $8, card_expiry_year = $9, "
            "card_registered_at = $10, card_hosted_url = NULL, updated_at = $10 "
            "WHERE business_id = $1 AND id = $2",
            business_id,
            row["id"],
            registration.token,
            registration.first6,
            registration.last4,
            registration.brand,
            registration.issuer,
            registration.expiry_month,
            registration.expiry_year,
            clock.now(),
        )
        await emit(
            business_id,
            "billing.card_registered",
            {
                "id": row["id"],
                "billing_number": row["billing_number"],
                "customer_id": row["customer_ref"],
                "card": {
                    "first6": registration.first6,
                    "last4": registration.last4,
                    "brand": registration.brand,
                    "issuer": registration.issuer,
                },
            },
            account_ids=[row["account_id"]],
        )
        return "registered"
    if registration.status == "failed" and row["card_status"] == "pending":
        await sql.execute(
            "UPDATE billing SET card_status = 'failed', card_hosted_url = NULL, updated_at = $3 "
            "WHERE business_id = $1 AND id = $2",
            business_id,
            row["id"],
            clock.now(),
        )
        return "failed"
    return "pending"


async def complete_card_registration(actor: Actor, billing: str) -> BillingOut:
    """Read the registration's result from the provider (the customer came back from the hosted page)."""
    actor.require("billing", "manage")
    row = await billing_row(actor, billing)
    if not row["card_registration_id"]:
        raise Conflict(N_("No card registration was started for this billing."), code="no_card_registration")
    registration = await gateway.provider().get_card_registration(
        actor.business_id, row["card_registration_id"]
    )
    async with transaction():
        await _apply_registration(actor.business_id, registration)
    return await get_billing(actor, row["id"])


async def _registration_known(business_id: str, registration_id: str) -> bool:
    return bool(
        await sql.fetchval(
            "SELECT 1 FROM billing WHERE business_id = $1 AND card_registration_id = $2",
            business_id,
            registration_id,
        )
    )


async def _registration_callback(business_id: str, data: dict[str, Any]) -> str:
    return await _apply_registration(business_id, CardRegistration.from_json(data))


provider_services.on_card_registered(
    provider_services.CardHandler(known=_registration_known, apply=_registration_callback)
)


def days_ahead(days: int) -> date:
    return common.today() + timedelta(days=days)
