"""Audit: the append-only, hash-chained activity log."""
