"""Emptying the test database between tests."""

from __future__ import annotations


async def truncate_all() -> None:
    """Empty every table but the migration log and the `ref_*` reference tables."""
    from portal.lib.sql import transaction

    async with transaction() as current:
        connection = current.connection
        rows = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'migration' AND tablename NOT LIKE 'ref\\_%'"
        )
        if rows:
            # Replica mode skips triggers, so append-only guards do not stop the reset between tests.
            await connection.execute("SET LOCAL session_replication_role = replica")
            names = ", ".join(f'"{row["tablename"]}"' for row in rows)
            await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
