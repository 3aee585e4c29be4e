"""The `billing` Piccolo app: card billing (customers, billings, execute dates, charges)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.domains.billing.tables import (
    Billing,
    BillingBatch,
    BillingBatchFile,
    BillingCharge,
    BillingChargeAttempt,
    BillingCustomer,
    BillingExecuteDate,
)

APP_CONFIG = AppConfig(
    app_name="billing",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        BillingCustomer,
        Billing,
        BillingExecuteDate,
        BillingCharge,
        BillingChargeAttempt,
        BillingBatch,
        BillingBatchFile,
    ],
    migration_dependencies=["portal.domains.payouts.piccolo_app", "portal.domains.provider.piccolo_app"],
    commands=[],
)
