"""Business domains; each folder has the same files (see docs/architecture.md)."""
