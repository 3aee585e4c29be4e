"""The `reports` Piccolo app: background statement exports, statement schedules and their runs."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.domains.reports.tables import ReportExport, ReportSchedule, ReportScheduleRun

APP_CONFIG = AppConfig(
    app_name="reports",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[ReportExport, ReportSchedule, ReportScheduleRun],
    migration_dependencies=["portal.domains.ledger.piccolo_app"],
    commands=[],
)
