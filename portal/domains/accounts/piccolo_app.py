"""The `accounts` Piccolo app: the account tree, its balance columns, the Indonesian bank list."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.domains.accounts.tables import Account, RefBank

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[RefBank, Account],
    migration_dependencies=["portal.db.piccolo_app"],
    commands=[],
)
