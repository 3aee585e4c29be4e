"""The billing run: every due execute date of an active billing is charged (Recurring) or announced
(Reminder) exactly once.

Exactly once comes from two keys. The claim: one `billing_charge` row per billing and execute date
(a unique index), inserted set-based; a second run or a second worker inserts nothing. The charge: the
row's invoice number is the payment's idempotency key, so a worker that dies between the provider's
answer and the write (kill -9), or two workers that both pick up a stale claim (a clock jump), get the
provider's first answer again instead of a second charge.

Soft declines (the bank may say yes later) are retried on the next business day under a new invoice
number, up to MAX_ATTEMPTS; hard declines are final. Every failure emits `billing.charge.failed`; the
final one also e-mails the customer.
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import date, timedelta
from typing import Any

import asyncpg
import structlog

from portal.domains.billing.schemas import RunOut
from portal.domains.billing.services import common
from portal.domains.billing.services.charging import CardCharge, ChargeResult, charge_card
from portal.domains.payouts.services import load_calendar
from portal.domains.provider.gateway import ProviderError
from portal.domains.webhooks.services import emit_many
from portal.lib import clock, sql
from portal.lib.errors import NeracaError
from portal.lib.sql import transaction

log = structlog.get_logger("neraca.billing")

MAX_ATTEMPTS = 3
# ISO 8583 answers worth trying again on a later day: do not honour, insufficient funds, exceeds limit,
# issuer unavailable. Everything else (invalid card, expired card, unknown codes) is final.
SOFT_DECLINES = frozenset({"05", "51", "61", "91"})
# A claim older than this is taken over (its worker died); taking it over is safe, see above.
STALE_CLAIM = timedelta(minutes=5)
BATCH = 200
CONCURRENCY = 16
FAILED_MAIL = "billing_charge_failed"
REMINDER_MAIL = "billing_reminder"


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


_CLAIM_SQL = """
INSERT INTO billing_charge (business_id, id, billing_id, customer_id, kind, execute_date, billing_number,
    invoice_number, account_id, amount, currency, status, next_attempt_on, created_at, updated_at, charged_at)
SELECT b.business_id, 'chg_' || substr(md5(b.business_id || b.id || e.execute_date::text), 1, 26),
    b.id, b.customer_id, b.kind, e.execute_date, b.billing_number,
    b.billing_number || '-' || to_char(e.execute_date, 'YYYYMMDD'), b.account_id, b.amount, b.currency,
    CASE WHEN b.kind = 'reminder' THEN 'reminded' ELSE 'pending' END, e.execute_date,
    $2::timestamptz, $2::timestamptz,
    CASE WHEN b.kind = 'reminder' THEN $2::timestamptz END
FROM billing_execute_date e
JOIN billing b ON b.business_id = e.business_id AND b.id = e.billing_id
WHERE e.status = 'scheduled' AND e.execute_date <= $1 AND b.status = 'active'
  AND ($3::text IS NULL OR b.business_id = $3)
ON CONFLICT (business_id, billing_id, execute_date) WHERE kind <> 'single' DO NOTHING
RETURNING business_id, id, billing_id, kind, execute_date, billing_number, invoice_number, account_id, amount,
    currency
