"""Settlement batches: each business day's provider settlement report per channel becomes a batch
(`stl_…`) of the payments it lists; on its settlement date (T+N business days on the payouts domain's
calendar) applying the batch posts every payment's pending amount, deducts the provider's fees, the
refunds and their fees, and pays the split destinations — all in one ledger group, all or nothing.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg
import msgspec
import structlog

from portal.domains.accounts import services as accounts
from portal.domains.ledger import engine
from portal.domains.ledger.engine import Leg, Operation
from portal.domains.ledger.services.holds import hold_legs_committed
from portal.domains.ledger.services.shared import audit, event
from portal.domains.monitoring.services.settlement import first_held
from portal.domains.payments.schemas import (
    SettlementDeductionOut,
    SettlementDetail,
    SettlementLineOut,
    SettlementOut,
    SettlementPage,
)
from portal.domains.payments.services.allocation import split, take_back
from portal.domains.payments.services.payments import PROVIDER_CHANNEL, payment_out
from portal.domains.payments.services.settings import default_settlement_account
from portal.domains.payments.services.splits import INVALID_BANK_REMARK, shares
from portal.domains.payouts import services as payouts
from portal.domains.payouts.router import WIB
from portal.domains.provider import gateway
from portal.domains.provider import services as provider
from portal.domains.provider.gateway import NameInquiry
from portal.domains.webhooks.services import emit_many
from portal.lib import clock, sql
from portal.lib.actor import Actor, system_actor
from portal.lib.errors import Conflict, NotFound
from portal.lib.i18n import N_
from portal.lib.ids import new_id, new_ids
from portal.lib.pagination import clamp_limit, decode_cursor, encode_cursor
from portal.lib.sql import transaction

log = structlog.get_logger("neraca.payments")

# Business days between a payment's business day and its settlement (the provider's terms).
SETTLEMENT_DAYS = {"va": 1, "qris": 1, "ewallet": 1, "card": 2}
# The provider's fee on a refund (a transfer back to the payer).
REFUND_FEES = {"va": 2_500, "qris": 1_000, "ewallet": 1_000, "card": 0}

PART_COLUMNS = (
    "business_id",
    "id",
    "settlement_id",
    "payment_id",
    "kind",
    "account_id",
    "beneficiary_id",
    "amount",
    "status",
    "payout_reference",
)
SETTLEMENT_COLUMNS = (
    "id, business_id, channel, business_day, settlement_date, status, payment_count, gross, fees, refunds, "
    "refund_fees, net, group_id, created_at, paid_at"
)


def settlement_out(row: asyncpg.Record | dict[str, Any]) -> SettlementOut:
    return SettlementOut(
        id=row["id"],
        channel=row["channel"],
        business_day=row["business_day"],
        settlement_date=row["settlement_date"],
        status=row["status"],
        payment_count=int(row["payment_count"]),
        gross=int(row["gross"]),
        fees=int(row["fees"]),
        refunds=int(row["refunds"]),
        refund_fees=int(row["refund_fees"]),
        net=int(row["net"]),
        created_at=row["created_at"],
        paid_at=row["paid_at"],
    )


def today_wib() -> date:
    return clock.now().astimezone(WIB).date()


async def settlement_date_for(channel: str, business_day: date) -> date:
    """T+N business days after the business day (a payment on a weekend or holiday counts for the next
    business day), on the payouts domain's calendar."""
    calendar = await payouts.load_calendar()
    day = business_day if calendar.is_business_day(business_day) else calendar.next_business_day(business_day)
    for _ in range(SETTLEMENT_DAYS[channel]):
        day = calendar.next_business_day(day)
    return day


# --- creating batches from the provider's reports -------------------------------------------------


async def create_batches(business_id: str, day: date) -> list[str]:
    """The batches of one business day: one per channel with payments in the provider's report.
    Idempotent (a batch per business, channel and day). Returns the ids of the batches of that day."""
    client = gateway.provider()
    ids: list[str] = []
    for channel, provider_channel in PROVIDER_CHANNEL.items():
        report = await client.settlement_report(business_id, day, provider_channel)
        if not report.lines:
            continue
        by_payin = {line.payin_id: line for line in report.lines}
        settles_on = await settlement_date_for(channel, day)
        async with transaction():
            existing = await sql.fetchval(
                "SELECT id FROM settlement WHERE business_id = $1 AND channel = $2 AND business_day = $3",
                business_id,
                channel,
                day,
            )
            if existing is not None:
                ids.append(str(existing))
                continue
            # Only our payments (a top-up's virtual account settles in the same report but is booked apart).
            rows = await sql.fetch(
                "SELECT id, account_id, amount, provider_payin_id FROM payment WHERE business_id = $1 "
                "AND provider_payin_id = ANY($2::text[]) AND settlement_id IS NULL AND hold_id IS NOT NULL "
                "ORDER BY id FOR UPDATE",
                business_id,
                list(by_payin),
            )
            if not rows:
                continue
            settlement_id = new_id("stl")
            lines = [(row, by_payin[row["provider_payin_id"]]) for row in rows]
            gross = sum(line.amount for _, line in lines)
            fees = sum(line.fee for _, line in lines)
            refunds = sum(line.refunded for _, line in lines)
            refund_fees = sum(line.refund_fee for _, line in lines)
            created = await sql.fetchrow(
                "INSERT INTO settlement (business_id, id, channel, business_day, settlement_date, "
                "payment_count, "
                "gross, fees, refunds, refund_fees, net) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                "$10, $11) "
                f"RETURNING {SETTLEMENT_COLUMNS}",
                business_id,
                settlement_id,
                channel,
                day,
                settles_on,
                len(lines),
                gross,
                fees,
                refunds,
                refund_fees,
                gross - fees - refunds - refund_fees,
            )
            await sql.execute(
                "INSERT INTO settlement_line (business_id, settlement_id, payment_id, account_id, "
                "amount, fee, "
                "refunded, refund_fee, net) SELECT $1, $2, * FROM unnest($3::text[], $4::text[], "
                "$5::bigint[], "
                "$6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])",
                business_id,
                settlement_id,
                [row["id"] for row, _ in lines],
                [row["account_id"] for row, _ in lines],
                [line.amount for _, line in lines],
                [line.fee for _, line in lines],
                [line.refunded for _, line in lines],
                [line.refund_fee for _, line in lines],
                [line.net for _, line in lines],
            )
            await sql.execute(
                "UPDATE payment p SET settlement_id = $2, fee = v.fee, updated_at = now() "
                "FROM unnest($3::text[], $4::bigint[]) AS v(id, fee) WHERE p.business_id = $1 AND "
                "p.id = v.id",
                business_id,
                settlement_id,
                [row["id"] for row, _ in lines],
                [line.fee for _, line in lines],
            )
            assert created is not None
            await event(business_id, "settlement.created", settlement_out(created), ())
            ids.append(settlement_id)
    return ids


