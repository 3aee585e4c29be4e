"""Statement test helpers: a business tree, and booked history at chosen times.

`book()` writes a posted transfer with a given `created_at` straight into the ledger's tables (inserts
are allowed; the immutability trigger only refuses UPDATE/DELETE/TRUNCATE) and moves the account balance
columns by the same amount, so the ledger's invariants still hold afterwards.
"""

from __future__ import annotations

from datetime import datetime

from portal.domains.accounts import services as accounts
from portal.lib import sql
from portal.lib.ids import new_id
from tests.integration.ledger.helpers import Tree, make_tree, owner

__all__ = ["Tree", "book", "make_tree", "owner", "world_of"]


async def world_of(business_id: str, currency: str = "IDR") -> str:
    return await accounts.system_account_id(business_id, currency, "world")


async def book(
    business_id: str,
    debit: str,
    credit: str,
    amount: int,
    at: datetime,
    *,
    kind: str = "transfer",
    description: str = "",
    currency: str = "IDR",
) -> str:
    transfer_id = new_id("trf")
    async with sql.connection() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO transfer (id, business_id, debit_account_id, credit_account_id, amount, currency, "
            "phase, kind, description, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'posted', $7, $8, $9)",
            transfer_id,
            business_id,
            debit,
            credit,
            amount,
            currency,
            kind,
            description,
            at,
        )
        await conn.execute(
            "UPDATE account SET debits_posted = debits_posted + $2 WHERE id = $1", debit, amount
        )
        await conn.execute(
            "UPDATE account SET credits_posted = credits_posted + $2 WHERE id = $1", credit, amount
        )
    return transfer_id
