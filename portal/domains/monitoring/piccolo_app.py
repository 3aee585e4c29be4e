"""The `monitoring` Piccolo app: rules, alerts and their notes, the event cursor, settlement holds."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.domains.monitoring.tables import (
    MonitoringAlert,
    MonitoringAlertNote,
    MonitoringCursor,
    MonitoringRule,
    MonitoringSettings,
    SettlementHold,
)

APP_CONFIG = AppConfig(
    app_name="monitoring",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        MonitoringRule,
        MonitoringSettings,
        MonitoringAlert,
        MonitoringAlertNote,
        MonitoringCursor,
        SettlementHold,
    ],
    migration_dependencies=[
        "portal.domains.ledger.piccolo_app",
        "portal.domains.payouts.piccolo_app",
        "portal.domains.webhooks.piccolo_app",
        "portal.domains.audit.piccolo_app",
    ],
    commands=[],
)
