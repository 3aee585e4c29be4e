"""Payouts (disbursements) on a rail, completed asynchronously with the rail's own timing.

BI-FAST, online transfer and e-wallets complete seconds after submission, 24/7. SKN clears in windows
(09:00, 11:00, 13:00, 15:00 WIB) on business days. RTGS settles a few minutes after submission within
business hours (08:00 to the 14:00 WIB cut-off) on business days; otherwise on the next business day.
All of it on the merchant's test clock; a `slow` rail adds a minute (instant rails) or half an hour.
"""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from typing import Any

import asyncpg

from portal.lib import ids
from portal.simulator import reference as ref
from portal.simulator.config import get_config
from portal.simulator.errors import SimError, conflict, invalid, not_found
from portal.simulator.services import callbacks, clock, fields, inquiries, rails
from portal.simulator.services.items import repeated

INSTANT_S = {"bifast": 2, "online": 3, "ewallet": 2}
SKN_WINDOWS = (time(9), time(11), time(13), time(15))
RTGS_OPEN, RTGS_CUTOFF = time(8), time(14)
RTGS_SETTLE = timedelta(minutes=5)
FAILURE_MESSAGES = {
    "account_not_found": "The beneficiary account does not exist.",
    "account_closed": "The beneficiary account is closed.",
    "rejected": "The beneficiary bank rejected the transfer.",
}
REJECT_SUFFIX = "666"  # magic amount ending: the beneficiary bank rejects the transfer


def expected_at(rail: str, mode: str, now: datetime) -> datetime:
    """When a payout submitted at `now` (merchant clock) completes on `rail`."""
    if rail in INSTANT_S:
        return now + timedelta(seconds=INSTANT_S[rail] + (60 if mode == "slow" else 0))
    extra = timedelta(minutes=30) if mode == "slow" else timedelta(0)
    local = now.astimezone(clock.WIB)
    day = local.date()
    if rail == "skn":
        while True:
            if clock.is_business_day(day):
                for window in SKN_WINDOWS:
                    moment = clock.wib(day, window)
                    if moment > now:
                        return moment + extra
            day = clock.next_business_day(day + timedelta(days=1))
    if clock.is_business_day(day) and RTGS_OPEN <= local.time() < RTGS_CUTOFF:
        return now + RTGS_SETTLE + extra
    if clock.is_business_day(day) and local.time() < RTGS_OPEN:
        return clock.wib(day, RTGS_OPEN) + RTGS_SETTLE + extra
    return clock.wib(clock.next_business_day(day + timedelta(days=1)), RTGS_OPEN) + RTGS_SETTLE + extra


def view(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "payout_id": row["id"],
        "reference": row["reference"],
        "merchant_id": row["merchant_id"],
        "status": row["status"],
        "rail": row["rail"],
        "amount": row["amount"],
        "fee": row["fee"],
        "currency": row["currency"],
        "bank_code": row["bank_code"],
        "account_number": row["account_number"],
        "wallet": row["wallet"],
        "phone": row["phone"],
        "beneficiary_name": row["beneficiary_name"],
        "bank_reference": row["bank_reference"],
        "failure_code": row["failure_code"],
        "failure_message": row["failure_message"],
        "created_at": fields.iso(row["created_at"]),
        "expected_at": fields.iso(row["expected_at"]),
        "completed_at": fields.iso(row["completed_at"]),
        "reversed_at": fields.iso(row["reversed_at"]),
    }


def _checked(body: dict[str, Any]) -> dict[str, Any]:
    """A payout's fields from a request body (or one item of a batch), with the rail's amount bounds."""
    reference = fields.required_text(body, "reference", max_length=64)
    rail = fields.choice(body, "rail", ref.PAYOUT_RAILS)
    assert rail is not None
    amount = fields.amount(body)
    currency = fields.currency(body)
    beneficiary_name = fields.required_text(body, "beneficiary_name", max_length=100)
    bank_code = account_number = wallet = phone = None
    if rail == "ewallet":
        wallet, phone = inquiries.destination(body, "ewallet")
    else:
        bank_code, account_number = inquiries.destination(body, "bank")
    limits = ref.RAILS[rail]
    if not limits["min"] <= amount <= limits["max"]:
        raise invalid(
            "/amount",
            f"amount must be between {limits['min']} and {limits['max']} on {rail}.",
            "amount_out_of_range",
        )
    return {
        "reference": reference,
        "rail": rail,
        "amount": amount,
        "fee": limits["fee"],
        "currency": currency,
        "bank_code": bank_code,
        "account_number": account_number,
        "wallet": wallet,
        "phone": phone,
        "beneficiary_name": beneficiary_name,
    }


