"""The `payouts` Piccolo app: payout rails, the business-day calendar's overrides, beneficiaries."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.domains.payouts.tables import (
    Beneficiary,
    PayoutCalendarOverride,
    PayoutRailTerms,
    PayoutSettings,
    RefPayoutRail,
)

APP_CONFIG = AppConfig(
    app_name="payouts",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[RefPayoutRail, PayoutRailTerms, PayoutCalendarOverride, PayoutSettings, Beneficiary],
    migration_dependencies=[
        "portal.domains.accounts.piccolo_app",
        "portal.domains.ledger.piccolo_app",
        "portal.domains.provider.piccolo_app",
    ],
    commands=[],
)
