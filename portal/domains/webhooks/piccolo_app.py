"""The `webhooks` Piccolo app: events, webhook endpoints, deliveries and their attempts."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.domains.webhooks.tables import (
    Event,
    EventSequence,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

APP_CONFIG = AppConfig(
    app_name="webhooks",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[EventSequence, Event, WebhookEndpoint, WebhookDelivery, WebhookAttempt],
    migration_dependencies=["portal.domains.notifications.piccolo_app"],
    commands=[],
)