"""


async def claim_due(day: date, business_id: str | None = None) -> tuple[int, int]:
    """Insert the claim of every due execute date (idempotent) and announce the reminders among them,
    in one transaction. Returns (new claims, reminders announced)."""
    async with transaction(), sql.connection() as conn:
        rows = await conn.fetch(_CLAIM_SQL, day, clock.now(), business_id)
        reminders = [r for r in rows if r["kind"] == "reminder"]
        if reminders:
            await emit_many(
                conn,
                [
                    (
                        r["business_id"],
                        "billing.reminder",
                        {
                            "charge_id": r["id"],
                            "billing_id": r["billing_id"],
                            "billing_number": r["billing_number"],
                            "invoice_number": r["invoice_number"],
                            "execute_date": r["execute_date"].isoformat(),
                            "amount": r["amount"],
                            "currency": r["currency"],
                        },
                        (r["account_id"],),
                    )
                    for r in reminders
                ],
            )
            for r in reminders:
                await _mail(conn, REMINDER_MAIL, r["business_id"], r["billing_id"], r)
    return len(rows), len(reminders)


_TAKE_SQL = """
UPDATE billing_charge ch SET status = 'charging', claimed_by = $3, claimed_at = $4, updated_at = $4
FROM (
    SELECT business_id, id FROM billing_charge
    WHERE next_attempt_on <= $1 AND kind <> 'reminder'
      AND (status IN ('pending', 'retry') OR (status = 'charging' AND claimed_at < $5))
      AND ($6::text IS NULL OR business_id = $6)
      AND NOT id = ANY($7::text[])
    ORDER BY next_attempt_on, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
) picked
WHERE ch.business_id = picked.business_id AND ch.id = picked.id
RETURNING ch.*
"""


async def _take(day: date, worker: str, business_id: str | None, done: set[str]) -> list[asyncpg.Record]:
    """Claim a batch of due charges, leaving those this run already tried (an unknown outcome waits,
    unclaimed, for the next run)."""
    now = clock.now()
    async with transaction():
        rows = await sql.fetch(_TAKE_SQL, day, BATCH, worker, now, now - STALE_CLAIM, business_id, list(done))
    return list(rows)


async def _card_of(business_id: str, billing_id: str) -> asyncpg.Record | None:
    return await sql.fetchrow(
        "SELECT b.card_status, b.card_token, b.card_first6, b.card_last4, b.card_brand, b.card_issuer, "
        "b.description, b.status, c.customer_ref, c.name, c.email FROM billing b JOIN billing_customer c "
        "ON c.business_id = b.business_id AND c.id = b.customer_id WHERE b.business_id = $1 AND b.id = $2",
        business_id,
        billing_id,
    )


async def _charge_one(
    row: asyncpg.Record,
) -> tuple[asyncpg.Record, asyncpg.Record | None, ChargeResult | None]:
    card = await _card_of(row["business_id"], row["billing_id"])
    if card is None or card["card_status"] != "registered" or not card["card_token"]:
        return (
            row,
            card,
            ChargeResult("failed", None, None, "No card is registered for this billing.", None, None, None),
        )
    try:
        result = await charge_card(
            CardCharge(
                business_id=row["business_id"],
                account_id=row["account_id"],
                invoice_number=row["invoice_number"],
                amount=row["amount"],
                currency=row["currency"],
                card_token=card["card_token"],
                customer_ref=card["customer_ref"],
                customer_name=card["name"],
                customer_email=card["email"],
                description=f"Billing {row['billing_number']} {row['execute_date']:%Y-%m-%d}",
                billing_id=row["billing_id"],
                charge_id=row["id"],
            )
        )
    except ProviderError as exc:
        # Unknown or not sent: keep the claim; the next run asks again under the same invoice number.
        log.warning("billing charge outcome unknown", charge_id=row["id"], code=exc.code)
        return row, card, None
    except NeracaError as exc:
        if exc.status >= 500:
            raise
        # Refused before reaching the bank (unknown card token, closed account…): final, no charge.
        return row, card, ChargeResult("failed", None, None, exc.code, None, None, None)
    if result.issuer is None:
        result = ChargeResult(**{**result.__dict__, "issuer": card["card_issuer"]})
    return row, card, result


async def _record(
    row: asyncpg.Record,
    card: asyncpg.Record | None,
    result: ChargeResult | None,
    worker: str,
    day: date,
    calendar: Any,
) -> str:
    """Write one attempt's outcome (only while this worker still holds the claim). Returns the state."""
    now = clock.now()
    async with transaction(), sql.connection() as conn:
        if result is None:
            await conn.execute(
                "UPDATE billing_charge SET status = 'pending', claimed_by = NULL, updated_at = $3 "
                "WHERE business_id = $1 AND id = $2 AND status = 'charging' AND claimed_by = $4",
                row["business_id"],
                row["id"],
                now,
                worker,
            )
            return "unknown"
        soft = result.status == "failed" and (result.response_code or "") in SOFT_DECLINES
        retry = soft and row["attempt"] < MAX_ATTEMPTS
        if result.status == "paid":
            state = "paid"
        elif retry:
            state = "retry"
        else:
            state = "failed"
        next_day = calendar.next_business_day(max(day, row["next_attempt_on"])) if retry else None
        next_invoice = (
            f"{row['billing_number']}-{row['execute_date']:%Y%m%d}-R{row['attempt'] + 1}" if retry else None
        )
        updated = await conn.fetchrow(
            "UPDATE billing_charge SET status = $3, response_code = $4, approval_code = $5, "
            "error_message = $6, "
            "issuer = $7, payment_id = $8, provider_payin_id = $9, card_first6 = $10, card_last4 = $11, "
            "card_brand = $12, charged_at = CASE WHEN $3 = 'paid' THEN $13 ELSE charged_at END, "
            "attempt = attempt + CASE WHEN $3 = 'retry' THEN 1 ELSE 0 END, "
            "next_attempt_on = CASE WHEN $3 = 'retry' THEN $14 ELSE next_attempt_on END, "
            "invoice_number = coalesce($15, invoice_number), claimed_by = NULL, updated_at = $13 "
            "WHERE business_id = $1 AND id = $2 AND status = 'charging' AND claimed_by = $16 AND "
            "attempt = $17 "
            "RETURNING *",
            row["business_id"],
            row["id"],
            state,
            result.response_code,
            result.approval_code,
            (result.error_message or "")[:200] or None,
            result.issuer,
            result.payment_id,
            result.provider_payin_id,
            card["card_first6"] if card else None,
            card["card_last4"] if card else None,
            card["card_brand"] if card else None,
            now,
            next_day,
            next_invoice,
            worker,
            row["attempt"],
        )
        if updated is None:
            return "lost_claim"  # another worker took the claim over and records the same answer
        await conn.execute(
            "INSERT INTO billing_charge_attempt (business_id, charge_id, attempt, invoice_number, status, "
            "response_code, approval_code, error_message, issuer, payment_id, attempted_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
            row["business_id"],
            row["id"],
            row["attempt"],
            row["invoice_number"],
            "paid" if state == "paid" else "failed",
            result.response_code,
            result.approval_code,
            (result.error_message or "")[:200] or None,
            result.issuer,
            result.payment_id,
            now,
        )
        data = {
            "id": row["id"],
            "billing_id": row["billing_id"],
            "billing_number": row["billing_number"],
            "invoice_number": row["invoice_number"],
            "execute_date": row["execute_date"].isoformat(),
            "amount": row["amount"],
            "currency": row["currency"],
            "attempt": row["attempt"],
            "response_code": result.response_code,
            "approval_code": result.approval_code,
            "error_message": result.error_message,
            "issuer": result.issuer,
        }
        if state == "paid":
            await emit_many(
                conn, [(row["business_id"], "billing.charge.succeeded", data, (row["account_id"],))]
            )
        else:
            data["retry_on"] = next_day.isoformat() if next_day else None
            await emit_many(conn, [(row["business_id"], "billing.charge.failed", data, (row["account_id"],))])
            if state == "failed":
                await _mail(conn, FAILED_MAIL, row["business_id"], row["billing_id"], updated)
    return state


