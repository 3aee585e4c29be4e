"""Card payments charged in batches: many stored-card payments asked of the provider in one call and
booked set-based, for card billing's run.

The rules are `create_payment`'s, item by item: the invoice number is the idempotency key (the same
request again is the first payment; other details are `duplicate_invoice`), the payment row is written
and committed before the provider is called (its id is the pay-in's reference, idempotent per item at
the provider, so a resumed batch never charges twice), a paid charge is booked pending in on the
account. What differs is the count of statements: one INSERT for the chunk's payments, one provider
call, and one transaction that records every answer and books every paid charge through one call of
the ledger engine's batch API (its holds, events and activity-log rows written set-based)."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from portal.domains.accounts import services as accounts
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation, OperationResult
from portal.domains.ledger.services.holds import hold_legs_committed
from portal.domains.ledger.services.shared import audit, event
from portal.domains.payments.schemas import Payment
from portal.domains.payments.services.allocation import mdr
from portal.domains.payments.services.payments import (
    DEFAULT_VALIDITY,
    PAYMENT_COLUMNS,
    PaymentRequest,
    _invalid,
    _request_hash,
    _validate,
    check_receiving_account,
    payment_out,
)
from portal.domains.payments.services.settings import fees_of
from portal.domains.provider import gateway
from portal.domains.provider import services as provider
from portal.domains.provider.gateway import PayinRequest
from portal.lib import clock, sql
from portal.lib.actor import Actor, system_actor
from portal.lib.errors import Conflict, FieldError, NeracaError
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.sql import transaction

Outcome = Payment | NeracaError

_INSERT = (
    "INSERT INTO payment (business_id, id, account_id, amount, currency, channel, card_token, "
    "invoice_number, customer_id, customer_name, customer_email, description, metadata, source, "
    "request_hash, split, fee, expires_at, created_at, updated_at) "
    "SELECT $1, x.id, x.account_id, x.amount, 'IDR', 'card', x.card_token, x.invoice_number, x.customer_id, "
    "x.customer_name, x.customer_email, x.description, x.metadata::jsonb, x.source, x.request_hash, "
    "x.split::jsonb, x.fee, x.expires_at, $2, $2 "
    "FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], "
    "$10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::bigint[], "
    "$17::timestamptz[]) AS x(id, account_id, amount, card_token, invoice_number, customer_id, "
    "customer_name, customer_email, description, metadata, source, request_hash, split, fee, expires_at) "
    "ON CONFLICT (business_id, invoice_number) DO NOTHING"
)


async def charge_cards(actor: Actor, requests: list[PaymentRequest]) -> list[Outcome]:
    """Charge several stored cards (channel `card`), each as `create_payment` would: one outcome per
    request, in order — the payment (`paid` pending in on its account, or `failed` with the acquirer's
    code) or the error that request alone met. Call outside any transaction.

    Raises the provider's errors when the whole call's outcome is not known (unavailable, timeout): the
    payments stay pending and the same requests again resume them under the same references."""
    actor.require("payments", "manage")
    from portal.domains.payments.services import splits

    outcomes: list[Outcome | None] = [None] * len(requests)
    checked: list[tuple[int, PaymentRequest, str, list[dict[str, Any]] | None]] = []
    account_rows: dict[str, Any] = {}
    fees = await fees_of(actor.business_id)
    split_accounts = {
        r["account_id"]
        for r in await sql.fetch(
            "SELECT DISTINCT account_id FROM split_rule WHERE business_id = $1 "
            "AND account_id = ANY($2::text[]) AND deleted_at IS NULL",
            actor.business_id,
            list({r.account_id for r in requests}),
        )
    }
    for n, request in enumerate(requests):
        try:
            if request.channel != "card":
                raise _invalid("/channel", N_("channel is one of %(values)s."), N_("invalid"), values="card")
            request = _validate(request)
            account = account_rows.get(request.account_id)
            if account is None:
                account = account_rows[request.account_id] = await accounts.get_account_row(
                    actor, request.account_id
                )
            check_receiving_account(account)
            split = None
            if request.split or request.split_rule_id or account.id in split_accounts:
                split = await splits.destinations_for_payment(actor, request, account.id)
            checked.append((n, request, _request_hash(request), split))
        except NeracaError as exc:
            outcomes[n] = exc
    if checked:
        await _insert_payments(actor.business_id, checked, fees)
    rows = {
        r["invoice_number"]: r
        for r in await sql.fetch(
            f"SELECT {PAYMENT_COLUMNS} FROM payment "
            "WHERE business_id = $1 AND invoice_number = ANY($2::text[])",
            actor.business_id,
            [request.invoice_number for _, request, _, _ in checked],
        )
    }
    to_send: list[tuple[int, asyncpg.Record]] = []
    for n, request, request_hash, _ in checked:
        row = rows.get(request.invoice_number)
        if row is None:
            outcomes[n] = Conflict(
                N_("Invoice number %(invoice)s is already used by payment %(id)s with other details."),
                code="duplicate_invoice",
                params={"invoice": request.invoice_number, "id": "?"},
            )
        elif row["request_hash"] != request_hash:
            outcomes[n] = Conflict(
                N_("Invoice number %(invoice)s is already used by payment %(id)s with other details."),
                code="duplicate_invoice",
                params={"invoice": row["invoice_number"], "id": row["id"]},
                errors=[FieldError("/invoice_number", N_("already used"))],
            )
        elif row["provider_payin_id"] is None and row["status"] == "pending":
            to_send.append((n, row))  # new, or left unanswered by an interrupted call: (re)sent
        else:
            outcomes[n] = payment_out(row)
    if to_send:
        answers = await gateway.provider().charge_cards(
            actor.business_id,
            [
                PayinRequest(
                    reference=row["id"],
                    channel="card",
                    amount=int(row["amount"]),
                    currency=row["currency"],
                    expires_at=row["expires_at"] or row["created_at"] + DEFAULT_VALIDITY,
                    customer_name=row["customer_name"][:100],
                    card_token=row["card_token"],
                    description=(row["description"] or f"Invoice {row['invoice_number']}")[:255],
                )
                for _, row in to_send
            ],
        )
        refused: list[tuple[int, asyncpg.Record, NeracaError]] = []
        for (n, row), answer in zip(to_send, answers, strict=True):
            if not isinstance(answer, gateway.Payin):
                refused.append((n, row, answer))
        answered = [
            (row, answer)
            for (_, row), answer in zip(to_send, answers, strict=True)
            if isinstance(answer, gateway.Payin)
        ]
        async with transaction():
            # Refused before the bank (an unknown card token…): nothing is kept, as for one payment.
            gone = [row["id"] for _, row, error in refused if isinstance(error, gateway.ProviderRefused)]
            if gone:
                await sql.execute(
                    "DELETE FROM payment WHERE business_id = $1 AND id = ANY($2::text[]) "
                    "AND provider_payin_id IS NULL",
                    actor.business_id,
                    gone,
                )
            await _book_answers(actor.business_id, answered)
        for n, _, error in refused:
            outcomes[n] = error
        booked = {
            r["id"]: r
            for r in await sql.fetch(
                f"SELECT {PAYMENT_COLUMNS} FROM payment WHERE business_id = $1 AND id = ANY($2::text[])",
                actor.business_id,
                [row["id"] for row, _ in answered],
            )
        }
        for (n, row), answer in zip(to_send, answers, strict=True):
            if isinstance(answer, gateway.Payin):
                outcomes[n] = payment_out(booked[row["id"]])
    assert all(outcome is not None for outcome in outcomes)
    return [outcome for outcome in outcomes if outcome is not None]


async def _insert_payments(
    business_id: str,
    checked: list[tuple[int, PaymentRequest, str, list[dict[str, Any]] | None]],
    fees: Any,
) -> None:
    """The chunk's payment rows in one statement, committed before the provider is called (a taken
    invoice number keeps its first payment)."""
    requests = [request for _, request, _, _ in checked]
    async with transaction():
        await sql.execute(
            _INSERT,
            business_id,
            clock.now(),
            [new_id("pay") for _ in requests],
            [r.account_id for r in requests],
            [r.amount for r in requests],
            [r.card_token for r in requests],
            [r.invoice_number for r in requests],
            [r.customer_id for r in requests],
            [r.customer_name for r in requests],
            [r.customer_email for r in requests],
            [r.description for r in requests],
            [json.dumps(r.metadata, default=str) for r in requests],
            [r.source for r in requests],
            [request_hash for _, _, request_hash, _ in checked],
            [json.dumps(split) if split else None for _, _, _, split in checked],
            [mdr(fees, "card", r.amount) for r in requests],
            [r.expires_at for r in requests],
        )


async def _book_answers(business_id: str, answered: list[tuple[asyncpg.Record, gateway.Payin]]) -> None:
    """Record the provider's answers and book every paid charge, inside the caller's transaction: the
    pay-ins and the answers set-based, the declines `failed`, the paid ones held pending in on their
    accounts by one engine call (holds, `payment.paid` events and activity rows collected by the
    engine and written set-based)."""
    if not answered:
        return
    await provider.record_payins(
        business_id, "payment", [(row["id"], payin) for row, payin in answered], "IDR"
    )
    await sql.execute(
        "UPDATE payment p SET provider_payin_id = x.payin_id, response_code = x.response_code, "
        "approval_code = x.approval_code, failure_message = x.failure_message, updated_at = now() "
        "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) "
        "AS x(id, payin_id, response_code, approval_code, failure_message) "
        "WHERE p.business_id = $1 AND p.id = x.id",
        business_id,
        [row["id"] for row, _ in answered],
        [payin.payin_id for _, payin in answered],
        [payin.response_code for _, payin in answered],
        [payin.approval_code for _, payin in answered],
        [payin.response_message if payin.status == "failed" else None for _, payin in answered],
    )
    failed = [row["id"] for row, payin in answered if payin.status == "failed"]
    if failed:
        await sql.execute(
            "UPDATE payment SET status = 'failed', updated_at = now() WHERE business_id = $1 "
            "AND id = ANY($2::text[]) AND status = 'pending'",
            business_id,
            failed,
        )
    paid = {row["id"]: payin for row, payin in answered if payin.status == "paid"}
    if not paid:
        return
    # Locked, and booked once: a payment already holding its money (booked by a callback) is skipped.
    rows = await sql.fetch(
        f"SELECT {PAYMENT_COLUMNS} FROM payment WHERE business_id = $1 AND id = ANY($2::text[]) "
        "ORDER BY id FOR UPDATE",
        business_id,
        list(paid),
    )
    now = clock.now()
    clearing = await accounts.system_account_id(business_id, "IDR", "clearing")
    ops: list[Operation] = []
    holds: list[tuple[str, str]] = []
    for row in rows:
        if row["hold_id"] is not None or paid[row["id"]].amount != int(row["amount"]):
            continue
        hold_id = new_id("hld")
        leg = Leg(
            clearing,
            row["account_id"],
            int(row["amount"]),
            kind="payment",
            description=f"Payment {row['invoice_number']}",
            phase="pending",
            hold_id=hold_id,
            metadata={"payment_id": row["id"]},
        )
        shown = payment_out(
            {**dict(row), "status": "paid", "hold_id": hold_id, "paid_at": row["paid_at"] or now}
        )
        ops.append(
            Operation(
                business_id,
                [leg],
                source_id=row["id"],
                internal=True,
                on_commit=_paid_hook(business_id, leg, hold_id, row, shown),
            )
        )
        holds.append((row["id"], hold_id))
    results = await engine.run_in_transaction(ops)
    booked = [
        held for held, result in zip(holds, results, strict=True) if isinstance(result, OperationResult)
    ]
    if booked:
        await sql.execute(
            "UPDATE payment p SET status = 'paid', hold_id = x.hold_id, paid_at = coalesce(p.paid_at, $4), "
            "updated_at = now() FROM unnest($2::text[], $3::text[]) AS x(id, hold_id) "
            "WHERE p.business_id = $1 AND p.id = x.id",
            business_id,
            [payment_id for payment_id, _ in booked],
            [hold_id for _, hold_id in booked],
            now,
        )


def _paid_hook(
    business_id: str, leg: Leg, hold_id: str, row: asyncpg.Record, shown: Payment
) -> engine.CommitHook:
    holds = hold_legs_committed([(leg, hold_id, None)], None, business_id)

    async def committed(conn: asyncpg.Connection, op: Operation, result: OperationResult) -> None:
        await holds(conn, op, result)
        await event(business_id, "payment.paid", shown, (row["account_id"],))
        await audit(
            system_actor(business_id),
            "payment.paid",
            f"Payment {row['invoice_number']} paid",
            {"payment_id": row["id"], "account_id": row["account_id"]},
        )

    return committed
