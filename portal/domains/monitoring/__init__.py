"""Transaction monitoring: rules per business, inline screening of outgoing money, alerts from events,
and holding an account's settlement (docs/monitoring.md)."""
