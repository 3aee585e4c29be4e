"""Custom reports: a builder over a declarative registry of datasets (docs/reports.md, "Custom reports")."""
