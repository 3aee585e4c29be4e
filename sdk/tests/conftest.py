"""Fixtures for the SDK unit tests (helpers live in sdk_support.py)."""

from __future__ import annotations

import pytest
from sdk_support import Sleeps


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A shell (or the portal's test harness in the same pytest run) may export these; each test sets its own.
    for name in ("NERACA_CLIENT_ID", "NERACA_CLIENT_SECRET", "NERACA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
