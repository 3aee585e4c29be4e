"""Card registration through the hosted page (tokenisation) and card controls.

The full card number reaches only the hosted page's form handler: it is Luhn-checked, its BIN read, and
only first-6, last-4, a keyed fingerprint and the expiry are kept.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

import asyncpg

from portal.lib import ids
from portal.lib.i18n import N_
from portal.simulator import reference as ref
from portal.simulator.config import get_config
from portal.simulator.errors import conflict, invalid, not_found
from portal.simulator.services import callbacks, clock, fields


def registration_view(row: asyncpg.Record, card: asyncpg.Record | None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "registration_id": row["id"],
        "merchant_id": row["merchant_id"],
        "customer_ref": row["customer_ref"],
        "status": row["status"],
        "hosted_url": f"{get_config().public_url}/cards/register/{row['id']}",
        "token": None,
        "first6": None,
        "last4": None,
        "brand": None,
        "issuer": None,
        "expiry_month": None,
        "expiry_year": None,
    }
    if card is not None:
        answer.update(
            token=card["token"],
            first6=card["first6"],
            last4=card["last4"],
            brand=card["brand"],
            issuer=card["issuer"],
            expiry_month=card["expiry_month"],
            expiry_year=card["expiry_year"],
        )
    return answer


async def create_registration(
    conn: asyncpg.Connection, partner_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Start a registration: the customer enters the card on `hosted_url`, then returns to `return_url`."""
    merchant_id = fields.required_text(body, "merchant_id", max_length=64)
    customer_ref = fields.required_text(body, "customer_ref", max_length=64)
    return_url = fields.required_text(body, "return_url", max_length=2048)
    assert return_url is not None
    if not return_url.startswith(("http://", "https://")):
        raise invalid("/return_url", "return_url must be an http(s) URL.")
    now = await clock.now(conn, merchant_id)
    row = await conn.fetchrow(
        "INSERT INTO sim_card_registrations (id, partner_id, merchant_id, customer_ref, return_url, "
        "status, created_at) "
        "VALUES ($1, $2, $3, $4, $5, 'pending', $6) RETURNING *",
        ids.new_id("cr"),
        partner_id,
        merchant_id,
        customer_ref,
        return_url,
        now,
    )
    return registration_view(row, None)


async def get_registration(
    conn: asyncpg.Connection, registration_id: str, *, partner_id: str | None = None
) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT * FROM sim_card_registrations WHERE id = $1 AND ($2::text IS NULL OR partner_id = $2)",
        registration_id,
        partner_id,
    )
    if row is None:
        raise not_found("Card registration")
    card = (
        await conn.fetchrow("SELECT * FROM sim_cards WHERE token = $1", row["token"])
        if row["token"]
        else None
    )
    return registration_view(row, card)


@dataclass
class CardForm:
    number: str
    expiry: str
    cvv: str
    holder: str


_EXPIRY = re.compile(r"^(0[1-9]|1[0-2])\s*/\s*(\d{2}|\d{4})$")


async def submit(
    conn: asyncpg.Connection, registration_id: str, form: CardForm
) -> tuple[dict[str, Any], str]:
    """The hosted form: check the card, tokenise it; returns the registration and where to send the customer.

    Raises a 422 SimError naming the field for a wrong number, expiry, CVV or holder (its message a msgid,
    translated by the page that shows it).
    """
    row = await conn.fetchrow(
        "SELECT * FROM sim_card_registrations WHERE id = $1 FOR UPDATE", registration_id
    )
    if row is None:
        raise not_found("Card registration")
    if row["status"] != "pending":
        raise conflict("invalid_state", "This card registration is already complete.")
    number = re.sub(r"[\s-]", "", form.number)
    if not number.isdigit() or not 12 <= len(number) <= 19 or not ref.luhn_ok(number):
        raise invalid("/card_number", N_("The card number is not valid."))
    match = _EXPIRY.match(form.expiry.strip())
    if match is None:
        raise invalid("/expiry", N_("Enter the expiry as MM/YY."))
    month, year = int(match.group(1)), int(match.group(2))
    year = year + 2000 if year < 100 else year
    now = (await clock.now(conn, row["merchant_id"])).astimezone(clock.WIB)
    if (year, month) < (now.year, now.month):
        raise invalid("/expiry", N_("The card has expired."))
    brand = ref.card_brand(number)
    if not form.cvv.isdigit() or len(form.cvv) != (4 if brand == "amex" else 3):
        raise invalid("/cvv", N_("The security code is not valid."))
    holder = form.holder.strip()
    if not holder or len(holder) > 100:
        raise invalid("/holder", N_("Enter the name on the card."))
    fingerprint = hmac.new(get_config().secret.encode(), number.encode(), hashlib.sha256).hexdigest()
    token = ids.new_id("tok")
    card = await conn.fetchrow(
        "INSERT INTO sim_cards (token, merchant_id, customer_ref, first6, last4, brand, issuer, "
        "expiry_month, "
        "expiry_year, holder_name, fingerprint, created_at) VALUES "
        "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING *",
        token,
        row["merchant_id"],
        row["customer_ref"],
        number[:6],
        number[-4:],
        brand,
        ref.BINS.get(number[:6], "Unknown issuer"),
        month,
        year,
        holder.upper(),
        fingerprint,
        now,
    )
    updated = await conn.fetchrow(
        "UPDATE sim_card_registrations SET status = 'registered', token = $2 WHERE id = $1 RETURNING *",
        registration_id,
        token,
    )
    answer = registration_view(updated, card)
    await callbacks.enqueue(conn, "cards", "card.registered", row["merchant_id"], answer)
    separator = "&" if "?" in row["return_url"] else "?"
    return answer, f"{row['return_url']}{separator}registration_id={registration_id}"


async def abandon(conn: asyncpg.Connection, registration_id: str) -> str:
    """The customer cancels on the hosted page: the registration fails; returns where to send them."""
    row = await conn.fetchrow(
        "UPDATE sim_card_registrations SET status = 'failed' WHERE id = $1 AND status = 'pending' "
        "RETURNING *",
        registration_id,
    )
    if row is None:
        raise conflict("invalid_state", "This card registration is already complete.")
    separator = "&" if "?" in row["return_url"] else "?"
    return f"{row['return_url']}{separator}registration_id={registration_id}"


async def decline_next(conn: asyncpg.Connection, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """The next charge on this card is declined with `response_code`."""
    code = fields.choice(body, "response_code", tuple(code for code in ref.RESPONSE_CODES if code != "00"))
    found = await conn.fetchval(
        "UPDATE sim_cards SET next_decline_code = $2 WHERE token = $1 RETURNING token", token, code
    )
    if found is None:
        raise not_found("Card")
    return {"token": token, "next_decline_code": code}
