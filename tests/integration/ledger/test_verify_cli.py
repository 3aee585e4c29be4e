"""`neraca ledger verify` end to end: the real command in a subprocess against the test database — exit 0
on a clean ledger, non-zero naming the account once a balance column is changed behind the ledger's back."""

from __future__ import annotations

from tests.support.cli import run_neraca
from tests.support.ledger import fund, make_tree


async def test_ledger_verify_passes_then_names_a_tampered_account(db: str) -> None:
    from portal.db.piccolo_conf import DB
    from portal.domains.ledger import services as ledger

    t = await make_tree(2)
    a, b = t.accounts
    await fund(t.business_id, a, 100_000)
    await ledger.create_transfer(t.actor, from_account_id=a, to_account_id=b, amount=25_000, reference="V-1")
    env = {"DATABASE_URL": db}

    clean = run_neraca("ledger", "verify", env=env)
    assert clean.returncode == 0, clean.stderr
    assert "Ledger invariants hold." in clean.stdout

    async with DB.transaction() as transaction:
        # Straight SQL, as a person with database access could; replica mode skips any guard trigger.
        await transaction.connection.execute("SET LOCAL session_replication_role = replica")
        await transaction.connection.execute(
            "UPDATE account SET credits_posted = credits_posted + 1000 WHERE id = $1", b
        )

    tampered = run_neraca("ledger", "verify", env=env)
    assert tampered.returncode != 0
    assert "Traceback" not in tampered.stderr, tampered.stderr
    assert b in tampered.stderr, tampered.stderr
    assert "violation" in tampered.stderr
