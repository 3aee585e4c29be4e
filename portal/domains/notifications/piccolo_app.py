"""The `notifications` Piccolo app: news about accounts (money in, top-ups paid, withdrawals done)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.domains.notifications.tables import Notification, NotificationRead

APP_CONFIG = AppConfig(
    app_name="notifications",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Notification, NotificationRead],
    migration_dependencies=["portal.domains.accounts.piccolo_app"],
    commands=[],
)