# --- applying a batch ----------------------------------------------------------------------------


@dataclass
class _Booking:
    """The legs of one batch and what to record beside them."""

    legs: list[Leg] = field(default_factory=list)
    posted_holds: list[tuple[str, str]] = field(default_factory=list)  # (hold_id, transfer_id)
    voided_holds: list[tuple[str, str]] = field(default_factory=list)
    new_holds: list[tuple[Leg, str, datetime | None]] = field(default_factory=list)
    parts: list[tuple[Any, ...]] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    deferred: list[tuple[str, str]] = field(default_factory=list)  # (payment_id, split_hold_id)
    refunds_booked: list[str] = field(default_factory=list)
    lines: list[tuple[str, int, int, int]] = field(default_factory=list)  # payment, refunded, refund fee, net

    # Deductions of earlier refunds still open on this channel, and how much this batch takes of each.
    deductions: list[dict[str, Any]] = field(default_factory=list)
    taken: dict[str, int] = field(default_factory=dict)

    _ids: list[str] = field(default_factory=list)

    def next_id(self, prefix: str = "trf") -> str:
        """Ids drawn in blocks (a batch makes tens of thousands of legs and parts)."""
        if not self._ids:
            self._ids = new_ids("x", 1024)
        return prefix + self._ids.pop()[1:]

    def leg(self, debit: str, credit: str, amount: int, **kwargs: Any) -> Leg:
        return Leg(debit, credit, amount, transfer_id=self.next_id(), **kwargs)

    def add(self, leg: Leg) -> Leg:
        if leg.amount > 0:
            self.legs.append(leg)
        return leg

    def deduct(self, kind: str, target: str, available: int, debit: str, world: str) -> int:
        """Take the open deductions owed by one destination out of `available` (what it receives here),
        oldest first, each as a leg to `world`; returns how much was taken."""
        total = 0
        for d in self.deductions:
            owed = int(d["remaining"]) - self.taken.get(d["id"], 0)
            if d["kind"] != kind or d["target"] != target or owed <= 0 or available - total <= 0:
                continue
            take = min(owed, available - total)
            self.taken[d["id"]] = self.taken.get(d["id"], 0) + take
            total += take
            fee = d["reason"] == "refund_fee"
            self.add(
                self.leg(
                    debit,
                    world,
                    take,
                    kind="refund_fee" if fee else "refund_deduction",
                    description=f"{'Refund fee' if fee else 'Refund deduction'} {d['invoice_number']}",
                    metadata={
                        "payment_id": d["payment_id"],
                        "refund_id": d["refund_id"],
                        "deduction_id": d["id"],
                    },
                )
            )
        return total


def _destinations(payment: asyncpg.Record) -> list[dict[str, Any]]:
    stored = payment["split"]
    return (_JSON.decode(stored) if isinstance(stored, str) else stored) or []


# The payments' stored splits are read once per payment of a batch: msgspec's decoder is the quicker.
_JSON = msgspec.json.Decoder()


async def _invalid_banks(business_id: str, payments: list[asyncpg.Record]) -> set[str]:
    """Bank destinations the provider's name inquiry no longer finds (closed, unknown): asked before the
    batch's transaction (no lock is held across the network)."""
    client = gateway.provider()
    invalid: set[str] = set()
    seen: set[str] = set()
    for payment in payments:
        for d in _destinations(payment):
            if d.get("kind") != "bank" or d["beneficiary_id"] in seen:
                continue
            seen.add(d["beneficiary_id"])
            answer = await client.name_inquiry(
                business_id, NameInquiry("bank", bank_code=d["bank_code"], account_number=d["account_number"])
            )
            if answer.status != "found":
                invalid.add(d["beneficiary_id"])
    return invalid


