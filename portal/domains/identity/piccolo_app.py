"""The `identity` Piccolo app."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.domains.identity.tables import TABLES

APP_CONFIG = AppConfig(
    app_name="identity",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=TABLES,
    migration_dependencies=["portal.db.piccolo_app"],
    commands=[],
)