_SAME = ("merchant_id", "rail", "amount", "currency", "bank_code", "account_number", "wallet", "phone")


async def _insert(
    conn: asyncpg.Connection, partner_id: str, merchant_id: str, now: datetime, items: list[dict[str, Any]]
) -> list[asyncpg.Record]:
    """Write accepted payouts (`submitted`, each with its completion due) in two statements, in order."""
    rows = await conn.fetch(
        "INSERT INTO sim_payouts (id, partner_id, merchant_id, reference, rail, amount, fee, currency, "
        "bank_code, account_number, wallet, phone, beneficiary_name, status, created_at, expected_at) "
        "SELECT x.id, $1, $2, x.reference, x.rail, x.amount, x.fee, x.currency, x.bank_code, "
        "x.account_number, x.wallet, x.phone, x.beneficiary_name, 'submitted', $3, x.expected_at "
        "FROM unnest($4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[], "
        "$10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::timestamptz[]) "
        "WITH ORDINALITY AS x(id, reference, rail, amount, fee, currency, bank_code, account_number, "
        "wallet, phone, beneficiary_name, expected_at, ord) ORDER BY x.ord RETURNING *",
        partner_id,
        merchant_id,
        now,
        [ids.new_id("sp") for _ in items],
        *(
            [item[name] for item in items]
            for name in (
                "reference",
                "rail",
                "amount",
                "fee",
                "currency",
                "bank_code",
                "account_number",
                "wallet",
                "phone",
                "beneficiary_name",
                "expected_at",
            )
        ),
    )
    await conn.execute(
        "INSERT INTO sim_work (kind, subject_id, merchant_id, due_at) "
        "SELECT 'payout_complete', x.id, $1, x.due FROM unnest($2::text[], $3::timestamptz[]) AS x(id, due)",
        merchant_id,
        [r["id"] for r in rows],
        [r["expected_at"] for r in rows],
    )
    return rows


