"""The `core` Piccolo app: tables the platform itself needs (not a business domain)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.db.tables import SystemSetting

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[SystemSetting],
    migration_dependencies=[],
    commands=[],
)
