"""The demo loaders leave a living tree and three months of history that satisfies every invariant."""

from __future__ import annotations

from portal.domains.ledger.invariants import check_all
from portal.lib import sql


async def test_demo_tree_and_history(db: str) -> None:
    from portal.demo import load_demo

    lines = await load_demo()
    assert any("Ledger history" in line for line in lines)
    names = {r["name"] for r in await sql.fetch("SELECT name FROM account WHERE kind <> 'system'")}
    assert {"Jakarta", "Bandung", "Dago", "Toko Sinar Jaya"} <= names
    span = await sql.fetchval("SELECT max(created_at) - min(created_at) FROM transfer")
    assert span.days >= 85
    scoped = await sql.fetchval(
        "SELECT a.name FROM app_user u JOIN account a ON a.id = u.scope_account_id "
        "WHERE u.username = 'demo-division'"
    )
    assert scoped == "Jakarta"
    assert await check_all() == []