async def _distribute(
    booking: _Booking,
    settlement_id: str,
    payment: asyncpg.Record,
    total: int,
    take: int,
    default_account: str | None,
    world: str,
    destinations: list[dict[str, Any]] | None = None,
) -> None:
    """Legs paying `total` (the Total Settlement Amount) out of the payment's account to its split
    destinations, less `take` (refunds and refund fees of the payment, taken back in proportion to
    what each receives), and the remainder to the default settlement account."""
    account_id = payment["account_id"]
    destinations = destinations if destinations is not None else _destinations(payment)
    parts, remainder = split(total, shares(destinations))
    refund_takes, remainder_take = (
        take_back(min(take, total), parts, remainder) if take else ([0] * len(parts), 0)
    )
    # What a destination's part cannot cover is borne by the batch funds (the remainder).
    shortfall = max(take - total, 0)
    for d, part, back in zip(destinations, parts, refund_takes, strict=True):
        amount = part - back
        part_id = booking.next_id("spt")
        if d["kind"] == "account":
            booking.add(
                booking.leg(
                    account_id,
                    d["account_id"],
                    amount,
                    kind="split_settlement",
                    description=f"Split settlement {payment['invoice_number']}",
                    metadata={"payment_id": payment["id"], "settlement_id": settlement_id},
                )
            )
            booking.parts.append(
                (
                    part_id,
                    settlement_id,
                    payment["id"],
                    "account",
                    d["account_id"],
                    None,
                    amount,
                    "booked",
                    None,
                )
            )
        else:
            # What this bank destination owes for refunds of earlier payments is kept back from its payout.
            amount -= booking.deduct("bank", d["beneficiary_id"], amount, account_id, world)
            booking.add(
                booking.leg(
                    account_id,
                    world,
                    amount,
                    kind="split_payout",
                    description=f"Split settlement {payment['invoice_number']} to bank "
                    f"{d['account_number'][-4:]}",
                    metadata={
                        "payment_id": payment["id"],
                        "settlement_id": settlement_id,
                        "beneficiary_id": d["beneficiary_id"],
                    },
                )
            )
            booking.parts.append(
                (
                    part_id,
                    settlement_id,
                    payment["id"],
                    "bank",
                    None,
                    d["beneficiary_id"],
                    amount,
                    "submitted" if amount > 0 else "paid",
                    part_id,
                )
            )
    rest = remainder - remainder_take - shortfall
    target = default_account or account_id
    if destinations:
        booking.parts.append(
            (
                booking.next_id("spt"),
                settlement_id,
                payment["id"],
                "remainder",
                target,
                None,
                max(rest, 0),
                "booked",
                None,
            )
        )
    if target != account_id and rest > 0:
        booking.add(
            booking.leg(
                account_id,
                target,
                rest,
                kind="split_remainder",
                description=f"Settlement remainder {payment['invoice_number']}",
                metadata={"payment_id": payment["id"], "settlement_id": settlement_id},
            )
        )


