"""`make soak`: the full crash suite (64 callers, ≥ 60 process kills of web nodes, workers and the provider
simulator, ≥ 3 PostgreSQL crashes, top-ups paid through the simulator, webhook deliveries); prints its
JSON summary. SOAK_SECONDS, SOAK_CALLERS and SOAK_PG_CRASHES change the run; SOAK_VIA_NGINX=1 runs it
through nginx in front of the web nodes, with a streaming replica, as `make cluster` does."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from deploy.cluster import scratch_dir
from tests.soak.crash_suite import run_from_environment


@pytest.mark.soak
@pytest.mark.timeout(3600)
def test_crash_suite() -> None:
    with scratch_dir("neraca-soak-") as scratch:
        summary = run_from_environment(scratch, Path(sys.executable).parent)
    print(json.dumps(summary))
    assert summary["violations"] == 0, summary["violation_samples"]
    assert summary["process_kills"] >= 1 and summary["postgres_crashes"] >= 1
