"""The provider domain's rules: pay-ins opened for our money objects, verified callbacks applied exactly
once, and reconciliation of the provider's view with the ledger (which lists mismatches, never fixes).

Callbacks: the route verifies the SNAP signature and timestamp, then in one transaction records the
event under its provider event id (a replay hits the primary key and is ignored) and enqueues
`provider.apply_event`. The job applies the event in one transaction with the state change it causes
(the top-up booked, the pay-in's status), marking the event applied — so it happens exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import structlog

from portal.domains.provider import gateway
from portal.domains.provider.gateway import Payin, PayinRequest
from portal.lib import snap, sql
from portal.lib.actor import Actor
from portal.lib.errors import Conflict, Forbidden
from portal.lib.i18n import N_
from portal.lib.ids import new_id
from portal.lib.jobs import enqueue
from portal.lib.sql import transaction
from portal.settings import get_settings

log = structlog.get_logger("neraca.provider")

CALLBACK_KINDS = {
    "payins": (
        "payin.paid",
        "payin.expired",
        "payin.failed",
        "payin.cancelled",
        "payin.refunded",
        "payin.voided",
    ),
    "payouts": ("payout.succeeded", "payout.failed", "payout.reversed"),
    "cards": ("card.registered",),
    "refunds": ("refund.succeeded",),
    "services": ("service.activated",),
}
# A pay-in status never moves back from these (a late `expired` after `paid` changes nothing).
FINAL_PAYIN = {"paid", "refunded", "partially_refunded"}

# (business_id, source_id, amount) -> True when it booked, False when it was booked already.
PaidHandler = Callable[[str, str, int], Awaitable[bool]]
PAID_HANDLERS: dict[str, PaidHandler] = {}


@dataclass(frozen=True)
class CardHandler:
    """How a card registration callback reaches the domain that started the registration (card
    billing): `known(business_id, registration_id)` and `apply(business_id, data) -> outcome`, the
    latter inside the transaction that marks the event applied."""

    known: Callable[[str, str], Awaitable[bool]]
    apply: Callable[[str, dict[str, Any]], Awaitable[str]]


CARD_HANDLERS: list[CardHandler] = []


def on_card_registered(handler: CardHandler) -> CardHandler:
    """Register the domain that owns card registrations (it uses the provider, not the reverse)."""
    if handler not in CARD_HANDLERS:
        CARD_HANDLERS.clear()
        CARD_HANDLERS.append(handler)
    return handler


def on_payin_paid(source_kind: str) -> Callable[[PaidHandler], PaidHandler]:
    """Register the booking of a paid pay-in for one kind of money object (the ledger's top-ups).

    The domain that owns the money object uses the provider, not the other way round, so it hands its
    booking function over here. It runs inside the transaction that records the payment."""

    def register(handler: PaidHandler) -> PaidHandler:
        PAID_HANDLERS[source_kind] = handler
        return handler

    return register


@dataclass(frozen=True)
class ServiceHandler:
    """How the provider's callback about a merchant's financial service (split settlement verified)
    reaches the domain that asked for it: `known(business_id)` (it was requested) and
    `apply(business_id, event_type, data) -> outcome`, inside the transaction that marks it applied."""

    known: Callable[[str], Awaitable[bool]]
    apply: Callable[[str, str, dict[str, Any]], Awaitable[str]]


SERVICE_HANDLERS: dict[str, ServiceHandler] = {}


def on_service_event(service: str, handler: ServiceHandler) -> ServiceHandler:
    """Register the domain that owns a provider service (payments owns split settlement)."""
    SERVICE_HANDLERS[service] = handler
    return handler


# (business_id, event_type, data) -> the outcome recorded; runs inside the transaction of the event.
PayoutHandler = Callable[[str, str, dict[str, Any]], Awaitable[str]]
PAYOUT_HANDLERS: dict[str, PayoutHandler] = {}


def on_payout_event(handler: PayoutHandler) -> PayoutHandler:
    """Register the application of payout callbacks (the payouts domain owns the payout; the provider
    only records and routes the event, as for paid pay-ins)."""
    PAYOUT_HANDLERS["payout"] = handler
    return handler


# (business_id, reference) -> whether a payout of that reference was sent by a domain: payouts sent in a
# bulk call have no recorded request of their own, so their domain says it knows them.
PayoutLookup = Callable[[str, str], Awaitable[bool]]
PAYOUT_LOOKUPS: dict[str, PayoutLookup] = {}


def on_payout_lookup(name: str) -> Callable[[PayoutLookup], PayoutLookup]:
    """Register how a domain recognises its payouts' references in callbacks (see `PAYOUT_LOOKUPS`)."""

    def register(lookup: PayoutLookup) -> PayoutLookup:
        PAYOUT_LOOKUPS[name] = lookup
        return lookup

    return register


PAYOUT_REFERENCE_HANDLERS: dict[str, PayoutHandler] = {}


def on_payout_reference(prefix: str) -> Callable[[PayoutHandler], PayoutHandler]:
    """Register the application of callbacks of payouts whose reference starts with `prefix`, made by
    another domain than payouts (the payments domain pays split destinations with payouts referenced by
    their part id, `spt_…`)."""

    def register(handler: PayoutHandler) -> PayoutHandler:
        PAYOUT_REFERENCE_HANDLERS[prefix] = handler
        return handler

    return register


# (business_id, source_id, status) for a pay-in that ended unpaid: expired, failed or cancelled.
StatusHandler = Callable[[str, str, str], Awaitable[None]]
STATUS_HANDLERS: dict[str, StatusHandler] = {}


def on_payin_status(source_kind: str) -> Callable[[StatusHandler], StatusHandler]:
    """Register what an unpaid end of a pay-in (expired, failed, cancelled) does to one kind of money
    object (payments mark themselves expired or failed). Runs inside the transaction that records it."""

    def register(handler: StatusHandler) -> StatusHandler:
        STATUS_HANDLERS[source_kind] = handler
        return handler

    return register


# --- pay-ins for our money objects ----------------------------------------------------------------


async def open_topup_payin(
    business_id: str,
    *,
    topup_id: str,
    amount: int,
    currency: str,
    expires_at: datetime,
    customer_name: str,
    bank_code: str,
) -> Payin:
    """Open the virtual account a top-up is paid into (call outside any transaction; safe to repeat:
    the same top-up id is the same pay-in)."""
    return await gateway.provider().create_payin(
        business_id,
        PayinRequest(
            reference=topup_id,
            channel="virtual_account",
            amount=amount,
            currency=currency,
            expires_at=expires_at,
            customer_name=customer_name[:100],
            bank_code=bank_code,
            description=f"Top-up {topup_id}",
        ),
    )


async def record_payin(
    business_id: str, source_kind: str, source_id: str, payin: Payin, currency: str
) -> None:
    """Remember the pay-in beside its money object (inside the object's own creating transaction)."""
    await sql.execute(
        "INSERT INTO provider_payin (payin_id, business_id, reference, source_kind, source_id, channel, "
        "bank_code, va_number, amount, currency, status, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        payin.payin_id,
        business_id,
        payin.reference,
        source_kind,
        source_id,
        payin.channel,
        payin.bank_code,
        payin.va_number,
        payin.amount,
        currency,
        payin.status,
        payin.expires_at,
    )


async def record_payins(
    business_id: str, source_kind: str, payins: list[tuple[str, Payin]], currency: str
) -> None:
    """Remember several pay-ins beside their money objects (source id, pay-in) in one statement, inside
    the objects' transaction; one already remembered for its object is kept."""
    await sql.execute(
        "INSERT INTO provider_payin (payin_id, business_id, reference, source_kind, source_id, channel, "
        "bank_code, va_number, amount, currency, status, expires_at) "
        "SELECT x.payin_id, $1, x.reference, $2, x.source_id, x.channel, x.bank_code, x.va_number, x.amount, "
        "$3, x.status, x.expires_at FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], "
        "$9::text[], $10::bigint[], $11::text[], $12::timestamptz[]) "
        "AS x(source_id, payin_id, reference, channel, bank_code, va_number, amount, status, expires_at) "
        # The unique key (source_kind, source_id) keeps the one already remembered: an anti-join here was
        # planned against the table's first, empty statistics and scanned it whole for every chunk.
        "ON CONFLICT DO NOTHING",
        business_id,
        source_kind,
        currency,
        [source_id for source_id, _ in payins],
        [p.payin_id for _, p in payins],
        [p.reference for _, p in payins],
        [p.channel for _, p in payins],
        [p.bank_code for _, p in payins],
        [p.va_number for _, p in payins],
        [p.amount for _, p in payins],
        [p.status for _, p in payins],
        [p.expires_at for _, p in payins],
    )


async def payin_for(business_id: str, source_kind: str, source_id: str) -> asyncpg.Record | None:
    return await sql.fetchrow(
        "SELECT * FROM provider_payin WHERE business_id = $1 AND source_kind = $2 AND source_id = $3",
        business_id,
        source_kind,
        source_id,
    )


async def _control_pay(payin_id: str) -> None:
    """Ask the simulator's loopback control API to pay this pay-in now, as a customer would."""
    config = get_settings().provider
    try:
        async with httpx.AsyncClient(base_url=config.url, timeout=config.timeout_s) as client:
            response = await client.post(f"/control/api/payins/{payin_id}/pay")
    except httpx.TransportError:
        raise gateway.ProviderError(
            N_("The payment provider cannot be reached. Try again shortly.")
        ) from None
    if response.status_code == 409:
        raise Conflict(
            N_("The payment provider says this payment cannot be paid now."), code="payin_not_payable"
        )
    if not response.is_success:
        raise gateway.ProviderError(
            N_("The payment provider is unavailable (%(code)s). Try again shortly."),
            params={"code": str(response.status_code)},
        )


async def simulate_topup_payment(business_id: str, topup_id: str) -> str:
    """Sandbox only: pay the top-up's virtual account at the simulator, then confirm by a status query.

    The booking goes through the same idempotent path as the provider's `payin.paid` callback, so the
    callback that follows finds it booked (and books nothing). Returns the outcome."""
    payin = await payin_for(business_id, "topup", topup_id)
    if payin is None:
        raise Conflict(N_("This top-up has no payment at the provider."), code="no_provider_payin")
    await _control_pay(payin["payin_id"])
    return await confirm_payin(business_id, payin["payin_id"])


async def simulate_payin_payment(business_id: str, source_kind: str, source_id: str) -> str:
    """Sandbox only: the customer pays this money object's pay-in at the simulator; confirmed at once by
    a status query through the callback's idempotent path. Returns the outcome."""
    payin = await payin_for(business_id, source_kind, source_id)
    if payin is None:
        raise Conflict(N_("This payment has no pay-in at the provider."), code="no_provider_payin")
    await _control_pay(payin["payin_id"])
    return await confirm_payin(business_id, payin["payin_id"])


async def confirm_payin(business_id: str, payin_id: str) -> str:
    """Ask the provider for the pay-in's status and apply it like a callback would (idempotent)."""
    at_provider = await gateway.provider().get_payin(business_id, payin_id)
    data = {"payin_id": payin_id, "amount": at_provider.amount, "status": at_provider.status}
    if at_provider.paid_at is not None:
        data["paid_at"] = at_provider.paid_at.isoformat()
    if at_provider.status in FINAL_PAYIN:
        event_type = "payin.paid"
    elif at_provider.status == "pending":
        return "pending"
    else:
        event_type = f"payin.{at_provider.status}"
    async with transaction():
        outcome = await _apply_payin_event(business_id, event_type, data)
    return outcome


# --- callbacks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackOutcome:
    status: str  # accepted | ignored
    reason: str = ""


class CallbackRefused(Exception):
    """The callback is not from the provider (bad or stale signature, wrong shape): answer 401."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _object_id(kind: str, data: dict[str, Any]) -> str:
    key = {
        "payins": "payin_id",
        "payouts": "payout_id",
        "cards": "registration_id",
        "refunds": "refund_id",
        "services": "service",
    }[kind]
    return str(data.get(key) or data.get("payin_id") or "")


async def receive_callback(kind: str, path: str, body: bytes, headers: dict[str, str]) -> CallbackOutcome:
    """Verify and record one callback, enqueueing its application; refused, ignored or accepted.

    Nothing changes for a bad signature (CallbackRefused), an unknown reference or a replayed event id
    (ignored); each case is logged."""
    config = get_settings().provider
    try:
        snap.verify(config.callback_secret, "POST", path, body, headers)
    except snap.SignatureError as exc:
        log.warning("provider callback refused", kind=kind, reason=exc.reason)
        raise CallbackRefused(exc.reason) from None
    try:
        event = json.loads(body)
        event_id = str(event["event_id"])
        event_type = str(event["type"])
        business_id = str(event["merchant_id"])
        data = dict(event["data"])
    except (ValueError, KeyError, TypeError):
        log.warning("provider callback malformed", kind=kind)
        raise CallbackRefused("malformed_body") from None
    if event_id != headers.get("x-external-id"):
        # The signed external id is the event id: a body re-used under another signature is refused.
        log.warning("provider callback event id mismatch", kind=kind, event_id=event_id)
        raise CallbackRefused("event_id_mismatch")
    if event_type not in CALLBACK_KINDS.get(kind, ()):
        log.warning("provider callback of an unknown type", kind=kind, type=event_type)
        return CallbackOutcome("ignored", "unknown_type")
    object_id = _object_id(kind, data)
    async with transaction():
        if kind == "payins":
            known = await sql.fetchval(
                "SELECT 1 FROM provider_payin WHERE payin_id = $1 AND business_id = $2",
                object_id,
                business_id,
            )
        elif kind == "payouts":
            # A payout we sent alone has its request recorded under its reference (before any answer
            # came); one sent in a bulk call is known to its domain.
            known = await sql.fetchval(
                "SELECT 1 FROM provider_request WHERE business_id = $1 AND purpose = $2",
                business_id,
                f"payout:{data.get('reference', '')}",
            )
            if not known:
                for lookup in PAYOUT_LOOKUPS.values():
                    known = await lookup(business_id, str(data.get("reference", "")))
                    if known:
                        break
        elif kind == "cards" and CARD_HANDLERS:
            known = await CARD_HANDLERS[0].known(business_id, object_id)
        elif kind == "services" and object_id in SERVICE_HANDLERS:
            known = await SERVICE_HANDLERS[object_id].known(business_id)
        else:
            known = None  # refunds have no Neraca object of their own yet: nothing to apply
        if not known:
            log.warning(
                "provider callback for an unknown reference",
                kind=kind,
                event_id=event_id,
                object_id=object_id,
            )
            return CallbackOutcome("ignored", "unknown_reference")
        inserted = await sql.fetchval(
            "INSERT INTO provider_event (event_id, business_id, kind, type, object_id, payload, occurred_at) "
            "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7) ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            event_id,
            business_id,
            kind,
            event_type,
            object_id,
            json.dumps(event),
            _occurred(event.get("occurred_at")),
        )
        if inserted is None:
            log.info("provider callback replayed", kind=kind, event_id=event_id)
            return CallbackOutcome("ignored", "replayed")
        await enqueue("provider.apply_event", {"event_id": event_id})
    return CallbackOutcome("accepted")


def _occurred(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


async def apply_event(event_id: str) -> str | None:
    """Apply one recorded callback with the state change it causes, in one transaction (idempotent: an
    applied event is skipped). Returns the outcome recorded, or None when it was already applied."""
    async with transaction():
        event = await sql.fetchrow("SELECT * FROM provider_event WHERE event_id = $1 FOR UPDATE", event_id)
        if event is None or event["state"] == "applied":
            return None
        payload = (
            json.loads(event["payload"]) if isinstance(event["payload"], str) else dict(event["payload"])
        )
        outcome = "noted"
        if event["kind"] == "payins":
            outcome = await _apply_payin_event(event["business_id"], event["type"], payload["data"])
        elif event["kind"] == "payouts":
            reference = str(payload["data"].get("reference") or "")
            handler = next(
                (h for prefix, h in PAYOUT_REFERENCE_HANDLERS.items() if reference.startswith(prefix)),
                PAYOUT_HANDLERS.get("payout"),
            )
            if handler is None:  # the payouts domain is not loaded: fail, so the job retries; never drop it
                raise RuntimeError("no application registered for payout callbacks")
            outcome = await handler(event["business_id"], event["type"], payload["data"])
        elif event["kind"] == "cards" and CARD_HANDLERS:
            outcome = await CARD_HANDLERS[0].apply(event["business_id"], dict(payload["data"]))
        elif event["kind"] == "services":
            service = SERVICE_HANDLERS.get(str(event["object_id"]))
            if service is None:  # the owning domain is not loaded: fail, so the job retries
                raise RuntimeError("no application registered for service callbacks")
            outcome = await service.apply(event["business_id"], event["type"], dict(payload["data"]))
        await sql.execute(
            "UPDATE provider_event SET state = 'applied', outcome = $2, applied_at = now() "
            "WHERE event_id = $1",
            event_id,
            outcome,
        )
    return outcome


async def _apply_payin_event(business_id: str, event_type: str, data: dict[str, Any]) -> str:
    payin = await sql.fetchrow(
        "SELECT * FROM provider_payin WHERE payin_id = $1 AND business_id = $2 FOR UPDATE",
        str(data["payin_id"]),
        business_id,
    )
    if payin is None:
        return "unknown_reference"
    if event_type == "payin.paid":
        amount = int(data["amount"])
        if amount != int(payin["amount"]):
            # Never book a different amount on our own: reconciliation lists it for a person to decide.
            log.error("provider paid a different amount", payin_id=payin["payin_id"], amount=amount)
            return "amount_differs"
        await sql.execute(
            "UPDATE provider_payin SET status = 'paid', paid_at = $2, updated_at = now() WHERE payin_id = $1",
            payin["payin_id"],
            _occurred(data.get("paid_at")),
        )
        handler = PAID_HANDLERS.get(payin["source_kind"])
        if handler is None:  # the owning domain is not loaded: fail, so the job retries; never drop it
            raise RuntimeError(f"no booking registered for paid {payin['source_kind']} pay-ins")
        booked = await handler(business_id, payin["source_id"], amount)
        return "booked" if booked else "already_booked"
    new_status = event_type.removeprefix("payin.")
    if new_status == "voided":
        # The void was asked by Neraca and applied when it was answered; the callback only confirms it.
        await sql.execute(
            "UPDATE provider_payin SET status = 'voided', updated_at = now() WHERE payin_id = $1",
            payin["payin_id"],
        )
        return "voided"
    if payin["status"] in FINAL_PAYIN:
        return "stale"  # out of order: the money already arrived; a late expiry changes nothing
    await sql.execute(
        "UPDATE provider_payin SET status = $2, updated_at = now() WHERE payin_id = $1",
        payin["payin_id"],
        new_status,
    )
    status_handler = STATUS_HANDLERS.get(payin["source_kind"])
    if status_handler is not None:
        await status_handler(business_id, payin["source_id"], new_status)
    return new_status


# --- reconciliation -------------------------------------------------------------------------------

# Pay-ins younger than this are compared every night (a settlement month and its corrections).
RECONCILE_DAYS = 40


@dataclass(frozen=True)
class Mismatch:
    kind: str
    payin_id: str | None
    source_id: str | None
    reference: str | None
    provider_status: str | None
    ledger_status: str | None
    provider_amount: int | None
    ledger_amount: int | None


@dataclass(frozen=True)
class ReconciliationRun:
    id: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    checked: int
    mismatch_count: int
    error: str | None
    mismatches: list[Mismatch]


async def reconcile(business_id: str, trigger: str = "manual") -> str:
    """Compare every pay-in of the business at the provider with the ledger and record each mismatch:
    paid at the provider but not booked, booked but not paid, amounts that differ, and pay-ins the
    provider settled that the ledger does not know. Changes no money. Returns the run id."""
    run_id = new_id("rec")
    await sql.execute(
        "INSERT INTO provider_reconciliation (id, business_id, trigger) VALUES ($1, $2, $3)",
        run_id,
        business_id,
        trigger,
    )
    client = gateway.provider()
    found: list[Mismatch] = []
    checked = 0
    error: str | None = None
    rows = await sql.fetch(
        "SELECT p.payin_id, p.reference, p.source_id, p.amount, p.channel, t.status AS ledger_status, "
        "t.amount + t.fee AS ledger_amount FROM provider_payin p "
        "LEFT JOIN topup t ON t.id = p.source_id AND t.business_id = p.business_id "
        "WHERE p.business_id = $1 AND p.created_at > now() - make_interval(days => $2) ORDER BY p.created_at",
        business_id,
        RECONCILE_DAYS,
    )
    try:
        for row in rows:
            checked += 1
            try:
                at_provider: Payin | None = await client.get_payin(business_id, row["payin_id"])
            except gateway.ProviderNotFound:
                at_provider = None
            found.extend(_compare(row, at_provider))
        known = {row["payin_id"] for row in rows}
        today = await _provider_today(business_id)
        for channel in gateway.CHANNELS:
            report = await client.settlement_report(business_id, today, channel)
            for line in report.lines:
                if line.payin_id not in known:
                    found.append(
                        Mismatch(
                            "unknown_in_ledger",
                            line.payin_id,
                            None,
                            line.reference,
                            "paid",
                            None,
                            line.amount,
                            None,
                        )
                    )
    except gateway.ProviderError as exc:
        error = exc.code
    async with transaction():
        for m in found:
            await sql.execute(
                "INSERT INTO provider_mismatch (id, run_id, business_id, kind, payin_id, source_id, "
                "reference, provider_status, ledger_status, provider_amount, ledger_amount) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                new_id("mis"),
                run_id,
                business_id,
                m.kind,
                m.payin_id,
                m.source_id,
                m.reference,
                m.provider_status,
                m.ledger_status,
                m.provider_amount,
                m.ledger_amount,
            )
        await sql.execute(
            "UPDATE provider_reconciliation SET finished_at = now(), checked = $2, mismatch_count = $3, "
            "error = $4 WHERE id = $1",
            run_id,
            checked,
            len(found),
            error,
        )
    return run_id


def _compare(row: asyncpg.Record, at_provider: Payin | None) -> list[Mismatch]:
    ledger_status = row["ledger_status"]
    ledger_amount = int(row["ledger_amount"]) if row["ledger_amount"] is not None else None
    booked = ledger_status == "paid"
    if at_provider is None:
        kind = "unknown_at_provider"
        return [
            Mismatch(
                kind,
                row["payin_id"],
                row["source_id"],
                row["reference"],
                None,
                ledger_status,
                None,
                ledger_amount,
            )
        ]
    paid = at_provider.status in FINAL_PAYIN
    args = (row["payin_id"], row["source_id"], row["reference"], at_provider.status, ledger_status)
    if paid and not booked:
        return [Mismatch("paid_not_booked", *args, at_provider.amount, ledger_amount)]
    if booked and not paid:
        return [Mismatch("booked_not_paid", *args, at_provider.amount, ledger_amount)]
    if booked and paid and at_provider.amount != ledger_amount:
        return [Mismatch("amount_differs", *args, at_provider.amount, ledger_amount)]
    return []


async def _provider_today(business_id: str) -> Any:
    """The merchant's business day at the provider (its test clock in the sandbox), in WIB."""
    config = get_settings().provider
    try:
        async with httpx.AsyncClient(base_url=config.url, timeout=config.timeout_s) as client:
            path = httpx.URL("/v1/clock", params={"merchant_id": business_id}).raw_path.decode()
            headers = snap.headers(config.secret, config.partner_id, new_id("qry"), "GET", path, b"")
            response = await client.get(path, headers=headers)
        now = datetime.fromisoformat(response.json()["now"])
    except (httpx.TransportError, ValueError, KeyError):
        raise gateway.ProviderError(
            N_("The payment provider cannot be reached. Try again shortly.")
        ) from None
    return now.astimezone(snap.WIB).date()


async def businesses_with_payins() -> list[str]:
    rows = await sql.fetch("SELECT DISTINCT business_id FROM provider_payin")
    return [str(r["business_id"]) for r in rows]


def _require_whole_business(actor: Actor) -> None:
    """Reconciliation compares the whole business's money with the provider's: a user scoped to an
    account subtree may neither see nor start it."""
    actor.require("reports", "view")
    if actor.scope_account_id is not None:
        raise Forbidden(
            N_("Reconciliation covers the whole business: it needs a user with access to the whole business.")
        )


async def run_reconciliation(actor: Actor) -> str:
    """On demand, from the Reports page: compare now (changes no money)."""
    _require_whole_business(actor)
    return await reconcile(actor.business_id, "manual")


async def latest_reconciliation(actor: Actor) -> ReconciliationRun | None:
    """The latest reconciliation of the actor's business with its mismatches."""
    _require_whole_business(actor)
    run = await sql.fetchrow(
        "SELECT * FROM provider_reconciliation WHERE business_id = $1 ORDER BY started_at DESC LIMIT 1",
        actor.business_id,
    )
    if run is None:
        return None
    rows = await sql.fetch(
        "SELECT * FROM provider_mismatch WHERE run_id = $1 AND business_id = $2 ORDER BY kind, reference",
        run["id"],
        actor.business_id,
    )
    return ReconciliationRun(
        run["id"],
        run["trigger"],
        run["started_at"],
        run["finished_at"],
        int(run["checked"]),
        int(run["mismatch_count"]),
        run["error"],
        [
            Mismatch(
                r["kind"],
                r["payin_id"],
                r["source_id"],
                r["reference"],
                r["provider_status"],
                r["ledger_status"],
                r["provider_amount"],
                r["ledger_amount"],
            )
            for r in rows
        ],
    )
