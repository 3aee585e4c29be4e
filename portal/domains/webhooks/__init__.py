"""Events (an outbox of what changed, per business) and their delivery to webhook endpoints."""
