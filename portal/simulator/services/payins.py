"""Pay-ins: virtual accounts, QRIS, card charges on a stored token, e-wallets; cancel, refund, expire."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, time, timedelta
from typing import Any

import asyncpg

from portal.lib import ids
from portal.simulator import reference as ref
from portal.simulator.config import get_config
from portal.simulator.errors import SimError, conflict, invalid, not_found
from portal.simulator.services import callbacks, clock, fields, rails
from portal.simulator.services.items import repeated

OPEN = "pending"
REFUNDABLE = ("paid", "partially_refunded")


def merchant_code(merchant_id: str, digits: int) -> str:
    """A stable numeric code for a merchant (part of its VA numbers and its QRIS NMID)."""
    return str(int(hashlib.sha256(merchant_id.encode()).hexdigest(), 16))[:digits].rjust(digits, "0")


def view(row: asyncpg.Record) -> dict[str, Any]:
    """A pay-in as the API answers it (and as callbacks carry it)."""
    return {
        "payin_id": row["id"],
        "reference": row["reference"],
        "merchant_id": row["merchant_id"],
        "status": row["status"],
        "channel": row["channel"],
        "amount": row["amount"],
        "currency": row["currency"],
        "customer_name": row["customer_name"],
        "description": row["description"],
        "bank_code": row["bank_code"],
        "va_number": row["va_number"],
        "qris_string": row["qris_string"],
        "wallet": row["wallet"],
        "phone": row["phone"],
        "card_token": row["card_token"],
        "pay_url": f"{get_config().public_url}/pay/{row['id']}",
        "expires_at": fields.iso(row["expires_at"]),
        "created_at": fields.iso(row["created_at"]),
        "paid_at": fields.iso(row["paid_at"]),
        "response_code": row["response_code"],
        "approval_code": row["approval_code"],
        "response_message": row["response_message"],
        "fee": row["fee"],
        "refunded_amount": row["refunded"],
    }


async def _new_va_number(conn: asyncpg.Connection, bank_code: str, merchant_id: str) -> str:
    prefix = ref.BANKS[bank_code]["va_prefix"] + merchant_code(merchant_id, 4)
    for _ in range(20):
        number = prefix + "".join(secrets.choice("0123456789") for _ in range(16 - len(prefix)))
        if not await conn.fetchval("SELECT 1 FROM sim_payins WHERE va_number = $1", number):
            return number
    raise SimError(503, "va_exhausted", "No free virtual account number; try again.")


async def create(conn: asyncpg.Connection, partner_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Open a pay-in. A card charge answers at once (approved or declined); the others wait to be paid."""
    merchant_id = fields.required_text(body, "merchant_id", max_length=64)
    reference = fields.required_text(body, "reference", max_length=64)
    channel = fields.choice(body, "channel", ref.CHANNELS)
    amount = fields.amount(body)
    currency = fields.currency(body)
    customer_name = fields.required_text(body, "customer_name", max_length=100)
    description = fields.text(body, "description", required=False, max_length=255)
    now = await clock.now(conn, merchant_id)
    expires_at = fields.moment(body, "expires_at", required=channel != "card") or now + timedelta(days=1)
    if expires_at <= now:
        raise invalid("/expires_at", "expires_at must be in the future.")
    bank_code = va_number = qris = wallet = phone = card_token = None
    if channel == "virtual_account":
        bank_code = fields.choice(body, "bank_code", ref.VA_BANKS)
    elif channel == "ewallet":
        wallet = fields.choice(body, "wallet", ref.WALLETS)
        phone = fields.phone(body)
    elif channel == "card":
        card_token = fields.required_text(body, "card_token", max_length=64)
    assert channel is not None
    if amount > ref.PAYIN_MAX.get(channel, amount):
        raise invalid(
            "/amount",
            f"amount is above the {channel} limit of {ref.PAYIN_MAX[channel]}.",
            "amount_out_of_range",
        )
    await rails.gate(conn, "ewallet" if channel == "ewallet" else channel, get_config().timeout_hold_s)
    if await conn.fetchval(
        "SELECT 1 FROM sim_payins WHERE partner_id = $1 AND reference = $2", partner_id, reference
    ):
        raise conflict("duplicate_reference", f"A pay-in with reference {reference!r} already exists.")
    payin_id = ids.new_id("pi")
    if bank_code is not None:
        va_number = await _new_va_number(conn, bank_code, merchant_id)
    if channel == "qris":
        qris = ref.qris_payload(
            nmid="ID" + merchant_code(merchant_id, 13),
            merchant_name="NERACA " + merchant_code(merchant_id, 6),
            city="JAKARTA",
            amount=amount,
            reference=reference,
        )
    card = None
    if card_token is not None:
        card = await conn.fetchrow(
            "SELECT * FROM sim_cards WHERE token = $1 AND merchant_id = $2 FOR UPDATE",
            card_token,
            merchant_id,
        )
        if card is None:
            raise invalid(
                "/card_token", "card_token is not a card registered for this merchant.", "card_not_found"
            )
    row = await conn.fetchrow(
        "INSERT INTO sim_payins (id, partner_id, merchant_id, reference, channel, amount, currency, status, "
        "customer_name, description, bank_code, va_number, qris_string, wallet, phone, card_token, "
        "expires_at, created_at) "
        "VALUES ($1,$2,$3,$4,$5,$6,$7,'pending',$8,$9,$10,$11,$12,$13,$14,$15,$16,$17) RETURNING *",
        payin_id,
        partner_id,
        merchant_id,
        reference,
        channel,
        amount,
        currency,
        customer_name,
        description,
        bank_code,
        va_number,
        qris,
        wallet,
        phone,
        card_token,
        expires_at,
        now,
    )
    if card is not None:
        return await _charge(conn, row, card, now)
    await conn.execute(
        "INSERT INTO sim_work (kind, subject_id, merchant_id, due_at) VALUES ('payin_expire', $1, $2, $3)",
        payin_id,
        merchant_id,
        expires_at,
    )
    return view(row)


