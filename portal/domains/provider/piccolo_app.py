"""The `provider` Piccolo app: the boundary with the payment provider (calls, pay-ins, callbacks)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.domains.provider.tables import (
    ProviderEvent,
    ProviderMismatch,
    ProviderPayin,
    ProviderReconciliation,
    ProviderRequest,
)

APP_CONFIG = AppConfig(
    app_name="provider",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[ProviderRequest, ProviderPayin, ProviderEvent, ProviderReconciliation, ProviderMismatch],
    migration_dependencies=["portal.domains.ledger.piccolo_app"],
    commands=[],
)
