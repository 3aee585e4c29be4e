"""Customers of card billing: a Customer ID unique per business, name, e-mail, phone."""

from __future__ import annotations

from typing import Any

import asyncpg

from portal.domains.billing.schemas import CustomerOut, CustomerPage
from portal.domains.billing.services import common
from portal.lib import clock, sql
from portal.lib.actor import Actor
from portal.lib.errors import FieldError, Forbidden, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.sql import transaction


def customer_out(row: asyncpg.Record | dict[str, Any]) -> CustomerOut:
    return CustomerOut(
        id=row["id"],
        customer_id=row["customer_ref"],
        name=row["name"],
        email=row["email"],
        phone=row["phone"],
        created_at=row["created_at"],
    )


def _require_whole_business(actor: Actor) -> None:
    """Customers belong to the whole business (not to an account): only a business-wide actor adds or
    changes them; a scoped one bills existing customers to its own accounts."""
    actor.require("billing", "manage")
    if actor.scope_account_id is not None:
        raise Forbidden(N_("Only a user with access to the whole business can add or change customers."))


def _duplicate() -> ValidationFailed:
    return ValidationFailed(
        N_("This Customer ID is already used in your business."),
        code="duplicate_customer_id",
        errors=[FieldError("/customer_id", N_("already used"), "duplicate_customer_id")],
    )


async def create_customer(
    actor: Actor, *, customer_id: Any, name: Any, email: Any = None, phone: Any = None
) -> CustomerOut:
    """Add a customer; the Customer ID is the business's own reference, unique in the business."""
    _require_whole_business(actor)
    values = {"/customer_id": customer_id, "/name": name, "/email": email, "/phone": phone}
    common.refuse_card_numbers({k: v for k, v in values.items() if isinstance(v, str)})
    ref = common.reference(customer_id, "/customer_id", "Customer ID")
    clean_name = common.text(name, "/name", max_length=100)
    clean_email = common.email(email)
    clean_phone = common.phone(phone)
    async with transaction():
        try:
            row = await sql.fetchrow(
                "INSERT INTO billing_customer (business_id, id, customer_ref, name, email, phone, "
                "created_by, "
                "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING *",
                actor.business_id,
                new_id("cus"),
                ref,
                clean_name,
                clean_email,
                clean_phone,
                actor.user_id or actor.api_key_id,
                clock.now(),
            )
        except asyncpg.UniqueViolationError:
            raise _duplicate() from None
        assert row is not None
        await common.audit(actor, "billing.customer_created", f"Customer {ref} added", {"customer_id": ref})
    return customer_out(row)


async def customer_row(actor: Actor, customer: str, *, pointer: str | None = None) -> asyncpg.Record:
    """A customer of the actor's business by its id (`cus_…`) or its Customer ID, or NotFound."""
    actor.require("billing")
    column = "id" if common.valid_id(customer, "cus") else "customer_ref"
    row = await sql.fetchrow(
        f"SELECT * FROM billing_customer WHERE business_id = $1 AND {column} = $2",
        actor.business_id,
        str(customer)[:64],
    )
    if row is None:
        raise common.not_found("Customer", customer, pointer)
    return row


async def get_customer(actor: Actor, customer: str) -> CustomerOut:
    """One customer of the business."""
    return customer_out(await customer_row(actor, customer))


async def find_customer(actor: Actor, customer_id: str) -> None:
    await customer_row(actor, customer_id)


async def update_customer(actor: Actor, customer: str, changes: dict[str, Any]) -> CustomerOut:
    """Change a customer's name, e-mail or phone (the Customer ID stays)."""
    current = await customer_row(actor, customer)
    _require_whole_business(actor)
    common.refuse_card_numbers({f"/{k}": v for k, v in changes.items() if isinstance(v, str)})
    name = common.text(changes["name"], "/name", max_length=100) if changes.get("name") is not None else None
    async with transaction():
        row = await sql.fetchrow(
            "UPDATE billing_customer SET name = coalesce($3, name), "
            "email = CASE WHEN $4 THEN $5 ELSE email END, phone = CASE WHEN $6 THEN $7 ELSE phone END, "
            "updated_at = $8 WHERE business_id = $1 AND id = $2 RETURNING *",
            actor.business_id,
            current["id"],
            name,
            "email" in changes and changes["email"] is not None,
            common.email(changes.get("email")),
            "phone" in changes and changes["phone"] is not None,
            common.phone(changes.get("phone")),
            clock.now(),
        )
        assert row is not None
        await common.audit(
            actor,
            "billing.customer_updated",
            f"Customer {row['customer_ref']} changed",
            {"customer_id": row["customer_ref"]},
        )
    return customer_out(row)


async def list_customers(
    actor: Actor, *, search: str | None = None, limit: int | None = None, after: str | None = None
) -> CustomerPage:
    """Customers of the business, newest first; `search` matches the Customer ID or the name (a card
    number typed into it is refused, never echoed, never logged)."""
    actor.require("billing")
    common.refuse_card_numbers({"/search": search})
    size = clamp_limit(limit)
    args: list[Any] = [actor.business_id]
    where = ""
    position = decode_cursor(after)
    if position is not None:
        args.append(str(position))
        where += f" AND id < ${len(args)}"
    if search:
        args.append(
            "%" + search.strip()[:60].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        where += f" AND (customer_ref ILIKE ${len(args)} OR name ILIKE ${len(args)})"
    args.append(size + 1)
    rows = await sql.fetch(
        "SELECT * FROM billing_customer WHERE business_id = $1"
        + where
        + f" ORDER BY id DESC LIMIT ${len(args)}",
        *args,
    )
    more = len(rows) > size
    rows = rows[:size]
    return CustomerPage(
        [customer_out(r) for r in rows], more, encode_cursor(rows[-1]["id"]) if more and rows else None
    )
