"""The `payments` Piccolo app: payments received, settlement batches, split rules."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.domains.payments.tables import (
    Payment,
    PaymentRefund,
    PaymentSettings,
    Settlement,
    SettlementLine,
    SettlementPart,
    SplitRule,
)

APP_CONFIG = AppConfig(
    app_name="payments",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        PaymentSettings,
        SplitRule,
        Payment,
        PaymentRefund,
        Settlement,
        SettlementLine,
        SettlementPart,
    ],
    migration_dependencies=[
        "portal.domains.provider.piccolo_app",
        "portal.domains.ledger.piccolo_app",
        "portal.domains.payouts.piccolo_app",
    ],
    commands=[],
)
