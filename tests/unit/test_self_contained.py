"""The repository stands alone: no code, comment, test or doc points at files outside it (a design
document, a testing plan, reference material beside the checkout) or at tracker issue numbers. What the
code relies on is in docs/ (docs/decisions.md, "Foundations")."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("portal", "tests", "sdk", "docs", "bench", "deploy", "templates", "static/css", "static/js")
FILES = ("README.md", "Makefile", "pyproject.toml", "babel.cfg")
SUFFIXES = {".py", ".md", ".html", ".txt", ".toml", ".cfg", ".json", ".css", ".js", ".po", ".pot", ""}

# Spelled in pieces so this file does not match itself.
OUTSIDE = re.compile(
    "|".join(
        [
            r"\b" + "DESIGN" + r"(\.md| ?§)",
            r"\b" + "TESTING" + r"\.md",
            r"\b" + "STYLE" + r"\.md",
            r"(^|[\s(`'\"])/" + "work/",
            r"(^|[\s(`'\"])" + "sha" + "red/",
            r"\b" + "reference/" + r"[\w-]+\.txt",
            r"\b" + "[Ii]ssue" + r" #?\d",
            r"\b" + "[Ss]uite" + r" \d",
        ]
    )
)


def text_files() -> list[Path]:
    found = [ROOT / name for name in FILES if (ROOT / name).exists()]
    for folder in FOLDERS:
        for path in (ROOT / folder).rglob("*"):
            if not path.is_file() or path.suffix not in SUFFIXES or "vendor" in path.parts:
                continue
            if any(part.startswith(".") or part in ("__pycache__", "build", "dist") for part in path.parts):
                continue
            found.append(path)
    return found


def test_the_scan_reads_the_docs_and_the_code() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in text_files()}
    assert {"docs/decisions.md", "portal/lib/sql.py", "tests/conftest.py", "README.md"} <= names


def test_nothing_refers_to_files_outside_the_repository_or_to_issue_numbers() -> None:
    hits = []
    for path in text_files():
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not hits, "\n".join(hits)