async def submit(conn: asyncpg.Connection, partner_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Accept a payout (`submitted`); it completes later, by the rail's timing, with a callback."""
    merchant_id = fields.required_text(body, "merchant_id", max_length=64)
    assert merchant_id is not None
    item = _checked(body)
    mode = await rails.gate(conn, item["rail"], get_config().timeout_hold_s)
    if await conn.fetchval(
        "SELECT 1 FROM sim_payouts WHERE partner_id = $1 AND reference = $2", partner_id, item["reference"]
    ):
        raise conflict(
            "duplicate_reference", f"A payout with reference {item['reference']!r} already exists."
        )
    now = await clock.now(conn, merchant_id)
    item["expected_at"] = expected_at(item["rail"], mode, now)
    return view((await _insert(conn, partner_id, merchant_id, now, [item]))[0])


MAX_PAYOUTS = 500


async def submit_many(conn: asyncpg.Connection, partner_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Accept several payouts in one call, each exactly as `submit` would (its rail's bounds, mode and
    timing, its completion and callback later), each idempotent by its reference: a reference already
    accepted with the same details answers that payout again (nothing new), with other details
    `duplicate_reference`. An offline rail refuses its items alone (`rail_offline`, nothing recorded);
    a `timeout` or `slow` rail holds the whole answer. Answers one outcome per item, in order:
    `{"reference", "payout"}` or `{"reference", "error"}`."""
    merchant_id = fields.required_text(body, "merchant_id", max_length=64)
    assert merchant_id is not None
    items = body.get("payouts")
    if not isinstance(items, list) or not items or len(items) > MAX_PAYOUTS:
        raise invalid("/payouts", f"payouts is a list of 1 to {MAX_PAYOUTS} payouts.")
    outcomes: list[dict[str, Any]] = []
    checked: list[dict[str, Any] | None] = []
    for n, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise invalid(f"/payouts/{n}", "Each payout is an object.")
            checked.append(_checked(item))
            outcomes.append({})
        except SimError as exc:
            checked.append(None)
            reference = item.get("reference") if isinstance(item, dict) else None
            outcomes.append({"reference": reference, "error": exc.body()})
    valid = [c for c in checked if c is not None]
    modes: dict[str, str | SimError] = {}
    for rail in sorted({c["rail"] for c in valid}):
        try:
            modes[rail] = await rails.gate(conn, rail, get_config().timeout_hold_s)
        except SimError as exc:
            modes[rail] = exc
    existing = {
        r["reference"]: r
        for r in await conn.fetch(
            "SELECT * FROM sim_payouts WHERE partner_id = $1 AND reference = ANY($2::text[])",
            partner_id,
            [c["reference"] for c in valid],
        )
    }
    now = await clock.now(conn, merchant_id)
    new: list[tuple[int, dict[str, Any]]] = []
    seen: set[str] = set()
    for n, item in enumerate(checked):
        if item is None:
            continue
        reference = item["reference"]
        first = existing.get(reference)
        if first is not None or reference in seen:
            asked = {**item, "merchant_id": merchant_id}
            same = first if first is not None and all(first[k] == asked[k] for k in _SAME) else None
            outcomes[n] = repeated(reference, same, "payout", view)
            continue
        mode = modes[item["rail"]]
        if isinstance(mode, SimError):
            outcomes[n] = {"reference": reference, "error": mode.body()}
            continue
        seen.add(reference)
        item["expected_at"] = expected_at(item["rail"], mode, now)
        new.append((n, item))
    if new:
        rows = await _insert(conn, partner_id, merchant_id, now, [item for _, item in new])
        for (n, item), row in zip(new, rows, strict=True):
            outcomes[n] = {"reference": item["reference"], "payout": view(row)}
    return {"payouts": outcomes}


async def complete_due(conn: asyncpg.Connection, payout_id: str) -> None:
    """Work item: the rail has answered. The directory decides: succeeded, or failed with a reason."""
    row = await conn.fetchrow("SELECT * FROM sim_payouts WHERE id = $1 FOR UPDATE", payout_id)
    if row is None or row["status"] != "submitted":
        return
    if row["rail"] == "ewallet":
        found = await inquiries.lookup(conn, row["wallet"], row["phone"])
    else:
        found = await inquiries.lookup(conn, row["bank_code"], row["account_number"])
    failure = {"not_found": "account_not_found", "closed": "account_closed"}.get(found["status"])
    if failure is None and str(row["amount"]).endswith(REJECT_SUFFIX):
        failure = "rejected"
    now = max(await clock.now(conn, row["merchant_id"]), row["expected_at"])
    if failure is None:
        stamp = now.astimezone(clock.WIB).strftime("%Y%m%d")
        updated = await conn.fetchrow(
            "UPDATE sim_payouts SET status = 'succeeded', completed_at = $2, bank_reference = $3 WHERE id "
            "= $1 RETURNING *",
            payout_id,
            now,
            f"{row['rail'].upper()}{stamp}{secrets.randbelow(10**10):010d}",
        )
        await callbacks.enqueue(conn, "payouts", "payout.succeeded", row["merchant_id"], view(updated))
        return
    updated = await conn.fetchrow(
        "UPDATE sim_payouts SET status = 'failed', completed_at = $2, failure_code = $3, failure_message = "
        "$4 "
        "WHERE id = $1 RETURNING *",
        payout_id,
        now,
        failure,
        FAILURE_MESSAGES[failure],
    )
    await callbacks.enqueue(conn, "payouts", "payout.failed", row["merchant_id"], view(updated))


async def reverse(conn: asyncpg.Connection, payout_id: str) -> dict[str, Any]:
    """The beneficiary bank returns a succeeded payout (control surface)."""
    row = await conn.fetchrow("SELECT * FROM sim_payouts WHERE id = $1 FOR UPDATE", payout_id)
    if row is None:
        raise not_found("Payout")
    if row["status"] != "succeeded":
        raise conflict(
            "invalid_state", f"The payout is {row['status']}; only a succeeded one can be reversed."
        )
    now = await clock.now(conn, row["merchant_id"])
    updated = await conn.fetchrow(
        "UPDATE sim_payouts SET status = 'reversed', reversed_at = $2 WHERE id = $1 RETURNING *",
        payout_id,
        now,
    )
    await callbacks.enqueue(conn, "payouts", "payout.reversed", row["merchant_id"], view(updated))
    return view(updated)


async def get(
    conn: asyncpg.Connection, partner_id: str, payout_id: str, merchant_id: str | None
) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT * FROM sim_payouts WHERE id = $1 AND partner_id = $2 AND ($3::text IS NULL OR merchant_id "
        "= $3)",
        payout_id,
        partner_id,
        merchant_id,
    )
    if row is None:
        raise not_found("Payout")
    return view(row)


async def by_reference(
    conn: asyncpg.Connection, partner_id: str, reference: str, merchant_id: str | None
) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT * FROM sim_payouts WHERE reference = $1 AND partner_id = $2 AND ($3::text IS NULL OR "
        "merchant_id = $3)",
        reference,
        partner_id,
        merchant_id,
    )
    if row is None:
        raise not_found("Payout")
    return view(row)
