"""Formula-injection escaping: shared with the activity log's CSV export, so it lives in portal.lib."""

from portal.lib.spreadsheet import FORMULA_PREFIXES, escape_text, is_dangerous

__all__ = ["FORMULA_PREFIXES", "escape_text", "is_dangerous"]