def _decline_code(card: asyncpg.Record, amount: int, now: datetime) -> str:
    if card["next_decline_code"]:
        return str(card["next_decline_code"])
    local = now.astimezone(clock.WIB)
    if (card["expiry_year"], card["expiry_month"]) < (local.year, local.month):
        return "54"
    if amount > ref.CARD_LIMIT:
        return "61"
    return "00"


async def _charge(
    conn: asyncpg.Connection, row: asyncpg.Record, card: asyncpg.Record, now: datetime
) -> dict[str, Any]:
    code = _decline_code(card, row["amount"], now)
    if card["next_decline_code"]:
        await conn.execute("UPDATE sim_cards SET next_decline_code = NULL WHERE token = $1", card["token"])
    if code == "00":
        approval = f"{secrets.randbelow(1_000_000):06d}"
        updated = await _mark_paid(conn, row["id"], now, response_code=code, approval_code=approval)
        return view(updated)
    updated = await conn.fetchrow(
        "UPDATE sim_payins SET status = 'failed', closed_at = $2, response_code = $3, response_message = $4 "
        "WHERE id = $1 RETURNING *",
        row["id"],
        now,
        code,
        ref.RESPONSE_CODES[code],
    )
    await callbacks.enqueue(conn, "payins", "payin.failed", updated["merchant_id"], view(updated))
    return view(updated)


async def _mark_paid(
    conn: asyncpg.Connection,
    payin_id: str,
    now: datetime,
    *,
    response_code: str | None = None,
    approval_code: str | None = None,
) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT channel, amount FROM sim_payins WHERE id = $1", payin_id)
    business_day = clock.business_date(now)
    settles = clock.add_business_days(business_day, ref.SETTLEMENT_DAYS[row["channel"]])
    updated = await conn.fetchrow(
        "UPDATE sim_payins SET status = 'paid', paid_at = $2, closed_at = $2, fee = $3, business_date = $4, "
        "settlement_date = $5, response_code = $6, approval_code = $7, response_message = $8 "
        "WHERE id = $1 RETURNING *",
        payin_id,
        now,
        ref.payin_fee(row["channel"], row["amount"]),
        business_day,
        settles,
        response_code,
        approval_code,
        ref.RESPONSE_CODES.get(response_code or "", None),
    )
    await conn.execute("DELETE FROM sim_work WHERE kind = 'payin_expire' AND subject_id = $1", payin_id)
    await callbacks.enqueue(conn, "payins", "payin.paid", updated["merchant_id"], view(updated))
    return updated


async def pay(conn: asyncpg.Connection, payin_id: str) -> dict[str, Any]:
    """The customer pays a VA / QRIS / e-wallet pay-in in full, now (on the merchant's clock)."""
    row = await conn.fetchrow("SELECT * FROM sim_payins WHERE id = $1 FOR UPDATE", payin_id)
    if row is None:
        raise not_found("Pay-in")
    if row["channel"] == "card":
        raise conflict(
            "invalid_state", "A card charge is not paid by the customer; it is approved or declined."
        )
    now = await clock.now(conn, row["merchant_id"])
    if row["status"] == OPEN and row["expires_at"] <= now:
        await _expire(conn, row)
        raise conflict("payin_expired", "The pay-in has expired.")
    if row["status"] != OPEN:
        raise conflict("invalid_state", f"The pay-in is {row['status']}, not pending.")
    return view(await _mark_paid(conn, payin_id, now))


