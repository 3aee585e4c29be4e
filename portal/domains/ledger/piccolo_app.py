"""The `ledger` Piccolo app: transfers, holds, references, top-ups and withdrawals."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.domains.ledger.tables import Hold, LedgerReference, TopUp, Transfer, Withdrawal

APP_CONFIG = AppConfig(
    app_name="ledger",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[LedgerReference, Transfer, Hold, TopUp, Withdrawal],
    migration_dependencies=["portal.domains.accounts.piccolo_app"],
    commands=[],
)
