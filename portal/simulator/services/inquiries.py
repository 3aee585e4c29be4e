"""Account name inquiry against the sandbox's directory of bank and e-wallet accounts.

Accounts not in the directory answer by magic suffix: `…0000` not found, `…9999` closed; any other
number is found with a stable, generated holder name (so any realistic number works in a demo).
"""

from __future__ import annotations

import hashlib
from typing import Any

import asyncpg

from portal.simulator import reference as ref
from portal.simulator.config import get_config
from portal.simulator.errors import invalid
from portal.simulator.services import fields, rails

FIRST = ("ADI", "BAYU", "CITRA", "DIAN", "EKO", "FITRI", "GALIH", "HANA", "IWAN", "JOKO", "KARTIKA", "LINA")
LAST = ("SUSANTO", "WIBOWO", "HARTONO", "NUGROHO", "PURNAMA", "SETIAWAN", "HIDAYAT", "KURNIAWAN", "LESTARI")


def generated_name(key: str) -> str:
    digest = hashlib.sha256(key.encode()).digest()
    return f"{FIRST[digest[0] % len(FIRST)]} {LAST[digest[1] % len(LAST)]}"


async def lookup(conn: asyncpg.Connection, bank_code: str, account_number: str) -> dict[str, Any]:
    """`{status: found|not_found|closed, holder_name?}` for a bank code (or wallet) and number (or phone)."""
    row = await conn.fetchrow(
        "SELECT holder_name, status FROM sim_accounts WHERE bank_code = $1 AND account_number = $2",
        bank_code,
        account_number,
    )
    if row is not None:
        if row["status"] == "closed":
            return {"status": "closed", "holder_name": None}
        return {"status": "found", "holder_name": row["holder_name"]}
    if account_number.endswith("0000"):
        return {"status": "not_found", "holder_name": None}
    if account_number.endswith("9999"):
        return {"status": "closed", "holder_name": None}
    return {"status": "found", "holder_name": generated_name(f"{bank_code}:{account_number}")}


def destination(body: dict[str, Any], kind: str) -> tuple[str, str]:
    """(directory key, number) for a bank account or an e-wallet, from a request body."""
    if kind == "bank":
        bank_code = fields.choice(body, "bank_code", set(ref.BANKS))
        number = fields.digits(body, "account_number", min_length=6, max_length=20)
        assert bank_code is not None and number is not None
        return bank_code, number
    wallet = fields.choice(body, "wallet", ref.WALLETS)
    phone = fields.phone(body)
    assert wallet is not None and phone is not None
    return wallet, phone


async def inquire(conn: asyncpg.Connection, body: dict[str, Any]) -> dict[str, Any]:
    """Name inquiry: who holds this account, or is it unknown or closed."""
    fields.required_text(body, "merchant_id", max_length=64)
    kind = fields.choice(body, "kind", ("bank", "ewallet"))
    assert kind is not None
    key, number = destination(body, kind)
    await rails.gate(conn, "inquiry", get_config().timeout_hold_s)
    return await lookup(conn, key, number)


async def register_account(conn: asyncpg.Connection, body: dict[str, Any]) -> dict[str, Any]:
    """Add or change an account in the directory (control surface): holder name and active/closed."""
    if body.get("wallet"):
        key, number = destination(body, "ewallet")
    else:
        key, number = destination(body, "bank")
    holder = fields.required_text(body, "holder_name", max_length=100)
    status = fields.choice(body, "status", ("active", "closed"), required=False) or "active"
    if holder is None:
        raise invalid("/holder_name", "holder_name is required.")
    await conn.execute(
        "INSERT INTO sim_accounts (bank_code, account_number, holder_name, status) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (bank_code, account_number) DO UPDATE SET holder_name = $3, status = $4",
        key,
        number,
        holder.upper(),
        status,
    )
    return {"bank_code": key, "account_number": number, "holder_name": holder.upper(), "status": status}


async def directory(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch("SELECT * FROM sim_accounts ORDER BY bank_code, account_number")
    return [dict(row) for row in rows]