async def payin_id_by(
    conn: asyncpg.Connection, *, reference: str | None = None, va_number: str | None = None
) -> str:
    if va_number is not None:
        found = await conn.fetchval("SELECT id FROM sim_payins WHERE va_number = $1", va_number)
    else:
        found = await conn.fetchval(
            "SELECT id FROM sim_payins WHERE reference = $1 ORDER BY created_at DESC", reference
        )
    if found is None:
        raise not_found("Pay-in")
    return str(found)


async def _expire(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
    updated = await conn.fetchrow(
        "UPDATE sim_payins SET status = 'expired', closed_at = expires_at WHERE id = $1 RETURNING *",
        row["id"],
    )
    await conn.execute("DELETE FROM sim_work WHERE kind = 'payin_expire' AND subject_id = $1", row["id"])
    await callbacks.enqueue(conn, "payins", "payin.expired", row["merchant_id"], view(updated))


async def expire_due(conn: asyncpg.Connection, payin_id: str) -> None:
    """Work item: the pay-in's time is up; a still-pending one expires (and Neraca is told)."""
    row = await conn.fetchrow("SELECT * FROM sim_payins WHERE id = $1 FOR UPDATE", payin_id)
    if row is not None and row["status"] == OPEN:
        await _expire(conn, row)


async def get(
    conn: asyncpg.Connection, partner_id: str, payin_id: str, merchant_id: str | None
) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT * FROM sim_payins WHERE id = $1 AND partner_id = $2 AND ($3::text IS NULL OR merchant_id = "
        "$3)",
        payin_id,
        partner_id,
        merchant_id,
    )
    if row is None:
        raise not_found("Pay-in")
    return view(row)


async def by_reference(
    conn: asyncpg.Connection, partner_id: str, reference: str, merchant_id: str | None
) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT * FROM sim_payins WHERE reference = $1 AND partner_id = $2 AND ($3::text IS NULL OR "
        "merchant_id = $3)",
        reference,
        partner_id,
        merchant_id,
    )
    if row is None:
        raise not_found("Pay-in")
    return view(row)


async def _own(
    conn: asyncpg.Connection, partner_id: str, payin_id: str, body: dict[str, Any]
) -> asyncpg.Record:
    merchant_id = fields.required_text(body, "merchant_id", max_length=64)
    row = await conn.fetchrow(
        "SELECT * FROM sim_payins WHERE id = $1 AND partner_id = $2 AND merchant_id = $3 FOR UPDATE",
        payin_id,
        partner_id,
        merchant_id,
    )
    if row is None:
        raise not_found("Pay-in")
    return row


async def cancel(
    conn: asyncpg.Connection, partner_id: str, payin_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Close a pending pay-in so it can no longer be paid."""
    row = await _own(conn, partner_id, payin_id, body)
    if row["status"] != OPEN:
        raise conflict(
            "invalid_state", f"The pay-in is {row['status']}; only a pending one can be cancelled."
        )
    now = await clock.now(conn, row["merchant_id"])
    updated = await conn.fetchrow(
        "UPDATE sim_payins SET status = 'cancelled', closed_at = $2 WHERE id = $1 RETURNING *", payin_id, now
    )
    await conn.execute("DELETE FROM sim_work WHERE kind = 'payin_expire' AND subject_id = $1", payin_id)
    return view(updated)


async def void(
    conn: asyncpg.Connection, partner_id: str, payin_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Void a paid card charge before its business day's settlement cut-off: nothing settles, no fee."""
    row = await _own(conn, partner_id, payin_id, body)
    await rails.gate(conn, row["channel"], get_config().timeout_hold_s)
    if row["channel"] != "card":
        raise conflict("invalid_state", "Only a card charge can be voided; refund this pay-in instead.")
    if row["status"] != "paid":
        raise conflict(
            "invalid_state", f"The pay-in is {row['status']}; only a paid card charge can be voided."
        )
    now = await clock.now(conn, row["merchant_id"])
    cutoff = clock.wib(row["business_date"], time(ref.VOID_CUTOFF_HOUR))
    if now >= cutoff:
        raise conflict(
            "void_window_closed",
            f"The void window closed at the settlement cut-off ({cutoff.isoformat()}); refund the charge.",
        )
    updated = await conn.fetchrow(
        "UPDATE sim_payins SET status = 'voided', fee = 0, closed_at = $2 WHERE id = $1 RETURNING *",
        payin_id,
        now,
    )
    answer = view(updated)
    await callbacks.enqueue(conn, "payins", "payin.voided", row["merchant_id"], answer)
    return answer


def refund_view(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "refund_id": row["id"],
        "payin_id": row["payin_id"],
        "merchant_id": row["merchant_id"],
        "reference": row["reference"],
        "status": row["status"],
        "amount": row["amount"],
        "fee": row["fee"],
        "created_at": fields.iso(row["created_at"]),
    }


async def refund(
    conn: asyncpg.Connection, partner_id: str, payin_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Refund part or all of a paid pay-in (never more than what is left)."""
    row = await _own(conn, partner_id, payin_id, body)
    amount = fields.amount(body)
    reference = fields.required_text(body, "reference", max_length=64)
    await rails.gate(
        conn, "ewallet" if row["channel"] == "ewallet" else row["channel"], get_config().timeout_hold_s
    )
    if row["status"] not in REFUNDABLE:
        raise conflict("invalid_state", f"The pay-in is {row['status']}; only a paid one can be refunded.")
    if await conn.fetchval(
        "SELECT 1 FROM sim_refunds WHERE payin_id = $1 AND reference = $2", payin_id, reference
    ):
        raise conflict("duplicate_reference", f"A refund with reference {reference!r} already exists.")
    left = row["amount"] - row["refunded"]
    if amount > left:
        raise invalid("/amount", f"amount exceeds what is left to refund ({left}).", "refund_exceeds_payin")
    now = await clock.now(conn, row["merchant_id"])
    refund_row = await conn.fetchrow(
        "INSERT INTO sim_refunds (id, payin_id, merchant_id, reference, amount, fee, status, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, 'succeeded', $7) RETURNING *",
        ids.new_id("rf"),
        payin_id,
        row["merchant_id"],
        reference,
        amount,
        ref.REFUND_FEES[row["channel"]],
        now,
    )
    await conn.execute(
        "UPDATE sim_payins SET refunded = refunded + $2, "
        "status = CASE WHEN refunded + $2 = amount THEN 'refunded' ELSE 'partially_refunded' END WHERE id "
        "= $1",
        payin_id,
        amount,
    )
    answer = refund_view(refund_row)
    await callbacks.enqueue(conn, "refunds", "refund.succeeded", row["merchant_id"], answer)
    return answer


MAX_CHARGES = 500


def _same_charge(row: asyncpg.Record, merchant_id: str, item: dict[str, Any]) -> bool:
    return (
        row["merchant_id"] == merchant_id
        and row["channel"] == "card"
        and row["card_token"] == item["card_token"]
        and row["amount"] == item["amount"]
    )


async def charge_many(conn: asyncpg.Connection, partner_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Charge several stored cards in one call, each as `create` would (its own pay-in, response code,
    callback, decline-next), each idempotent by its reference: a reference already charged with the same
    card and amount answers that pay-in again (no second charge), with other details `duplicate_reference`.
    Answers one outcome per item, in order: `{"reference", "payin"}` or `{"reference", "error"}`."""
    merchant_id = fields.required_text(body, "merchant_id", max_length=64)
    items = body.get("charges")
    if not isinstance(items, list) or not items or len(items) > MAX_CHARGES:
        raise invalid("/charges", f"charges is a list of 1 to {MAX_CHARGES} card charges.")
    await rails.gate(conn, "card", get_config().timeout_hold_s)
    now = await clock.now(conn, merchant_id)
    outcomes: list[dict[str, Any]] = []
    checked: list[dict[str, Any] | None] = []
    for n, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise invalid(f"/charges/{n}", "Each charge is an object.")
            checked.append(
                {
                    "reference": fields.required_text(item, "reference", max_length=64),
                    "amount": fields.amount(item),
                    "currency": fields.currency(item),
                    "customer_name": fields.required_text(item, "customer_name", max_length=100),
                    "description": fields.text(item, "description", required=False, max_length=255),
                    "card_token": fields.required_text(item, "card_token", max_length=64),
                }
            )
            outcomes.append({})
        except SimError as exc:
            checked.append(None)
            reference = item.get("reference") if isinstance(item, dict) else None
            outcomes.append({"reference": reference, "error": exc.body()})
    valid = [c for c in checked if c is not None]
    existing = {
        r["reference"]: r
        for r in await conn.fetch(
            "SELECT * FROM sim_payins WHERE partner_id = $1 AND reference = ANY($2::text[])",
            partner_id,
            [c["reference"] for c in valid],
        )
    }
    cards = {
        r["token"]: dict(r)
        for r in await conn.fetch(
            "SELECT * FROM sim_cards WHERE merchant_id = $1 AND token = ANY($2::text[]) ORDER BY token "
            "FOR UPDATE",
            merchant_id,
            sorted({c["card_token"] for c in valid}),
        )
    }
    new: list[tuple[int, dict[str, Any], str, str | None]] = []
    seen: set[str] = set()
    used_declines: set[str] = set()
    for n, item in enumerate(checked):
        if item is None:
            continue
        reference = item["reference"]
        first = existing.get(reference)
        if first is not None or reference in seen:
            same = first if first is not None and _same_charge(first, merchant_id, item) else None
            outcomes[n] = repeated(reference, same, "payin", view)
            continue
        card = cards.get(item["card_token"])
        if card is None:
            outcomes[n] = {
                "reference": reference,
                "error": invalid(
                    "/card_token", "card_token is not a card registered for this merchant.", "card_not_found"
                ).body(),
            }
            continue
        if item["amount"] > ref.PAYIN_MAX.get("card", item["amount"]):
            outcomes[n] = {
                "reference": reference,
                "error": invalid("/amount", "amount is above the card limit.", "amount_out_of_range").body(),
            }
            continue
        seen.add(reference)
        code = _decline_code(card, item["amount"], now)
        if card["next_decline_code"]:
            used_declines.add(card["token"])
            card["next_decline_code"] = None  # it applies once
        new.append((n, item, code, f"{secrets.randbelow(1_000_000):06d}" if code == "00" else None))
    if used_declines:
        await conn.execute(
            "UPDATE sim_cards SET next_decline_code = NULL WHERE token = ANY($1::text[])", list(used_declines)
        )
    if new:
        business_day = clock.business_date(now)
        settles = clock.add_business_days(business_day, ref.SETTLEMENT_DAYS["card"])
        paid = [code == "00" for _, _, code, _ in new]
        rows = await conn.fetch(
            "INSERT INTO sim_payins (id, partner_id, merchant_id, reference, channel, amount, currency, "
            "status, customer_name, description, card_token, expires_at, created_at, paid_at, closed_at, "
            "response_code, approval_code, response_message, fee, business_date, settlement_date) "
            "SELECT x.id, $1, $2, x.reference, 'card', x.amount, x.currency, "
            "CASE WHEN x.paid THEN 'paid' ELSE 'failed' END, x.customer_name, x.description, x.card_token, "
            "$3::timestamptz + interval '1 day', $3, CASE WHEN x.paid THEN $3::timestamptz END, $3, "
            "x.response_code, x.approval_code, x.response_message, CASE WHEN x.paid THEN x.fee ELSE 0 END, "
            "CASE WHEN x.paid THEN $4::date END, CASE WHEN x.paid THEN $5::date END "
            "FROM unnest($6::text[], $7::text[], $8::bigint[], $9::text[], $10::text[], $11::text[], "
            "$12::text[], $13::bool[], $14::text[], $15::text[], $16::text[], $17::bigint[]) "
            "WITH ORDINALITY AS x(id, reference, amount, currency, customer_name, description, card_token, "
            "paid, response_code, approval_code, response_message, fee, ord) ORDER BY x.ord RETURNING *",
            partner_id,
            merchant_id,
            now,
            business_day,
            settles,
            [ids.new_id("pi") for _ in new],
            [item["reference"] for _, item, _, _ in new],
            [item["amount"] for _, item, _, _ in new],
            [item["currency"] for _, item, _, _ in new],
            [item["customer_name"] for _, item, _, _ in new],
            [item["description"] for _, item, _, _ in new],
            [item["card_token"] for _, item, _, _ in new],
            paid,
            [code for _, _, code, _ in new],
            [approval for _, _, _, approval in new],
            [ref.RESPONSE_CODES.get(code) for _, _, code, _ in new],
            [ref.payin_fee("card", item["amount"]) for _, item, _, _ in new],
        )
        by_reference = {r["reference"]: r for r in rows}
        events = []
        for n, item, _code, _ in new:
            row = by_reference[item["reference"]]
            answer = view(row)
            outcomes[n] = {"reference": item["reference"], "payin": answer}
            events.append(("payin.paid" if row["status"] == "paid" else "payin.failed", merchant_id, answer))
        await callbacks.enqueue_many(conn, "payins", events)
    return {"charges": outcomes}
