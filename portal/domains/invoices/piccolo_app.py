"""The `invoices` Piccolo app: plans, subscriptions, invoices, usage lines, steps and settings."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.domains.invoices.tables import (
    Invoice,
    InvoiceCounter,
    InvoicePlan,
    InvoiceSettings,
    InvoiceStep,
    InvoiceSubscription,
    InvoiceUsage,
)

APP_CONFIG = AppConfig(
    app_name="invoices",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        InvoiceSettings,
        InvoiceCounter,
        InvoicePlan,
        InvoiceSubscription,
        Invoice,
        InvoiceUsage,
        InvoiceStep,
    ],
    migration_dependencies=["portal.domains.accounts.piccolo_app", "portal.domains.ledger.piccolo_app"],
    commands=[],
)
