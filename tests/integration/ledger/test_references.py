"""What a transfer refers to is checked by the database for every statement that inserts transfers (a row
INSERT or a COPY), whoever writes it: its two accounts and the transfer it reverses must exist in its own
business. Accounts are kept for the ledger: never deleted, never moved to another id or business."""

from __future__ import annotations

import asyncpg
import pytest

from portal.domains.ledger import services as ledger
from portal.domains.ledger.invariants import check_all
from portal.lib import sql
from portal.lib.ids import new_id
from tests.support.ledger import fund, make_tree

COLUMNS = [
    "id",
    "business_id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "currency",
    "phase",
    "kind",
]


def _row(business_id: str, debit: str, credit: str) -> tuple[object, ...]:
    return (new_id("trf"), business_id, debit, credit, 1, "IDR", "posted", "transfer")


async def _insert(rows: list[tuple[object, ...]], *, copy: bool, reverses: str | None = None) -> None:
    async with sql.connection() as conn:
        if copy:
            await conn.copy_records_to_table("transfer", columns=COLUMNS, records=rows)
        else:
            await conn.execute(
                f"INSERT INTO transfer ({', '.join(COLUMNS)}, reverses_id) "
                "VALUES ($1, $2, $3, $4, $5::bigint, $6, $7, $8, $9)",
                *rows[0],
                reverses,
            )


@pytest.mark.parametrize("copy", [False, True], ids=["insert", "copy"])
async def test_a_transfer_to_an_unknown_or_foreign_account_is_refused(db: str, copy: bool) -> None:
    t = await make_tree(2)
    other = await make_tree(1)
    a, b = t.accounts
    await fund(t.business_id, a, 100)
    before = await sql.fetchval("SELECT count(*) FROM transfer")
    good = [_row(t.business_id, a, b) for _ in range(3)]
    for bad, account in (
        (_row(t.business_id, a, "acc_missing"), "acc_missing"),
        (_row(t.business_id, other.accounts[0], b), other.accounts[0]),
    ):
        # One bad row among good ones refuses the whole statement.
        with pytest.raises(asyncpg.ForeignKeyViolationError, match=account):
            await _insert([*good, bad] if copy else [bad], copy=copy)
    assert await sql.fetchval("SELECT count(*) FROM transfer") == before
    assert await check_all() == []


async def test_a_reversal_of_a_transfer_of_another_business_or_none_is_refused(db: str) -> None:
    t = await make_tree(2)
    other = await make_tree(2)
    a, b = t.accounts
    await fund(t.business_id, a, 100)
    await fund(other.business_id, other.accounts[0], 100)
    theirs = await ledger.create_transfer(
        other.actor,
        from_account_id=other.accounts[0],
        to_account_id=other.accounts[1],
        amount=5,
        reference="X",
    )
    for target in (theirs.id, "trf_missing"):
        with pytest.raises(asyncpg.ForeignKeyViolationError, match=target):
            await _insert([_row(t.business_id, b, a)], copy=False, reverses=target)
    # A transfer of the business itself is reversed once, through the service.
    mine = await ledger.create_transfer(t.actor, from_account_id=a, to_account_id=b, amount=7, reference="M")
    reversal = await ledger.reverse_transfer(t.actor, mine.id, reference="M-R")
    assert reversal.amount == 7
    with pytest.raises(asyncpg.UniqueViolationError):
        await _insert([_row(t.business_id, b, a)], copy=False, reverses=mine.id)
    assert await check_all() == []


async def test_accounts_are_never_deleted_or_moved(db: str) -> None:
    t = await make_tree(2)
    other = await make_tree(1)
    a = t.accounts[0]
    with pytest.raises(asyncpg.RestrictViolationError, match="close the account"):
        await sql.execute("DELETE FROM account WHERE id = $1", a)
    with pytest.raises(asyncpg.RestrictViolationError):
        await sql.execute("UPDATE account SET business_id = $2 WHERE id = $1", a, other.business_id)
    with pytest.raises(asyncpg.RestrictViolationError):
        await sql.execute("UPDATE account SET id = 'acc_moved' WHERE id = $1", a)
    # Any other change of an account is not concerned.
    await sql.execute("UPDATE account SET name = 'Renamed' WHERE id = $1", a)
    assert await sql.fetchval("SELECT name FROM account WHERE id = $1", a) == "Renamed"
