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
from portal.domains.billing.services.charging import CardCharge, ChargeResult, charge_cards
from portal.domains.payouts.services import load_calendar
from portal.domains.provider.gateway import ProviderError
from portal.domains.webhooks.services import emit_many
from portal.lib import clock, sql
from portal.lib.errors import NeracaError
from portal.lib.sql import transaction
from portal.settings import get_settings

log = structlog.get_logger("neraca.billing")

MAX_ATTEMPTS = 3
# ISO 8583 answers worth trying again on a later day: do not honour, insufficient funds, exceeds limit,
# issuer unavailable. Everything else (invalid card, expired card, unknown codes) is final.
SOFT_DECLINES = frozenset({"05", "51", "61", "91"})
# A claim older than this is taken over (its worker died); taking it over is safe, see above.
STALE_CLAIM = timedelta(minutes=5)
# Claims inserted at once past which the planner's statistics of the charges are refreshed.
BIG_CLAIM = 10_000
# Chunks in flight at once (a chunk: the claims charged per provider call, see batch_size).
CONCURRENCY = 4
FAILED_MAIL = "billing_charge_failed"
REMINDER_MAIL = "billing_reminder"


def batch_size() -> int:
    """Claims taken and charged per provider call (NERACA_BILLING_RUN_BATCH, default 200)."""
    return get_settings().billing_run_batch


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# A claim already there (another run's, committed or not) is left as it is. The conflict names no index:
# the claim's id is derived from (business, billing, date), so a second run inserting the same claim at
# the same moment can meet the first one's primary key before its (billing, date) key — named alone,
# that key would leave the primary key's violation an error (seen with two runs at once).
_CLAIM_SQL = """
INSERT INTO billing_charge (business_id, id, billing_id, customer_id, kind, execute_date, billing_number,
    invoice_number, account_id, amount, currency, status, next_attempt_on, batch_id, created_at, updated_at,
    charged_at)
SELECT b.business_id, 'chg_' || substr(md5(b.business_id || b.id || e.execute_date::text), 1, 26),
    b.id, b.customer_id, b.kind, e.execute_date, b.billing_number,
    b.billing_number || '-' || to_char(e.execute_date, 'YYYYMMDD'), b.account_id, b.amount, b.currency,
    CASE WHEN b.kind = 'reminder' THEN 'reminded' ELSE 'pending' END, e.execute_date, b.batch_id,
    $2::timestamptz, $2::timestamptz,
    CASE WHEN b.kind = 'reminder' THEN $2::timestamptz END
FROM billing_execute_date e
JOIN billing b ON b.business_id = e.business_id AND b.id = e.billing_id
WHERE e.status = 'scheduled' AND e.execute_date <= $1 AND b.status = 'active'
  AND ($3::text IS NULL OR b.business_id = $3)
ON CONFLICT DO NOTHING
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
    if len(rows) >= BIG_CLAIM:
        # The charges table just grew at once: the takes that follow are planned on its new size.
        await sql.execute("ANALYZE billing_charge")
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
        rows = await sql.fetch(
            _TAKE_SQL, day, batch_size(), worker, now, now - STALE_CLAIM, business_id, list(done)
        )
    return list(rows)


_CARDS_SQL = (
    "SELECT b.id, b.card_status, b.card_token, b.card_first6, b.card_last4, b.card_brand, b.card_issuer, "
    "b.description, b.status, c.customer_ref, c.name, c.email FROM billing b JOIN billing_customer c "
    "ON c.business_id = b.business_id AND c.id = b.customer_id "
    "WHERE b.business_id = $1 AND b.id = ANY($2::text[])"
)

Charged = tuple[asyncpg.Record, asyncpg.Record | None, ChargeResult | None]


def _no_card() -> ChargeResult:
    return ChargeResult("failed", None, None, "No card is registered for this billing.", None, None, None)


async def _charge_chunk(business_id: str, rows: list[asyncpg.Record]) -> list[Charged]:
    """Charge one business's chunk of claims in one provider call; each claim with its card and result
    (None: the outcome is not known, the claim is put back)."""
    cards = {r["id"]: r for r in await sql.fetch(_CARDS_SQL, business_id, [r["billing_id"] for r in rows])}
    out: list[Charged] = []
    to_charge: list[tuple[asyncpg.Record, asyncpg.Record]] = []
    for row in rows:
        card = cards.get(row["billing_id"])
        if card is None or card["card_status"] != "registered" or not card["card_token"]:
            out.append((row, card, _no_card()))
        else:
            to_charge.append((row, card))
    if not to_charge:
        return out
    try:
        results = await charge_cards(
            business_id,
            [
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
                for row, card in to_charge
            ],
        )
    except ProviderError as exc:
        # Unknown or not sent: keep the claims; the next run asks again under the same invoice numbers.
        log.warning("billing charges outcome unknown", charges=len(to_charge), code=exc.code)
        return out + [(row, card, None) for row, card in to_charge]
    for (row, card), result in zip(to_charge, results, strict=True):
        if isinstance(result, ProviderError):
            out.append((row, card, None))  # this charge's answer is not known yet
        elif isinstance(result, NeracaError):
            if result.status >= 500:
                raise result
            # Refused before reaching the bank (unknown card token, closed account…): final, no charge.
            out.append((row, card, ChargeResult("failed", None, None, result.code, None, None, None)))
        else:
            if result.issuer is None:
                result = ChargeResult(**{**result.__dict__, "issuer": card["card_issuer"]})
            out.append((row, card, result))
    return out


_RECORD_SQL = """
UPDATE billing_charge ch SET status = x.status, response_code = x.response_code,
    approval_code = x.approval_code, error_message = x.error_message, issuer = x.issuer,
    payment_id = x.payment_id, provider_payin_id = x.provider_payin_id, card_first6 = x.card_first6,
    card_last4 = x.card_last4, card_brand = x.card_brand,
    charged_at = CASE WHEN x.status = 'paid' THEN $2 ELSE ch.charged_at END,
    attempt = ch.attempt + CASE WHEN x.status = 'retry' THEN 1 ELSE 0 END,
    next_attempt_on = coalesce(x.next_attempt_on, ch.next_attempt_on),
    invoice_number = coalesce(x.next_invoice, ch.invoice_number), claimed_by = NULL, updated_at = $2
FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
    $11::text[], $12::text[], $13::text[], $14::text[], $15::date[], $16::text[], $17::int[], $18::text[])
    AS x(id, status, response_code, approval_code, error_message, issuer, payment_id, provider_payin_id,
        card_first6, card_last4, card_brand, next_attempt_on, next_invoice, attempt, business_id)
WHERE ch.business_id = x.business_id AND ch.id = x.id AND ch.status = 'charging' AND ch.claimed_by = $3
  AND ch.attempt = x.attempt AND $1::int = 1
RETURNING ch.*
"""


async def _record_chunk(
    charged: list[Charged], worker: str, day: date, calendar: Any
) -> list[tuple[str, str]]:
    """Write a chunk's outcomes set-based in one transaction (only the claims this worker still holds):
    the charges, their attempts, their events in one `emit_many`, the final failures' e-mails. Returns
    each claim's id and state."""
    now = clock.now()
    states: list[tuple[str, str]] = []
    known: list[tuple[asyncpg.Record, asyncpg.Record | None, ChargeResult, str, date | None, str | None]] = []
    unknown: list[asyncpg.Record] = []
    for row, card, result in charged:
        if result is None:
            unknown.append(row)
            continue
        soft = result.status == "failed" and (result.response_code or "") in SOFT_DECLINES
        retry = soft and row["attempt"] < MAX_ATTEMPTS
        state = "paid" if result.status == "paid" else "retry" if retry else "failed"
        next_day = calendar.next_business_day(max(day, row["next_attempt_on"])) if retry else None
        next_invoice = (
            f"{row['billing_number']}-{row['execute_date']:%Y%m%d}-R{row['attempt'] + 1}" if retry else None
        )
        known.append((row, card, result, state, next_day, next_invoice))
    async with transaction(), sql.connection() as conn:
        if unknown:
            await conn.execute(
                "UPDATE billing_charge ch SET status = 'pending', claimed_by = NULL, updated_at = $1 "
                "FROM unnest($2::text[], $3::text[]) AS x(business_id, id) "
                "WHERE ch.business_id = x.business_id AND ch.id = x.id AND ch.status = 'charging' "
                "AND ch.claimed_by = $4",
                now,
                [r["business_id"] for r in unknown],
                [r["id"] for r in unknown],
                worker,
            )
            states.extend((r["id"], "unknown") for r in unknown)
        if not known:
            return states
        updated = {
            (r["business_id"], r["id"]): r
            for r in await conn.fetch(
                _RECORD_SQL,
                1,
                now,
                worker,
                [k[0]["id"] for k in known],
                [k[3] for k in known],
                [k[2].response_code for k in known],
                [k[2].approval_code for k in known],
                [(k[2].error_message or "")[:200] or None for k in known],
                [k[2].issuer for k in known],
                [k[2].payment_id for k in known],
                [k[2].provider_payin_id for k in known],
                [k[1]["card_first6"] if k[1] else None for k in known],
                [k[1]["card_last4"] if k[1] else None for k in known],
                [k[1]["card_brand"] if k[1] else None for k in known],
                [k[4] for k in known],
                [k[5] for k in known],
                [k[0]["attempt"] for k in known],
                [k[0]["business_id"] for k in known],
            )
        }
        mine = [k for k in known if (k[0]["business_id"], k[0]["id"]) in updated]
        # A claim another worker took over is recorded by it, with the same answer.
        states.extend((k[0]["id"], "lost_claim") for k in known if k not in mine)
        if not mine:
            return states
        await conn.execute(
            "INSERT INTO billing_charge_attempt (business_id, charge_id, attempt, invoice_number, status, "
            "response_code, approval_code, error_message, issuer, payment_id, attempted_at) "
            "SELECT x.business_id, x.charge_id, x.attempt, x.invoice_number, x.status, x.response_code, "
            "x.approval_code, x.error_message, x.issuer, x.payment_id, $1 "
            "FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], "
            "$9::text[], $10::text[], $11::text[]) "
            "AS x(business_id, charge_id, attempt, invoice_number, status, response_code, approval_code, "
            "error_message, issuer, payment_id) ON CONFLICT DO NOTHING",
            now,
            [k[0]["business_id"] for k in mine],
            [k[0]["id"] for k in mine],
            [k[0]["attempt"] for k in mine],
            [k[0]["invoice_number"] for k in mine],
            ["paid" if k[3] == "paid" else "failed" for k in mine],
            [k[2].response_code for k in mine],
            [k[2].approval_code for k in mine],
            [(k[2].error_message or "")[:200] or None for k in mine],
            [k[2].issuer for k in mine],
            [k[2].payment_id for k in mine],
        )
        events = []
        for row, _card, result, state, next_day, _ in mine:
            data: dict[str, Any] = {
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
                events.append((row["business_id"], "billing.charge.succeeded", data, (row["account_id"],)))
            else:
                data["retry_on"] = next_day.isoformat() if next_day else None
                events.append((row["business_id"], "billing.charge.failed", data, (row["account_id"],)))
        await emit_many(conn, events)
        for row, _card, _result, state, _, _ in mine:
            if state == "failed":
                key = (row["business_id"], row["id"])
                await _mail(conn, FAILED_MAIL, row["business_id"], row["billing_id"], updated[key])
            states.append((row["id"], state))
    return states


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
    """Claim every due execute date up to `day` (today, WIB) and charge the claimed charges in chunks of
    `batch_size()` (one provider call and one booking each), CONCURRENCY chunks at once.
    Safe to run from several workers at a time."""
    today = day or common.today()
    who = worker or worker_name()
    calendar = await load_calendar()
    _, reminded = await claim_due(today, business_id)
    counts = {"paid": 0, "failed": 0, "retry": 0, "unknown": 0, "lost_claim": 0}
    seen: set[str] = set()

    async def worker_loop() -> None:
        # Several chunks in flight: one chunk's provider call overlaps another's booking.
        while True:
            rows = await _take(today, who, business_id, seen)
            if not rows:
                return
            by_business: dict[str, list[asyncpg.Record]] = {}
            for row in rows:
                by_business.setdefault(row["business_id"], []).append(row)
            for biz, chunk in by_business.items():
                for charge_id, state in await _record_chunk(
                    await _charge_chunk(biz, chunk), who, today, calendar
                ):
                    counts[state] = counts.get(state, 0) + 1
                    if state == "unknown":
                        seen.add(charge_id)  # put back: it waits, unclaimed, for the next run

    await asyncio.gather(*(worker_loop() for _ in range(CONCURRENCY)))
    return RunOut(
        charged=counts["paid"] + counts["failed"] + counts["retry"],
        paid=counts["paid"],
        failed=counts["failed"],
        retrying=counts["retry"],
        reminded=reminded,
    )
