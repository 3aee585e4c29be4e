"""The monitoring domain's services: rules and their kinds, inline screening, alerts, the event
consumer and settlement holds. Importing this package registers the screen in portal.lib.screening."""

from portal.domains.monitoring.services.evaluate import BLOCKED_CODE, evaluate_outgoing, matching_rules
from portal.domains.monitoring.services.settlement import (
    held_accounts,
    hold_settlement,
    is_settlement_held,
    release_settlement,
)

__all__ = [
    "BLOCKED_CODE",
    "evaluate_outgoing",
    "held_accounts",
    "hold_settlement",
    "is_settlement_held",
    "matching_rules",
    "release_settlement",
]
