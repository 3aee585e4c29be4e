"""Apply migrations (Piccolo apps in dependency order, then pgqueuer's schema) and report what is pending."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging

import asyncpg
from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries

from portal.db.bootstrap import database_url

logger = logging.getLogger(__name__)


async def _install_job_queue(url: str) -> None:
    conn = await asyncpg.connect(dsn=url)
    try:
        # One installer at a time when several processes start together.
        await conn.execute("SELECT pg_advisory_lock(748122)")
        queries = Queries(AsyncpgDriver(conn))
        if not await queries.has_table("pgqueuer"):
            await queries.install()
        else:
            await queries.upgrade()
        await conn.execute("SELECT pg_advisory_unlock(748122)")
    finally:
        await conn.close()


async def migrate() -> list[str]:
    """Run every pending migration; return the ids that ran."""
    from piccolo.apps.migrations.commands.forwards import run_forwards
    from piccolo.apps.migrations.tables import Migration

    url = database_url()
    before = set(await Migration.get_migrations_which_ran()) if await Migration.table_exists() else set()
    conn = await asyncpg.connect(dsn=url)
    try:
        await conn.execute("SELECT pg_advisory_lock(748121)")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            # Own task = own context copy: Piccolo's migration transactions must not leak into the caller.
            result = await asyncio.create_task(run_forwards(app_name="all"))
        if not result.success:
            raise RuntimeError(f"migrations failed: {result.message}\n{out.getvalue()}")
        await conn.execute("SELECT pg_advisory_unlock(748121)")
    finally:
        await conn.close()
    await _install_job_queue(url)
    after = await Migration.get_migrations_which_ran()
    ran = [m for m in after if m not in before]
    if ran:
        logger.info("migrations applied", extra={"migrations": ran})
    return ran


async def pending_migrations() -> list[str]:
    """Migration ids present in the code but not yet applied to the database."""
    from piccolo.apps.migrations.commands.base import BaseMigrationManager
    from piccolo.apps.migrations.tables import Migration

    if not await Migration.table_exists():
        return ["(no migrations applied)"]
    manager = BaseMigrationManager()
    pending: list[str] = []
    for app_name in manager.get_sorted_app_names():
        app_config = manager.get_app_config(app_name)
        # Per app: two apps may use the same migration id (a timestamp), as Piccolo's own runner allows.
        ran = set(await Migration.get_migrations_which_ran(app_name=app_name))
        for module in manager.get_migration_modules(app_config.resolved_migrations_folder_path).values():
            if module.ID not in ran:
                pending.append(f"{app_name}:{module.ID}")
    return pending
