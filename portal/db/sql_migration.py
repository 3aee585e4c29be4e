"""Hand-written SQL migrations inside Piccolo's migration runner.

Every migration in Neraca is plain SQL (exact constraints, triggers, partial indexes), wrapped so
Piccolo records and orders it. A migration file looks like:

    ID = "2026-11-22T04:10:00:000000"
    VERSION = "1.38.0"
    DESCRIPTION = "accounts"
    SQL = '''CREATE TABLE …;'''

    async def forwards():
        return sql_migration(ID, "accounts", DESCRIPTION, SQL)
"""

from __future__ import annotations

from piccolo.apps.migrations.auto.migration_manager import MigrationManager


def sql_migration(migration_id: str, app_name: str, description: str, sql: str) -> MigrationManager:
    manager = MigrationManager(migration_id=migration_id, app_name=app_name, description=description)

    async def run() -> None:
        from portal.db.piccolo_conf import DB

        transaction = DB.current_transaction.get()
        if transaction is not None:
            # execute() uses the simple query protocol, so one string may hold many statements.
            await transaction.connection.execute(sql)
        else:
            async with DB.transaction() as new_transaction:
                await new_transaction.connection.execute(sql)

    manager.add_raw(run)
    return manager
