"""`make soak`: the full crash suite (64 callers, ≥ 60 process kills, ≥ 3 PostgreSQL crashes); prints
its JSON summary. SOAK_SECONDS, SOAK_CALLERS and SOAK_PG_CRASHES change the run."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from deploy.cluster import scratch_dir
from tests.soak.crash_suite import run


@pytest.mark.soak
@pytest.mark.timeout(3600)
def test_crash_suite() -> None:
    with scratch_dir("neraca-soak-") as scratch:
        summary = run(
            scratch,
            Path(sys.executable).parent,
            seconds=float(os.environ.get("SOAK_SECONDS", "300")),
            callers=int(os.environ.get("SOAK_CALLERS", "64")),
            postgres_crashes=int(os.environ.get("SOAK_PG_CRASHES", "4")),
        )
    print(json.dumps(summary))
    assert summary["violations"] == 0, summary["violation_samples"]
    assert summary["process_kills"] >= 1 and summary["postgres_crashes"] >= 1
