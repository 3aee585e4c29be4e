"""Formula-injection escaping for every spreadsheet-readable export (statements, the activity log's CSV).

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return can be run as a formula by a
spreadsheet program. In CSV such text is prefixed with a single quote; in XLSX it is written with
`write_string` (and a quote-prefix style), so it is never a formula. Amounts never pass through here: they
are numbers, and a negative number is not text.
"""

from __future__ import annotations

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


_FIRST_CHARS = frozenset("".join(FORMULA_PREFIXES))  # every prefix is one character


def is_dangerous(text: str) -> bool:
    """True when a spreadsheet could read `text` as a formula."""
    return text[:1] in _FIRST_CHARS if text else False


def escape_text(text: str | None) -> str:
    """Text for a CSV cell: `'` prepended when it starts with a formula prefix; `None` becomes ``""``."""
    if not text:
        return ""
    return "'" + text if text[0] in _FIRST_CHARS else text
