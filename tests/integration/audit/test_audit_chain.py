"""The activity log's hash chain; search, pagination and the CSV export."""

from __future__ import annotations

import csv
import io
import os
import sys
from pathlib import Path
from typing import Any

from portal.domains.audit import services
from portal.lib import sql
from portal.lib.actor import system_actor
from tests.support.identity import make_business, signed_in_client

NERACA = str(Path(sys.executable).parent / "neraca")


async def fill(business_id: str, n: int) -> None:
    actor = system_actor(business_id)
    for i in range(n):
        await services.record(actor, "test.event", f"event {i}", refs={"invoice": f"INV-{i:03d}"})


async def tamper(statement: str, *args: Any) -> None:
    """What an attacker with database access does: bypass the append-only trigger."""
    from portal.db.piccolo_conf import DB

    async with DB.transaction() as transaction:
        await transaction.connection.execute("SET LOCAL session_replication_role = replica")
        await transaction.connection.execute(statement, *args)


async def test_intact_chain_verifies(db: str) -> None:
    business, _ = await make_business()
    await fill(business.id, 5)
    checked, problems = await services.verify()
    assert problems == []
    assert checked >= 5


async def test_update_is_found_at_the_exact_row(db: str) -> None:
    business, _ = await make_business()
    await fill(business.id, 6)
    row = await sql.fetchrow(
        "SELECT id, seq FROM activity WHERE chain = $1 AND summary = 'event 3'", business.id
    )
    await tamper("UPDATE activity SET summary = 'event 3 (edited)' WHERE id = $1", row["id"])
    _, problems = await services.verify()
    assert len(problems) == 1
    assert problems[0].kind == "altered"
    assert problems[0].seq == row["seq"] and problems[0].row_id == row["id"]


async def test_delete_in_the_middle_and_at_the_end_are_found(db: str) -> None:
    business, _ = await make_business()
    await fill(business.id, 6)
    row = await sql.fetchrow(
        "SELECT id, seq FROM activity WHERE chain = $1 AND summary = 'event 2'", business.id
    )
    await tamper("DELETE FROM activity WHERE id = $1", row["id"])
    _, problems = await services.verify()
    assert problems[0].kind == "missing" and problems[0].seq == row["seq"]

    business2, _ = await make_business(name="Lain")
    await fill(business2.id, 3)
    last = await sql.fetchrow(
        "SELECT id, seq FROM activity WHERE chain = $1 ORDER BY seq DESC LIMIT 1", business2.id
    )
    await tamper("DELETE FROM activity WHERE id = $1", last["id"])
    _, problems = await services.verify()
    tail = [p for p in problems if p.chain == business2.id]
    assert tail and tail[0].kind == "missing" and tail[0].seq == last["seq"]


async def test_append_only_trigger_refuses_update_and_delete(db: str) -> None:
    import asyncpg
    import pytest

    business, _ = await make_business()
    await fill(business.id, 1)
    with pytest.raises(asyncpg.RaiseError):
        await sql.execute("UPDATE activity SET summary = 'x'")
    with pytest.raises(asyncpg.RaiseError):
        await sql.execute("DELETE FROM activity")


async def test_record_rolls_back_with_the_transaction(db: str) -> None:
    from portal.db.piccolo_conf import DB

    business, _ = await make_business()
    before = await sql.fetchval("SELECT count(*) FROM activity")
    try:
        async with DB.transaction():
            await services.record(system_actor(business.id), "transfer.created", "will roll back")
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    assert await sql.fetchval("SELECT count(*) FROM activity") == before
    _, problems = await services.verify()
    assert problems == []


async def test_cli_names_the_altered_row(db: str) -> None:
    import asyncio

    business, _ = await make_business()
    await fill(business.id, 4)
    await tamper("UPDATE activity SET actor_name = 'mallory' WHERE chain = $1 AND seq = 3", business.id)
    env = {**os.environ, "DATABASE_URL": os.environ["NERACA_RESOLVED_DATABASE_URL"]}
    process = await asyncio.create_subprocess_exec(
        NERACA, "audit", "verify", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 1, (out, err)
    assert f"chain {business.id}: row #3" in err.decode()
    assert "altered" in err.decode()


async def test_search_pagination_and_export(client: Any, db: str) -> None:
    business, owner = await make_business()
    await fill(business.id, 60)
    await services.record(
        system_actor(business.id), "test.event", '=HYPERLINK("http://evil")', refs={"customer": "@cmd"}
    )
    await signed_in_client(client, owner)
    first = await client.get("/activity?action=test.")
    assert first.status_code == 200
    assert first.text.count('data-action="test.event"') == 50
    assert "Load more" in first.text
    by_data = await client.get("/activity?data=INV-007")
    assert by_data.text.count('data-action="test.event"') == 1
    bad = await client.get("/activity?start=2026-13-01")
    assert bad.status_code == 422
    export = await client.get("/activity/export.csv?action=test.")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert len(rows) == 1 + 61
    summaries = [r[5] for r in rows[1:]]
    assert '\'=HYPERLINK("http://evil")' in summaries
    assert await sql.fetchval("SELECT count(*) FROM activity WHERE action = 'activity.exported'") == 1


async def test_other_business_activity_is_invisible(client: Any, db: str) -> None:
    _, owner_a = await make_business(name="A")
    business_b, _ = await make_business(name="B")
    await services.record(system_actor(business_b.id), "test.secret", "only for B", refs={"invoice": "B-1"})
    await signed_in_client(client, owner_a)
    response = await client.get("/activity?data=B-1")
    assert "only for B" not in response.text