_gc_pauses = 0
_gc_paused_here = False


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Python's cyclic collector paused while a batch runs (nested and concurrent batches share one
    pause). A batch of 10,000 payments makes some 500,000 objects that live until it ends and form no
    cycles; each full collection the allocations set off walks all of them and frees nothing, about a
    sixth of the batch's Python time. Reference counting still frees everything as usual; the cycles
    anything else makes meanwhile are collected once the pause ends."""
    global _gc_pauses, _gc_paused_here
    if _gc_pauses == 0 and gc.isenabled():
        gc.disable()
        _gc_paused_here = True
    _gc_pauses += 1
    try:
        yield
    finally:
        _gc_pauses -= 1
        if _gc_pauses == 0 and _gc_paused_here:
            _gc_paused_here = False
            gc.enable()


async def apply_batch(business_id: str, settlement_id: str) -> SettlementOut:
    """Apply one pending batch: one ledger group posts each payment's pending amount, deducts the fees,
    refunds and refund fees, pays the split destinations and the remainder, and distributes the splits
    fixed since an earlier batch. All or nothing; a second call changes nothing."""
    with _no_cyclic_gc():
        return await _apply_batch(business_id, settlement_id)


async def _apply_batch(business_id: str, settlement_id: str) -> SettlementOut:
    head = await sql.fetchrow(
        f"SELECT {SETTLEMENT_COLUMNS} FROM settlement WHERE business_id = $1 AND id = $2",
        business_id,
        settlement_id,
    )
    if head is None:
        raise NotFound(N_("Settlement %(id)s was not found."), params={"id": settlement_id})
    if head["status"] == "paid":
        return settlement_out(head)
    # The batch's payments, those fixed since an earlier batch and those whose split payout came back: each
    # set's ids found by its own index, then the rows by primary key (an IN would hash-join a full scan).
    # Only what the checks below read (their accounts and splits): the rows are read again, locked, inside.
    candidates = await sql.fetch(
        "SELECT account_id, split FROM payment WHERE business_id = $1 AND id = ANY(ARRAY("
        "SELECT id FROM payment WHERE business_id = $1 AND settlement_id = $2 "
        "UNION SELECT id FROM payment WHERE business_id = $1 AND split_hold_id IS NOT NULL "
        "UNION SELECT payment_id FROM settlement_part WHERE business_id = $1 AND status = 'returned')) "
        "AND (settlement_id = $2 OR remark IS NULL) ORDER BY id",
        business_id,
        settlement_id,
    )
    # One statement for the batch's accounts (not one per account).
    held = await first_held(business_id, sorted({str(p["account_id"]) for p in candidates}))
    if held is not None:
        # Monitoring held this account's settlement: the whole batch waits until it is released.
        raise Conflict(
            N_("Settlement %(id)s waits: the settlement of account %(account)s is held by monitoring."),
            params={"id": settlement_id, "account": held},
            code="settlement_held",
        )
    invalid = await _invalid_banks(business_id, list(candidates))
    bank_parts: list[tuple[str, str, int]] = []
    async with transaction():
        head = await sql.fetchrow(
            f"SELECT {SETTLEMENT_COLUMNS} FROM settlement WHERE business_id = $1 AND id = $2 FOR UPDATE",
            business_id,
            settlement_id,
        )
        assert head is not None
        if head["status"] == "paid":
            return settlement_out(head)
        payments = await sql.fetch(
            # A bitmap OR of the payment_settlement and payment_split_waiting indexes.
            "SELECT * FROM payment WHERE business_id = $1 AND (settlement_id = $2 OR (split_hold_id "
            "IS NOT NULL AND remark IS NULL AND settlement_id IS NOT NULL AND settlement_id <> $2)) "
            "ORDER BY id FOR UPDATE",
            business_id,
            settlement_id,
        )
        refunds = await sql.fetch(
            "SELECT id, payment_id, amount, fee FROM payment_refund WHERE business_id = $1 AND "
            "group_id IS NULL "
            "AND status = 'succeeded' AND payment_id = ANY($2::text[]) ORDER BY id FOR UPDATE",
            business_id,
            [p["id"] for p in payments],
        )
        currency = "IDR"
        clearing = await accounts.system_account_id(business_id, currency, "clearing")
        world = await accounts.system_account_id(business_id, currency, "world")
        default_account = await default_settlement_account(business_id)
        booking = _Booking()
        booking.deductions = [
            {**dict(r), "target": r["account_id"] or r["beneficiary_id"]}
            for r in await sql.fetch(
                "SELECT d.id, d.kind, d.account_id, d.beneficiary_id, d.reason, d.remaining, d.payment_id, "
                "d.refund_id, p.invoice_number FROM settlement_deduction d JOIN payment p ON p.business_id = "
                "d.business_id AND p.id = d.payment_id WHERE d.business_id = $1 AND d.channel = $2 AND "
                "d.remaining > 0 ORDER BY d.created_at, d.id FOR UPDATE OF d",
                business_id,
                head["channel"],
            )
        ]
        # The reservations of payments fixed since an earlier batch, in one statement.
        fixed_holds = [p["split_hold_id"] for p in payments if p["settlement_id"] != settlement_id]
        reservations = (
            {
                r["id"]: r
                for r in await sql.fetch(
                    "SELECT id, amount FROM hold WHERE business_id = $1 AND id = ANY($2::text[])",
                    business_id,
                    fixed_holds,
                )
            }
            if fixed_holds
            else {}
        )
        for payment in payments:
            pid, account_id, invoice = payment["id"], payment["account_id"], payment["invoice_number"]
            meta = {"payment_id": pid, "settlement_id": settlement_id}
            if payment["settlement_id"] != settlement_id:
                # Fixed since an earlier batch: release its reservation and distribute now.
                reserved = reservations.get(payment["split_hold_id"])
                assert reserved is not None
                leg = booking.add(
                    booking.leg(
                        account_id,
                        clearing,
                        int(reserved["amount"]),
                        kind="split_release",
                        phase="void_pending",
                        hold_id=payment["split_hold_id"],
                        released_amount=int(reserved["amount"]),
                        description=f"Split released {invoice}",
                        metadata=meta,
                    )
                )
                booking.voided_holds.append((payment["split_hold_id"], leg.transfer_id))
                # Refunds made while it waited are booked now and taken back from its destinations.
                late = [r for r in refunds if r["payment_id"] == pid]
                late_amount = sum(int(r["amount"]) for r in late)
                late_fee = sum(int(r["fee"]) for r in late)
                booking.refunds_booked.extend(r["id"] for r in late)
                for amount, kind, text in (
                    (late_amount, "payment_refund", f"Refund {invoice}"),
                    (late_fee, "refund_fee", f"Refund fee {invoice}"),
                ):
                    booking.add(
                        booking.leg(account_id, world, amount, kind=kind, description=text, metadata=meta)
                    )
                await _distribute(
                    booking,
                    settlement_id,
                    payment,
                    int(reserved["amount"]),
                    late_amount + late_fee,
                    default_account,
                    world,
                )
                booking.settled.append(pid)
                continue
            gross, fee = int(payment["amount"]), int(payment["fee"])
            mine = [r for r in refunds if r["payment_id"] == pid]
            refunded = sum(int(r["amount"]) for r in mine)
            refund_fee = sum(int(r["fee"]) for r in mine)
            booking.refunds_booked.extend(r["id"] for r in mine)
            post = booking.add(
                booking.leg(
                    clearing,
                    account_id,
                    gross,
                    kind="settlement",
                    phase="post_pending",
                    hold_id=payment["hold_id"],
                    released_amount=gross,
                    description=f"Settlement {settlement_id} · {invoice}",
                    metadata=meta,
                )
            )
            booking.posted_holds.append((payment["hold_id"], post.transfer_id))
            booking.add(
                booking.leg(
                    account_id,
                    world,
                    fee,
                    kind="payment_fee",
                    description=f"Provider fee (MDR) {invoice}",
                    metadata=meta,
                )
            )
            booking.add(
                booking.leg(
                    account_id,
                    world,
                    refunded,
                    kind="payment_refund",
                    description=f"Refund {invoice}",
                    metadata=meta,
                )
            )
            booking.add(
                booking.leg(
                    account_id,
                    world,
                    refund_fee,
                    kind="refund_fee",
                    description=f"Refund fee {invoice}",
                    metadata=meta,
                )
            )
            booking.lines.append((pid, refunded, refund_fee, gross - fee - refunded - refund_fee))
            destinations = _destinations(payment)
            total = gross - fee
            if destinations and any(d.get("beneficiary_id") in invalid for d in destinations):
                # Pending Settlement: the split's money stays reserved on the account until it is fixed.
                amount = max(total - refunded - refund_fee, 0)
                hold_id = new_id("hld")
                if amount > 0:
                    leg = booking.leg(
                        account_id,
                        clearing,
                        amount,
                        kind="split_pending",
                        phase="pending",
                        hold_id=hold_id,
                        description=f"Split pending {invoice}",
                        metadata=meta,
                    )
                    booking.add(leg)
                    booking.new_holds.append((leg, hold_id, None))
                booking.deferred.append((pid, hold_id if amount > 0 else ""))
                continue
            if destinations:
                await _distribute(
                    booking,
                    settlement_id,
                    payment,
                    total,
                    refunded + refund_fee,
                    default_account,
                    world,
                    destinations,
                )
            booking.settled.append(pid)
        # Split payouts the rail returned, whose destinations the user has fixed since: paid again now.
        repaid: list[str] = []
        returned = await sql.fetch(
            "SELECT * FROM payment WHERE business_id = $1 AND remark IS NULL AND id IN (SELECT payment_id "
            "FROM settlement_part WHERE business_id = $1 AND status = 'returned') ORDER BY id FOR UPDATE",
            business_id,
        )
        parts_of: dict[str, list[asyncpg.Record]] = {}
        if returned:
            for part in await sql.fetch(
                "SELECT * FROM settlement_part WHERE business_id = $1 AND payment_id = ANY($2::text[]) "
                "ORDER BY id",
                business_id,
                [p["id"] for p in returned],
            ):
                parts_of.setdefault(part["payment_id"], []).append(part)
        for payment in returned:
            settled_parts = await _repay_returned(
                booking,
                settlement_id,
                payment,
                parts_of.get(payment["id"], []),
                invalid,
                default_account,
                clearing,
                world,
            )
            if settled_parts:
                repaid.extend(settled_parts)
                booking.settled.append(payment["id"])
            else:
                booking.deferred.append((payment["id"], ""))
        if booking.deductions:
            # The accounts' deductions come out of what each account receives in this batch.
            received: dict[str, int] = {}
            for leg in booking.legs:
                if leg.phase in ("posted", "post_pending"):
                    received[leg.credit_account_id] = received.get(leg.credit_account_id, 0) + leg.amount
                if leg.phase != "void_pending":
                    received[leg.debit_account_id] = received.get(leg.debit_account_id, 0) - leg.amount
            for target in dict.fromkeys(d["target"] for d in booking.deductions if d["kind"] == "account"):
                booking.deduct("account", target, received.get(target, 0), target, world)
        group_id = new_id("grp")
        result = None
        if booking.legs:
            result = await engine.execute(
                Operation(
                    business_id,
                    booking.legs,
                    group_id=group_id,
                    source_id=settlement_id,
                    internal=True,
                    on_commit=hold_legs_committed(booking.new_holds, None, business_id)
                    if booking.new_holds
                    else None,
                )
            )
        del result
        now = clock.now()
        # The holds resolved by the group (their resolution transfers are in it), set-based.
        for status, resolved in (("posted", booking.posted_holds), ("voided", booking.voided_holds)):
            if resolved:
                await sql.execute(
                    "UPDATE hold h SET status = $2, posted_amount = CASE WHEN $2 = 'posted' THEN h.amount "
                    "ELSE 0 END, resolved_at = now(), resolution_transfer_id = v.transfer_id "
                    "FROM unnest($3::text[], $4::text[]) AS v(id, transfer_id) "
                    "WHERE h.business_id = $1 AND h.id = v.id AND h.status = 'pending'",
                    business_id,
                    status,
                    [hold_id for hold_id, _ in resolved],
                    [transfer_id for _, transfer_id in resolved],
                )
        if booking.parts:
            # Tens of thousands of rows: one binary COPY (no per-element checks of nine arrays).
            async with sql.connection() as conn:
                await conn.copy_records_to_table(
                    "settlement_part",
                    columns=PART_COLUMNS,
                    records=[(business_id, *part) for part in booking.parts],
                )
            bank_parts = [
                (p[0], str(p[5]), int(p[6])) for p in booking.parts if p[3] == "bank" and p[7] == "submitted"
            ]
        if booking.lines:
            # The refunds booked with the batch, on its lines (set-based: one statement).
            await sql.execute(
                "UPDATE settlement_line l SET refunded = v.refunded, refund_fee = v.refund_fee, net = v.net "
                "FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::bigint[]) AS v(id, "
                "refunded, refund_fee, net) "
                "WHERE l.business_id = $1 AND l.settlement_id = $2 AND l.payment_id = v.id "
                "AND (l.refunded, l.refund_fee, l.net) IS DISTINCT FROM (v.refunded, v.refund_fee, v.net)",
                business_id,
                settlement_id,
                *[[line[n] for line in booking.lines] for n in range(4)],
            )
        if repaid:
            await sql.execute(
                "UPDATE settlement_part SET status = 'repaid' WHERE business_id = $1 AND id = "
                "ANY($2::text[])",
                business_id,
                repaid,
            )
        if booking.refunds_booked:
            await sql.execute(
                "UPDATE payment_refund SET group_id = $2 WHERE business_id = $1 AND id = ANY($3::text[])",
                business_id,
                group_id,
                booking.refunds_booked,
            )
        await sql.execute(
            "UPDATE payment SET status = CASE WHEN status IN ('paid', 'pending_settlement') THEN "
            "'settled' ELSE status END, "
            "remark = NULL, split_hold_id = NULL, settled_at = $3, updated_at = now() "
            "WHERE business_id = $1 AND id = ANY($2::text[])",
            business_id,
            booking.settled,
            now,
        )
        if booking.deferred:
            # Pending Settlement, one statement for the batch; their `split.failed` events in another.
            deferred_rows = await sql.fetch(
                "UPDATE payment p SET status = CASE WHEN p.status = 'paid' THEN 'pending_settlement' "
                "ELSE p.status END, remark = $2, split_hold_id = nullif(v.hold_id, ''), settled_at = $3, "
                "updated_at = now() FROM unnest($4::text[], $5::text[]) AS v(id, hold_id) "
                "WHERE p.business_id = $1 AND p.id = v.id RETURNING p.*",
                business_id,
                INVALID_BANK_REMARK,
                now,
                [pid for pid, _ in booking.deferred],
                [hold_id for _, hold_id in booking.deferred],
            )
            assert len(deferred_rows) == len(booking.deferred)
            async with sql.connection() as conn:
                await emit_many(
                    conn,
                    [
                        (
                            business_id,
                            "split.failed",
                            msgspec.to_builtins(payment_out(row)),
                            (row["account_id"],),
                        )
                        for row in sorted(deferred_rows, key=lambda r: r["id"])
                    ],
                )
        taken = {k: v for k, v in booking.taken.items() if v > 0}
        if taken:
            await sql.execute(
                "INSERT INTO settlement_deduction_take (business_id, settlement_id, deduction_id, amount) "
                "SELECT $1, $2, * FROM unnest($3::text[], $4::bigint[])",
                business_id,
                settlement_id,
                list(taken),
                list(taken.values()),
            )
            await sql.execute(
                "UPDATE settlement_deduction d SET remaining = d.remaining - v.amount FROM "
                "unnest($2::text[], $3::bigint[]) AS v(id, amount) WHERE d.business_id = $1 AND d.id = v.id",
                business_id,
                list(taken),
                list(taken.values()),
            )
        # The batch's refunds and refund fees: its own payments' and the deductions it took.
        totals = await sql.fetchrow(
            "SELECT (SELECT coalesce(sum(refunded), 0) FROM settlement_line WHERE business_id = $1 AND "
            "settlement_id = $2) + (SELECT coalesce(sum(t.amount), 0) FROM settlement_deduction_take t JOIN "
            "settlement_deduction d ON d.business_id = t.business_id AND d.id = t.deduction_id WHERE "
            "t.business_id = $1 AND t.settlement_id = $2 AND d.reason = 'refund') AS refunds, "
            "(SELECT coalesce(sum(refund_fee), 0) FROM settlement_line WHERE business_id = $1 AND "
            "settlement_id = $2) + (SELECT coalesce(sum(t.amount), 0) FROM settlement_deduction_take t JOIN "
            "settlement_deduction d ON d.business_id = t.business_id AND d.id = t.deduction_id WHERE "
            "t.business_id = $1 AND t.settlement_id = $2 AND d.reason = 'refund_fee') AS refund_fees",
            business_id,
            settlement_id,
        )
        assert totals is not None
        updated = await sql.fetchrow(
            "UPDATE settlement SET status = 'paid', paid_at = $3, group_id = $4, refunds = $5, "
            "refund_fees = $6, "
            "net = gross - fees - $5 - $6 WHERE business_id = $1 AND id = $2 "
            f"RETURNING {SETTLEMENT_COLUMNS}",
            business_id,
            settlement_id,
            now,
            group_id if booking.legs else None,
            int(totals["refunds"]),
            int(totals["refund_fees"]),
        )
        assert updated is not None
        await event(business_id, "settlement.paid", settlement_out(updated), ())
        await audit(
            system_actor(business_id),
            "settlement.paid",
            f"Settlement {settlement_id} ({updated['channel']}, {updated['business_day']}) applied",
            {"settlement_id": settlement_id},
        )
        if bank_parts:
            from portal.lib.jobs import enqueue_many

            await enqueue_many(
                "payments.pay_split_part",
                [{"business_id": business_id, "part_id": part_id} for part_id, _, _ in bank_parts],
            )
    return settlement_out(updated)


async def pay_split_part(business_id: str, part_id: str) -> str:
    """Pay one bank destination of a split by a provider payout (idempotent: the part id is the
    payout's reference, so a retry is the same payout and nothing is paid twice)."""
    part = await sql.fetchrow(
        "SELECT p.*, b.bank_code, b.account_number, b.holder_name FROM settlement_part p "
        "JOIN beneficiary b ON b.id = p.beneficiary_id AND b.business_id = p.business_id "
        "WHERE p.business_id = $1 AND p.id = $2",
        business_id,
        part_id,
    )
    if part is None or part["status"] != "submitted":
        return "skipped"
    payout = await gateway.provider().submit_payout(
        business_id,
        gateway.PayoutRequest(
            reference=part_id,
            rail="bifast",
            amount=int(part["amount"]),
            beneficiary_name=part["holder_name"][:100],
            bank_code=part["bank_code"],
            account_number=part["account_number"],
        ),
    )
    status = {"succeeded": "paid", "failed": "failed"}.get(payout.status, "submitted")
    async with transaction():
        await sql.execute(
            "UPDATE settlement_part SET status = $3 WHERE business_id = $1 AND id = $2 AND status = "
            "'submitted'",
            business_id,
            part_id,
            status,
        )
    return status


async def check_split_payouts(limit: int = 200) -> int:
    """Ask the provider how the submitted bank payouts of split parts ended (by their reference, the part
    id), for callbacks that never came: succeeded → `paid`; failed or reversed → returned to clearing
    and the payment back in Pending Settlement (`split_payout_outcome`). Returns how many changed."""
    rows = await sql.fetch(
        "SELECT business_id, id FROM settlement_part WHERE status = 'submitted' AND kind = 'bank' "
        "ORDER BY created_at LIMIT $1",
        limit,
    )
    client = gateway.provider()
    changed = 0
    for row in rows:
        try:
            payout = await client.find_payout(row["business_id"], row["id"])
        except gateway.ProviderError:
            continue
        if payout is None or payout.status not in ("succeeded", "failed", "reversed"):
            continue
        async with transaction():
            outcome = await split_payout_outcome(row["business_id"], row["id"], payout.status)
        changed += 1 if outcome in ("paid", "returned") else 0
    return changed


@provider.on_payout_reference("spt_")
async def split_payout_event(business_id: str, event_type: str, data: dict[str, Any]) -> str:
    """A provider callback about a split part's payout (`payout.succeeded|failed|reversed`), inside the
    transaction recording it."""
    return await split_payout_outcome(
        business_id, str(data.get("reference") or ""), event_type.removeprefix("payout.")
    )


async def split_payout_outcome(business_id: str, part_id: str, status: str) -> str:
    """How a split part's payout ended, once (runs in the caller's transaction). Succeeded → `paid`.
    Failed (the rail rejected it after submission) or reversed → the part is `returned`: its money comes
    back from `world` into the business's clearing account, and the payment goes back to Pending
    Settlement with the remark "Split Settlement Bank Account Invalid" (event `split.failed`) until the
    user fixes its destinations; the next batch applied pays it again (`apply_batch`)."""
    part = await sql.fetchrow(
        "SELECT * FROM settlement_part WHERE business_id = $1 AND id = $2 AND kind = 'bank' FOR UPDATE",
        business_id,
        part_id,
    )
    if part is None:
        return "unknown_reference"
    if status == "succeeded":
        if part["status"] != "submitted":
            return "noted"
        await sql.execute(
            "UPDATE settlement_part SET status = 'paid' WHERE business_id = $1 AND id = $2",
            business_id,
            part_id,
        )
        return "paid"
    if status not in ("failed", "reversed") or part["status"] not in ("submitted", "paid"):
        return "noted"
    payment = await sql.fetchrow(
        "SELECT * FROM payment WHERE business_id = $1 AND id = $2 FOR UPDATE", business_id, part["payment_id"]
    )
    assert payment is not None
    clearing = await accounts.system_account_id(business_id, "IDR", "clearing")
    world = await accounts.system_account_id(business_id, "IDR", "world")
    await engine.execute(
        Operation(
            business_id,
            [
                Leg(
                    world,
                    clearing,
                    int(part["amount"]),
                    kind="split_payout_returned",
                    description=f"Split payout returned {payment['invoice_number']}",
                    metadata={"payment_id": payment["id"], "part_id": part_id},
                )
            ],
            source_id=part_id,
            internal=True,
        )
    )
    await sql.execute(
        "UPDATE settlement_part SET status = 'returned' WHERE business_id = $1 AND id = $2",
        business_id,
        part_id,
    )
    updated = await sql.fetchrow(
        "UPDATE payment SET status = CASE WHEN status = 'settled' THEN 'pending_settlement' ELSE status END, "
        "remark = $3, updated_at = now() WHERE business_id = $1 AND id = $2 RETURNING *",
        business_id,
        payment["id"],
        INVALID_BANK_REMARK,
    )
    assert updated is not None
    await event(business_id, "split.failed", payment_out(updated), (updated["account_id"],))
    return "returned"


async def _repay_returned(
    booking: _Booking,
    settlement_id: str,
    payment: asyncpg.Record,
    parts: list[asyncpg.Record],
    invalid: set[str],
    default_account: str | None,
    clearing: str,
    world: str,
) -> list[str]:
    """Legs paying again, out of clearing, what the rail returned of a payment's split, now that the user
    fixed its destinations: each destination not already paid receives (up to what was returned) the
    part the fixed configuration gives it; what is left goes to the default settlement account. Returns
    the returned parts settled, or [] when a new bank destination is still invalid (it waits again)."""
    returned = [p for p in parts if p["status"] == "returned"]
    destinations = _destinations(payment)
    done = {
        (p["kind"], p["account_id"] if p["kind"] == "account" else p["beneficiary_id"])
        for p in parts
        if p["kind"] != "remainder" and p["status"] in ("booked", "submitted", "paid")
    }
    fresh = [
        (i, d)
        for i, d in enumerate(destinations)
        if (d["kind"], d.get("account_id") if d["kind"] == "account" else d.get("beneficiary_id")) not in done
    ]
    if any(d["kind"] == "bank" and d["beneficiary_id"] in invalid for _, d in fresh):
        return []
    amounts, _ = split(sum(int(p["amount"]) for p in parts), shares(destinations))
    left = sum(int(p["amount"]) for p in returned)
    meta = {"payment_id": payment["id"], "settlement_id": settlement_id}
    invoice = payment["invoice_number"]
    for i, d in fresh:
        pay = min(amounts[i], left)
        if pay <= 0:
            continue
        left -= pay
        part_id = booking.next_id("spt")
        if d["kind"] == "account":
            booking.add(
                booking.leg(
                    clearing,
                    d["account_id"],
                    pay,
                    kind="split_settlement",
                    description=f"Split settlement {invoice}",
                    metadata=meta,
                )
            )
            booking.parts.append(
                (part_id, settlement_id, payment["id"], "account", d["account_id"], None, pay, "booked", None)
            )
        else:
            booking.add(
                booking.leg(
                    clearing,
                    world,
                    pay,
                    kind="split_payout",
                    description=f"Split settlement {invoice} to bank {d['account_number'][-4:]}",
                    metadata={**meta, "beneficiary_id": d["beneficiary_id"]},
                )
            )
            booking.parts.append(
                (
                    part_id,
                    settlement_id,
                    payment["id"],
                    "bank",
                    None,
                    d["beneficiary_id"],
                    pay,
                    "submitted",
                    part_id,
                )
            )
    if left > 0:
        target = default_account or payment["account_id"]
        booking.add(
            booking.leg(
                clearing,
                target,
                left,
                kind="split_remainder",
                description=f"Settlement remainder {invoice}",
                metadata=meta,
            )
        )
        booking.parts.append(
            (
                booking.next_id("spt"),
                settlement_id,
                payment["id"],
                "remainder",
                target,
                None,
                left,
                "booked",
                None,
            )
        )
    return [str(p["id"]) for p in returned]


async def apply_due(business_id: str, today: date | None = None) -> list[str]:
    """Apply every pending batch of the business whose settlement date has come."""
    rows = await sql.fetch(
        "SELECT id FROM settlement WHERE business_id = $1 AND status = 'pending' AND settlement_date <= $2 "
        "ORDER BY settlement_date, id",
        business_id,
        today or today_wib(),
    )
    applied = []
    for row in rows:
        try:
            await apply_batch(business_id, row["id"])
        except Conflict as held:
            if held.code != "settlement_held":
                raise
            log.info("settlement held", business_id=business_id, settlement_id=row["id"])
            continue
        applied.append(str(row["id"]))
    return applied


async def businesses_with_payments() -> list[str]:
    rows = await sql.fetch("SELECT DISTINCT business_id FROM payment WHERE hold_id IS NOT NULL")
    return [str(r["business_id"]) for r in rows]


async def settle(day: date, business_id: str | None = None, *, apply: str = "due") -> dict[str, Any]:
    """Ops and the daily job: create the batches of `day` for one business (or every business with
    payments), then apply them — those due (`apply="due"`), all of that day (`"all"`), or none. A run that
    applies then takes the deductions still owed after the grace days from the balances
    (`deductions.take_overdue_deductions`)."""
    from portal.domains.payments.services.deductions import take_overdue_deductions

    done: dict[str, Any] = {"created": [], "applied": [], "deductions_from_balance": []}
    for business in [business_id] if business_id else await businesses_with_payments():
        try:
            created = await create_batches(business, day)
        except gateway.ProviderError as exc:
            log.warning("settlement report unavailable", business_id=business, error=exc.code)
            continue
        done["created"].extend(created)
        if apply == "all":
            for settlement_id in created:
                try:
                    await apply_batch(business, settlement_id)
                except Conflict as held:
                    if held.code != "settlement_held":
                        raise
                    continue
                done["applied"].append(settlement_id)
        elif apply == "due":
            done["applied"].extend(await apply_due(business))
        if apply != "none":
            done["deductions_from_balance"].extend(await take_overdue_deductions(business))
    return done


# --- reads ----------------------------------------------------------------------------------------


def _whole_business(actor: Actor) -> None:
    actor.require("payments")
    if actor.scope_account_id is not None:
        from portal.lib.errors import Forbidden

        raise Forbidden(
            N_("Settlement batches cover the whole business: they need access to the whole business.")
        )


async def _settlement_row(actor: Actor, settlement_id: str) -> asyncpg.Record:
    row = await sql.fetchrow(
        f"SELECT {SETTLEMENT_COLUMNS} FROM settlement WHERE business_id = $1 AND id = $2",
        actor.business_id,
        str(settlement_id),
    )
    if row is None:
        raise NotFound(N_("Settlement %(id)s was not found."), params={"id": str(settlement_id)[:40]})
    return row


async def find_settlement(actor: Actor, settlement_id: str) -> None:
    await _settlement_row(actor, settlement_id)


async def get_settlement(actor: Actor, settlement_id: str) -> SettlementDetail:
    """One batch with its payments."""
    _whole_business(actor)
    row = await _settlement_row(actor, settlement_id)
    lines = await sql.fetch(
        "SELECT l.*, p.invoice_number FROM settlement_line l JOIN payment p ON p.business_id = l.business_id "
        "AND p.id = l.payment_id WHERE l.business_id = $1 AND l.settlement_id = $2 ORDER BY l.payment_id",
        actor.business_id,
        row["id"],
    )
    return SettlementDetail(
        settlement_out(row),
        [
            SettlementLineOut(
                payment_id=r["payment_id"],
                invoice_number=r["invoice_number"],
                account_id=r["account_id"],
                amount=int(r["amount"]),
                fee=int(r["fee"]),
                refunded=int(r["refunded"]),
                refund_fee=int(r["refund_fee"]),
                net=int(r["net"]),
            )
            for r in lines
        ],
        [
            SettlementDeductionOut(
                deduction_id=r["id"],
                refund_id=r["refund_id"],
                payment_id=r["payment_id"],
                invoice_number=r["invoice_number"],
                kind=r["kind"],
                account_id=r["account_id"],
                beneficiary_id=r["beneficiary_id"],
                reason=r["reason"],
                amount=int(r["amount"]),
            )
            for r in await sql.fetch(
                "SELECT d.id, d.refund_id, d.payment_id, p.invoice_number, d.kind, d.account_id, "
                "d.beneficiary_id, d.reason, t.amount FROM settlement_deduction_take t "
                "JOIN settlement_deduction d ON d.business_id = t.business_id AND d.id = t.deduction_id "
                "JOIN payment p ON p.business_id = d.business_id AND p.id = d.payment_id "
                "WHERE t.business_id = $1 AND t.settlement_id = $2 "
                "ORDER BY d.created_at, d.id",
                actor.business_id,
                row["id"],
            )
        ],
    )


async def list_settlements(
    actor: Actor,
    *,
    status: str | None = None,
    channel: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> SettlementPage:
    """The business's batches, newest first."""
    _whole_business(actor)
    size = clamp_limit(limit)
    args: list[Any] = [actor.business_id]
    where = ["true"]
    if status in ("pending", "paid"):
        args.append(status)
        where.append(f"status = ${len(args)}")
    if channel in SETTLEMENT_DAYS:
        args.append(channel)
        where.append(f"channel = ${len(args)}")
    cursor = decode_cursor(after)
    if cursor is not None:
        args.append(str(cursor))
        where.append(f"id < ${len(args)}")
    args.append(size + 1)
    clause = " AND ".join(where)
    rows = await sql.fetch(
        f"SELECT {SETTLEMENT_COLUMNS} FROM settlement WHERE business_id = $1 AND {clause} "
        f"ORDER BY id DESC LIMIT ${len(args)}",
        *args,
    )
    page = rows[:size]
    next_cursor = encode_cursor(page[-1]["id"]) if len(rows) > size else None
    return SettlementPage([settlement_out(r) for r in page], next_cursor is not None, next_cursor)


async def apply_now(actor: Actor, settlement_id: str) -> SettlementOut:
    """Ops: apply a pending batch before its settlement date (sandbox and tests)."""
    _whole_business(actor)
    actor.require("payments", "manage")
    row = await _settlement_row(actor, settlement_id)
    if actor.business_mode != "sandbox":
        raise Conflict(N_("A batch is applied on its settlement date in live mode."), code="not_sandbox")
    return await apply_batch(actor.business_id, row["id"])
