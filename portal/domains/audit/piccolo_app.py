"""The `audit` Piccolo app."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.domains.audit.tables import Activity, ActivityChainHead

APP_CONFIG = AppConfig(
    app_name="audit",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Activity, ActivityChainHead],
    migration_dependencies=["portal.db.piccolo_app"],
    commands=[],
)
