"""Payments received for an account: asked of a customer through a provider pay-in (virtual account,
QRIS, card on a stored token, e-wallet), marked Payment Success when the provider confirms it, and
booked as *pending in* on the account (a hold from the clearing account) until its settlement batch
posts it.

The invoice number is unique per business and is the idempotency key: the same request again returns
the first payment; another request with the same number is refused (`duplicate_invoice`). The payment
row is written (and committed) before the provider is called, so a retry resumes the same pay-in and a
card is never charged twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation
from portal.domains.ledger.services.holds import hold_legs_committed
from portal.domains.ledger.services.shared import audit, event
from portal.domains.payments.schemas import Payment, PaymentPage
from portal.domains.payments.services.allocation import mdr, shown
from portal.domains.payments.services.settings import fees_of
from portal.domains.provider import gateway
from portal.domains.provider import services as provider
from portal.domains.provider.gateway import PayinRequest
from portal.lib import clock, sql
from portal.lib.actor import Actor, system_actor
from portal.lib.errors import Amount, Conflict, FieldError, NotFound, ValidationFailed
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.money import check_amount
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.sql import transaction

CHANNELS = ("va", "qris", "card", "ewallet")
# Our channel names → the provider's.
PROVIDER_CHANNEL = {"va": "virtual_account", "qris": "qris", "card": "card", "ewallet": "ewallet"}
SOURCES = ("portal", "api", "billing")
STATUSES = (
    "pending",
    "paid",
    "pending_settlement",
    "settled",
    "expired",
    "failed",
    "refunded",
    "partially_refunded",
    "voided",
)
# The schemes' ceilings at the provider (checked here so the request is refused on its field).
CHANNEL_MAX = {"qris": 10_000_000, "ewallet": 20_000_000}
DEFAULT_VALIDITY = timedelta(hours=24)
MAX_VALIDITY = timedelta(days=30)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PHONE = re.compile(r"^(08[1-9][0-9]{7,10}|\+628[1-9][0-9]{7,10})$")
_INVOICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/\-]{0,63}$")

PAYMENT_COLUMNS = (
    "id, business_id, account_id, amount, currency, channel, bank_code, wallet, phone, card_token, "
    "invoice_number, customer_id, customer_name, customer_email, description, metadata, source, "
    "request_hash, status, remark, split, split_rule_id, fee, refunded_amount, provider_payin_id, "
    "va_number, qris_string, pay_url, response_code, approval_code, issuer, failure_message, hold_id, "
    "split_hold_id, settlement_id, expires_at, paid_at, settled_at, created_at"
)


@dataclass(frozen=True, kw_only=True)
class PaymentRequest:
    """What a payment is asked for (the portal's form, the API and card billing build one)."""

    account_id: str
    amount: int
    channel: str
    invoice_number: str
    customer_name: str
    currency: str = "IDR"
    customer_id: str | None = None
    customer_email: str | None = None
    description: str | None = None
    expires_at: datetime | None = None
    split_rule_id: str | None = None
    bank_code: str | None = None
    wallet: str | None = None
    phone: str | None = None
    card_token: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str = "api"
    # Destinations for this payment only (the API's `split`); a split rule's are copied instead.
    split: list[dict[str, Any]] | None = None


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def payment_out(row: asyncpg.Record | dict[str, Any]) -> Payment:
    return Payment(
        id=row["id"],
        account_id=row["account_id"],
        amount=int(row["amount"]),
        currency=row["currency"],
        channel=row["channel"],
        status=row["status"],
        remark=row["remark"],
        invoice_number=row["invoice_number"],
        customer_id=row["customer_id"],
        customer_name=row["customer_name"],
        customer_email=row["customer_email"],
        description=row["description"],
        metadata=_json(row["metadata"]) or {},
        source=row["source"],
        fee=int(row["fee"]),
        refunded_amount=int(row["refunded_amount"]),
        split=shown(_json(row["split"])),
        split_rule_id=row["split_rule_id"],
        provider_payin_id=row["provider_payin_id"],
        bank_code=row["bank_code"],
        va_number=row["va_number"],
        qris_string=row["qris_string"],
        pay_url=row["pay_url"],
        wallet=row["wallet"],
        phone=row["phone"],
        response_code=row["response_code"],
        approval_code=row["approval_code"],
        issuer=row["issuer"],
        failure_message=row["failure_message"],
        settlement_id=row["settlement_id"],
        expires_at=row["expires_at"],
        paid_at=row["paid_at"],
        settled_at=row["settled_at"],
        created_at=row["created_at"],
    )


# --- validation -----------------------------------------------------------------------------------


def _invalid(
    pointer: str, message: str, field_message: str, code: str = "invalid_payment", **params: Any
) -> ValidationFailed:
    return ValidationFailed(message, code=code, params=params, errors=[FieldError(pointer, field_message)])


# A control character (below U+0020): refused in every text field.
_CONTROL = re.compile("[\x00-\x1f]")


def _text(value: Any, pointer: str, max_len: int, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _invalid(pointer, N_("%(field)s is required."), N_("required"), field=pointer.strip("/"))
        return None
    if not isinstance(value, str) or len(value.strip()) > max_len or _CONTROL.search(value):
        raise _invalid(
            pointer,
            N_("%(field)s is at most %(max)s printable characters."),
            N_("invalid"),
            field=pointer.strip("/"),
            max=max_len,
        )
    return value.strip()


def _validate(request: PaymentRequest) -> PaymentRequest:
    """Every field checked on its own pointer before anything is written or sent."""
    amount = check_amount(request.amount, pointer="/amount")
    if request.currency != "IDR":
        raise _invalid("/currency", N_("Payments are collected in rupiah (IDR) only."), N_("must be IDR"))
    if request.channel not in CHANNELS:
        raise _invalid(
            "/channel", N_("channel is one of %(values)s."), N_("invalid"), values=", ".join(CHANNELS)
        )
    ceiling = CHANNEL_MAX.get(request.channel)
    if ceiling is not None and amount > ceiling:
        raise _invalid(
            "/amount",
            N_("A %(channel)s payment is at most %(max)s."),
            N_("above the channel's limit"),
            code="amount_out_of_range",
            channel=request.channel,
            max=Amount(ceiling, "IDR"),
        )
    invoice = request.invoice_number.strip() if isinstance(request.invoice_number, str) else ""
    if not _INVOICE.match(invoice):
        raise _invalid(
            "/invoice_number",
            N_("An invoice number is 1 to 64 letters, digits or . _ / -, starting with a letter or digit."),
            N_("invalid"),
        )
    name = _text(request.customer_name, "/customer_name", 100, required=True)
    email = _text(request.customer_email, "/customer_email", 254)
    if email is not None and not _EMAIL.match(email):
        raise _invalid("/customer_email", N_("The customer's e-mail address is not valid."), N_("invalid"))
    bank_code = wallet = phone = card_token = None
    if request.channel == "va":
        bank_code = request.bank_code or ""
        if bank_code not in gateway.VA_BANKS:
            raise _invalid(
                "/bank_code",
                N_("A virtual account is opened at one of %(values)s."),
                N_("invalid"),
                values=", ".join(f"{code} {name}" for code, name in gateway.VA_BANKS.items()),
            )
    elif request.channel == "ewallet":
        wallet = (request.wallet or "").upper()
        if wallet not in gateway.WALLETS:
            raise _invalid(
                "/wallet",
                N_("wallet is one of %(values)s."),
                N_("invalid"),
                values=", ".join(gateway.WALLETS),
            )
        phone = (request.phone or "").replace(" ", "").replace("-", "")
        if not _PHONE.match(phone):
            raise _invalid("/phone", N_("The customer's mobile number is 08… or +628…."), N_("invalid"))
    elif request.channel == "card":
        card_token = _text(request.card_token, "/card_token", 64, required=True)
    expires_at = request.expires_at
    now = clock.now()
    if expires_at is not None:
        if expires_at.tzinfo is None or expires_at <= now or expires_at > now + MAX_VALIDITY:
            raise _invalid(
                "/expires_at",
                N_("expires_at must be a future time (with time zone) within 30 days."),
                N_("invalid"),
            )
    elif request.channel != "card":
        expires_at = now + DEFAULT_VALIDITY
    metadata = request.metadata or {}
    if not isinstance(metadata, dict) or len(metadata) > 50 or len(json.dumps(metadata, default=str)) > 8000:
        raise _invalid(
            "/metadata", N_("metadata is an object of at most 50 keys and 8,000 characters."), N_("invalid")
        )
    if request.source not in SOURCES:
        raise _invalid(
            "/source", N_("source is one of %(values)s."), N_("invalid"), values=", ".join(SOURCES)
        )
    return PaymentRequest(
        account_id=request.account_id,
        amount=amount,
        channel=request.channel,
        invoice_number=invoice,
        customer_name=name or "",
        currency="IDR",
        customer_id=_text(request.customer_id, "/customer_id", 64),
        customer_email=email,
        description=_text(request.description, "/description", 255) or "",
        expires_at=expires_at,
        split_rule_id=request.split_rule_id or None,
        bank_code=bank_code,
        wallet=wallet,
        phone=phone,
        card_token=card_token,
        metadata=metadata,
        source=request.source,
        split=request.split,
    )


def _request_hash(request: PaymentRequest) -> str:
    """What makes two requests "the same" for the invoice number's idempotency (expiry aside: a retry
    computes a new default expiry)."""
    # The fields as `dataclasses.asdict` gives them (no field holds a dataclass), without its deep copy:
    # the same JSON, a tenth of the time (it was the card billing run's largest cost per charge).
    data = {name: value for name, value in vars(request).items() if name not in ("expires_at", "source")}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


# --- create ---------------------------------------------------------------------------------------


def check_receiving_account(account: accounts.AccountRow) -> None:
    """A payment is collected into an open rupiah account of the business (never a system account)."""
    if account.status == "closed" or account.kind == "system":
        raise _invalid(
            "/account_id",
            N_("Account %(id)s is closed."),
            N_("account is closed"),
            code="account_closed",
            id=account.id,
        )
    if account.currency != "IDR":
        raise _invalid(
            "/account_id", N_("Payments are collected into rupiah accounts."), N_("must be an IDR account")
        )


async def create_payment(actor: Actor, request: PaymentRequest) -> Payment:
    """Ask a customer for a payment into one of the business's accounts through the provider.

    Idempotent on the invoice number: the same request again returns the first payment (resuming its
    pay-in if the provider could not be reached the first time); another request with that number is
    refused with `duplicate_invoice`. A card payment is answered at once: `paid` (pending in on the
    account) or `failed` with the acquirer's response code."""
    actor.require("payments", "manage")
    from portal.domains.payments.services import splits

    request = _validate(request)
    account = await accounts.get_account_row(actor, request.account_id)
    check_receiving_account(account)
    request_hash = _request_hash(request)
    existing = await _by_invoice(actor.business_id, request.invoice_number)
    if existing is not None:
        return await _same_or_duplicate(actor, existing, request_hash)
    split = await splits.destinations_for_payment(actor, request, account.id)
    fee = mdr(await fees_of(actor.business_id), request.channel, request.amount)
    payment_id = new_id("pay")
    async with transaction():
        row = await sql.fetchrow(
            "INSERT INTO payment (business_id, id, account_id, amount, currency, channel, bank_code, wallet, "
            "phone, card_token, invoice_number, customer_id, customer_name, customer_email, description, "
            "metadata, source, request_hash, split, split_rule_id, fee, expires_at, created_at, updated_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb, $17, $18, "
            "$19::jsonb, $20, $21, $22, $23, $23) ON CONFLICT (business_id, invoice_number) DO NOTHING "
            "RETURNING id",
            actor.business_id,
            payment_id,
            account.id,
            request.amount,
            "IDR",
            request.channel,
            request.bank_code,
            request.wallet,
            request.phone,
            request.card_token,
            request.invoice_number,
            request.customer_id,
            request.customer_name,
            request.customer_email,
            request.description,
            json.dumps(request.metadata, default=str),
            request.source,
            request_hash,
            json.dumps(split) if split else None,
            request.split_rule_id,
            fee,
            request.expires_at,
            clock.now(),
        )
    if row is None:  # another request with this invoice number won the race
        existing = await _by_invoice(actor.business_id, request.invoice_number)
        assert existing is not None
        return await _same_or_duplicate(actor, existing, request_hash)
    return await _open_payin(actor, payment_id)


async def _by_invoice(business_id: str, invoice_number: str) -> asyncpg.Record | None:
    return await sql.fetchrow(
        f"SELECT {PAYMENT_COLUMNS} FROM payment WHERE business_id = $1 AND invoice_number = $2",
        business_id,
        invoice_number,
    )


async def _same_or_duplicate(actor: Actor, existing: asyncpg.Record, request_hash: str) -> Payment:
    if existing["request_hash"] != request_hash:
        raise Conflict(
            N_("Invoice number %(invoice)s is already used by payment %(id)s with other details."),
            code="duplicate_invoice",
            params={"invoice": existing["invoice_number"], "id": existing["id"]},
            errors=[FieldError("/invoice_number", N_("already used"))],
        )
    await accounts.get_account_row(actor, existing["account_id"])  # out of scope: 404, as for a read
    if existing["provider_payin_id"] is None and existing["status"] == "pending":
        return await _open_payin(actor, existing["id"])  # the provider was unreachable the first time
    return payment_out(existing)


async def _open_payin(actor: Actor, payment_id: str) -> Payment:
    """Open (or resume: the purpose is the payment id) the pay-in at the provider, outside any
    transaction, then record it; a paid card charge is booked in the same transaction."""
    row = await _row(actor.business_id, payment_id)
    try:
        payin = await gateway.provider().create_payin(
            actor.business_id,
            PayinRequest(
                reference=payment_id,
                channel=PROVIDER_CHANNEL[row["channel"]],
                amount=int(row["amount"]),
                currency=row["currency"],
                # From the row, never from now: a resumed call must send the very body of the first.
                expires_at=row["expires_at"] or row["created_at"] + DEFAULT_VALIDITY,
                customer_name=row["customer_name"][:100],
                bank_code=row["bank_code"],
                card_token=row["card_token"],
                wallet=row["wallet"],
                phone=row["phone"],
                description=(row["description"] or f"Invoice {row['invoice_number']}")[:255],
            ),
        )
    except gateway.ProviderRefused:
        # The provider refused the request itself (an unknown card token…): nothing is kept.
        async with transaction():
            await sql.execute(
                "DELETE FROM payment WHERE business_id = $1 AND id = $2", actor.business_id, payment_id
            )
        raise
    async with transaction():
        if await provider.payin_for(actor.business_id, "payment", payment_id) is None:
            await provider.record_payin(actor.business_id, "payment", payment_id, payin, "IDR")
        await sql.execute(
            "UPDATE payment SET provider_payin_id = $3, va_number = $4, qris_string = $5, pay_url = $6, "
            "response_code = $7, approval_code = $8, failure_message = $9, updated_at = now() "
            "WHERE business_id = $1 AND id = $2",
            actor.business_id,
            payment_id,
            payin.payin_id,
            payin.va_number,
            payin.qris_string,
            payin.pay_url or None,
            payin.response_code,
            payin.approval_code,
            payin.response_message if payin.status == "failed" else None,
        )
        if payin.status == "paid":
            await book_payment(actor.business_id, payment_id, payin.amount)
        elif payin.status == "failed":
            await mark_unpaid(actor.business_id, payment_id, "failed")
        if row["source"] != "billing":
            await audit(
                actor,
                "payment.created",
                f"Payment {row['invoice_number']} of {row['amount']} asked by {row['channel']}",
                {"payment_id": payment_id, "account_id": row["account_id"]},
            )
    return payment_out(await _row(actor.business_id, payment_id))


async def _row(business_id: str, payment_id: str, *, lock: bool = False) -> asyncpg.Record:
    row = await sql.fetchrow(
        f"SELECT {PAYMENT_COLUMNS} FROM payment WHERE business_id = $1 AND id = $2"
        + (" FOR UPDATE" if lock else ""),
        business_id,
        payment_id,
    )
    if row is None:
        raise NotFound(N_("Payment %(id)s was not found."), params={"id": payment_id})
    return row


async def visible_row(actor: Actor, payment_id: str, *, lock: bool = False) -> asyncpg.Record:
    """The payment if it is the actor's business's and its account is in the actor's scope (else 404)."""
    if not isinstance(payment_id, str) or not payment_id.startswith("pay_"):
        raise NotFound(N_("Payment %(id)s was not found."), params={"id": str(payment_id)})
    row = await _row(actor.business_id, payment_id, lock=lock)
    try:
        await accounts.get_account_row(actor, row["account_id"])
    except NotFound:
        raise NotFound(N_("Payment %(id)s was not found."), params={"id": payment_id}) from None
    return row


# --- the provider's answers -----------------------------------------------------------------------


@provider.on_payin_paid("payment")
async def book_payment(business_id: str, payment_id: str, amount: int) -> bool:
    """The provider says the customer paid: Payment Success, the amount pending in on the account (a hold
    from the clearing account, posted by the settlement batch). Inside the caller's transaction; once
    (False when already booked). A payment after expiry is booked: the money arrived."""
    row = await sql.fetchrow(
        f"SELECT {PAYMENT_COLUMNS} FROM payment WHERE business_id = $1 AND id = $2 FOR UPDATE",
        business_id,
        payment_id,
    )
    if row is None or row["hold_id"] is not None or amount != int(row["amount"]):
        return False
    clearing = await accounts.system_account_id(business_id, row["currency"], "clearing")
    hold_id = new_id("hld")
    leg = Leg(
        clearing,
        row["account_id"],
        int(row["amount"]),
        kind="payment",
        description=f"Payment {row['invoice_number']}",
        phase="pending",
        hold_id=hold_id,
        metadata={"payment_id": payment_id},
    )
    await engine.execute(
        Operation(
            business_id,
            [leg],
            source_id=payment_id,
            internal=True,
            on_commit=hold_legs_committed([(leg, hold_id, None)], None, business_id),
        )
    )
    updated = await sql.fetchrow(
        "UPDATE payment SET status = 'paid', hold_id = $3, paid_at = coalesce(paid_at, $4), "
        "updated_at = now() "
        f"WHERE business_id = $1 AND id = $2 RETURNING {PAYMENT_COLUMNS}",
        business_id,
        payment_id,
        hold_id,
        clock.now(),
    )
    assert updated is not None
    await event(business_id, "payment.paid", payment_out(updated), (row["account_id"],))
    await audit(
        system_actor(business_id),
        "payment.paid",
        f"Payment {row['invoice_number']} paid",
        {"payment_id": payment_id, "account_id": row["account_id"]},
    )
    return True


@provider.on_payin_status("payment")
async def mark_unpaid(business_id: str, payment_id: str, status: str) -> None:
    """The pay-in ended unpaid (expired, failed, cancelled): so does the payment, unless it was paid."""
    new_status = {"expired": "expired", "failed": "failed", "cancelled": "voided"}.get(status)
    if new_status is None:
        return
    updated = await sql.fetchrow(
        "UPDATE payment SET status = $3, updated_at = now() WHERE business_id = $1 AND id = $2 "
        f"AND status = 'pending' RETURNING {PAYMENT_COLUMNS}",
        business_id,
        payment_id,
        new_status,
    )
    if updated is not None and new_status == "expired":
        await event(business_id, "payment.expired", payment_out(updated), (updated["account_id"],))


async def simulate_payment(actor: Actor, payment_id: str) -> Payment:
    """Sandbox only: the customer pays at the simulator (VA, QRIS, e-wallet); confirmed and booked now."""
    actor.require("payments", "manage")
    row = await visible_row(actor, payment_id)
    if actor.business_mode != "sandbox":
        raise Conflict(N_("Payments can be simulated in sandbox mode only."), code="not_sandbox")
    if row["status"] != "pending" or row["channel"] == "card":
        raise Conflict(
            N_("Payment %(id)s is not waiting for the customer."),
            code="payment_not_pending",
            params={"id": payment_id},
        )
    await provider.simulate_payin_payment(actor.business_id, "payment", payment_id)
    return payment_out(await _row(actor.business_id, payment_id))


async def expire_due_payments(limit: int = 1000) -> int:
    """Payments still pending after their expiry (the provider's callback lost or late) become expired."""
    async with transaction():
        rows = await sql.fetch(
            "UPDATE payment SET status = 'expired', updated_at = now() WHERE (business_id, id) IN "
            "(SELECT business_id, id FROM payment WHERE status = 'pending' AND expires_at <= $1 "
            "ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) AND status = 'pending' "
            f"RETURNING {PAYMENT_COLUMNS}",
            clock.now(),
            limit,
        )
        for row in rows:
            await event(row["business_id"], "payment.expired", payment_out(row), (row["account_id"],))
    return len(rows)


# --- reads ----------------------------------------------------------------------------------------


async def get_payment(actor: Actor, payment_id: str) -> Payment:
    """One payment of the actor's business and scope."""
    actor.require("payments")
    return payment_out(await visible_row(actor, payment_id))


async def find_payment(actor: Actor, payment_id: str) -> None:
    """NotFound unless the actor may see the payment (for route guards)."""
    await visible_row(actor, payment_id)


async def list_payments(
    actor: Actor,
    *,
    account_id: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    q: str | None = None,
    split: bool | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> PaymentPage:
    """Payments in scope, newest first: by account, status, channel, split or not; `q` searches the
    invoice number, the customer's name, id and e-mail."""
    actor.require("payments")
    size = clamp_limit(limit)
    args: list[Any] = [actor.business_id]
    where = ["true"]
    if account_id:
        await accounts.get_account_row(actor, account_id)
        args.append(account_id)
        where.append(f"p.account_id = ${len(args)}")
    elif actor.scope_account_id:
        args.append(f"%/{actor.scope_account_id}/%")
        where.append(
            "EXISTS (SELECT 1 FROM account a WHERE a.id = p.account_id AND a.business_id = "
            f"p.business_id AND a.path LIKE ${len(args)})"
        )
    if status:
        if status not in STATUSES:
            raise _invalid(
                "status", N_("status is one of %(values)s."), N_("invalid"), values=", ".join(STATUSES)
            )
        args.append(status)
        where.append(f"p.status = ${len(args)}")
    if channel:
        if channel not in CHANNELS:
            raise _invalid(
                "channel", N_("channel is one of %(values)s."), N_("invalid"), values=", ".join(CHANNELS)
            )
        args.append(channel)
        where.append(f"p.channel = ${len(args)}")
    if q and q.strip():
        args.append("%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        n = len(args)
        where.append(
            f"(p.invoice_number ILIKE ${n} OR p.customer_name ILIKE ${n} OR p.customer_id ILIKE ${n} "
            f"OR p.customer_email ILIKE ${n})"
        )
    if split is not None:
        where.append("p.split IS NOT NULL" if split else "p.split IS NULL")
    cursor = decode_cursor(after)
    if cursor is not None:
        args.append(str(cursor))
        where.append(f"p.id < ${len(args)}")
    args.append(size + 1)
    cols = ", ".join("p." + c.strip() for c in PAYMENT_COLUMNS.split(","))
    clause = " AND ".join(where)
    rows = await sql.fetch(
        f"SELECT {cols} FROM payment p WHERE p.business_id = $1 AND {clause} ORDER BY "
        f"p.id DESC LIMIT ${len(args)}",
        *args,
    )
    page = rows[:size]
    next_cursor = encode_cursor(page[-1]["id"]) if len(rows) > size else None
    return PaymentPage([payment_out(r) for r in page], next_cursor is not None, next_cursor)