async def _mail(
    conn: asyncpg.Connection, template: str, business_id: str, billing_id: str, charge: Any
) -> None:
    """Queue the customer's e-mail for a reminder or a final failure (nothing without an address)."""
    from portal.domains.identity import mail

    customer = await conn.fetchrow(
        "SELECT c.name, c.email, b.description, bz.name AS business_name, bz.default_language "
        "FROM billing b JOIN billing_customer c ON c.business_id = b.business_id AND c.id = b.customer_id "
        "JOIN business bz ON bz.id = b.business_id WHERE b.business_id = $1 AND b.id = $2",
        business_id,
        billing_id,
    )
    if customer is None or not customer["email"]:
        return
    mail.TEMPLATES.update({FAILED_MAIL, REMINDER_MAIL})
    await mail.queue(
        template,
        to=customer["email"],
        language=customer["default_language"],
        business_id=business_id,
        context={
            "customer_name": customer["name"],
            "business_name": customer["business_name"],
            "billing_number": charge["billing_number"],
            "invoice_number": charge["invoice_number"],
            "amount": charge["amount"],
            "currency": charge["currency"],
            "execute_date": charge["execute_date"].isoformat(),
            "description": customer["description"],
        },
    )


async def run_billing(
    *, day: date | None = None, business_id: str | None = None, worker: str | None = None
) -> RunOut:
    """Claim every due execute date up to `day` (today, WIB) and charge the claimed charges, in batches
    with up to CONCURRENCY provider calls at once. Safe to run from several workers at a time."""
    today = day or common.today()
    who = worker or worker_name()
    calendar = await load_calendar()
    _, reminded = await claim_due(today, business_id)
    counts = {"paid": 0, "failed": 0, "retry": 0, "unknown": 0, "lost_claim": 0}
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(row: asyncpg.Record) -> str:
        async with gate:
            charged = await _charge_one(row)
        return await _record(*charged, who, today, calendar)

    seen: set[str] = set()
    while True:
        rows = await _take(today, who, business_id, seen)
        if not rows:
            break
        seen.update(r["id"] for r in rows)
        for state in await asyncio.gather(*(one(r) for r in rows)):
            counts[state] = counts.get(state, 0) + 1
    return RunOut(
        charged=counts["paid"] + counts["failed"] + counts["retry"],
        paid=counts["paid"],
        failed=counts["failed"],
        retrying=counts["retry"],
        reminded=reminded,
    )
