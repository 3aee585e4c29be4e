"""The `reports` Piccolo app: background statement exports, statement schedules and their runs, and the
per-account, per-day posted totals statements are computed from."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.domains.reports.tables import (
    ReportDefinition,
    ReportDelivery,
    ReportExport,
    ReportSchedule,
    ReportScheduleRun,
    StatementDayTotal,
    StatementRollupWatermark,
)

APP_CONFIG = AppConfig(
    app_name="reports",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        ReportDefinition,
        ReportDelivery,
        ReportExport,
        ReportSchedule,
        ReportScheduleRun,
        StatementDayTotal,
        StatementRollupWatermark,
    ],
    migration_dependencies=["portal.domains.ledger.piccolo_app"],
    commands=[],
)
