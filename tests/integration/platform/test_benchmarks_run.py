"""Every benchmark in bench/ runs once at its smoke size (BENCH_SMOKE=1): a benchmark that no longer
starts, crashes on the way out or stops printing its JSON fails here, not on the day someone measures.
No figure is compared with a target: speed is measured by `make bench`, not by the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"

# The keys a reader of each benchmark's JSON relies on (docs/billing.md, docs/ledger.md, docs/sdk.md,
# docs/statements.md, docs/webhooks.md).
EXPECTED: dict[str, dict[str, Any]] = {
    "billing.py": {
        "benchmark": "billing",
        "keys": [
            "b_service_transfers_per_s_64_callers_uniform",
            "r_charges_per_s",
            "u_copy_rows_per_s",
            "u_upload_rows_per_s",
            "u_floor_keyed_copy_rows_per_s",
            "u_runs",
            "peak_rss_growth_mb",
            "ratios",
            "targets_met",
            "checks",
            "invariants",
        ],
    },
    "invoicing.py": {
        "benchmark": "invoicing",
        "keys": [
            "b_service_transfers_per_s_64_callers_uniform",
            "i_invoices_issued_and_collected_per_s",
            "ratios",
            "targets_met",
            "checks",
            "invariants",
        ],
    },
    "ledger.py": {
        "benchmark": "ledger",
        "keys": [
            "a_pgbench_simple_update_tps_8_clients",
            "b_service_transfers_per_s_64_callers_uniform",
            "c_service_transfers_per_s_64_callers_hot_account",
            "d_http_transfers_per_s_peak_2_workers",
            "d_latency_ms_at_70pct_of_peak",
            "ratios",
            "targets_met",
            "invariants",
        ],
    },
    "payouts.py": {
        "benchmark": "payouts",
        "keys": [
            "u_copy_rows_per_s",
            "u_upload_rows_per_s",
            "u_floor_keyed_copy_rows_per_s",
            "u_runs",
            "s_approval_to_submitted_per_s",
            "b_service_transfers_per_s_64_callers_uniform",
            "peak_rss_growth_mb",
            "ratios",
            "targets_met",
            "invariants",
        ],
    },
    "sdk.py": {
        "benchmark": "sdk",
        "keys": ["get_balance", "post_transfer", "targets_met", "transfers_booked_as_sent", "invariants"],
    },
    "settlement.py": {
        "benchmark": "settlement",
        "keys": [
            "b_service_transfers_per_s_64_callers_uniform",
            "s_payments_settled_per_s",
            "peak_rss_growth_mb",
            "ratios",
            "targets_met",
            "money",
            "invariants",
        ],
    },
    "statements.py": {
        "benchmark": "statements",
        "keys": [
            "copy_rows_per_s",
            "csv_rows_per_s",
            "csv_vs_copy",
            "time_to_first_byte_ms",
            "peak_rss_growth_mb",
        ],
    },
    "webhooks.py": {
        "benchmark": "webhooks",
        "keys": [
            "d_http_transfers_per_s_peak_2_workers",
            "w_deliveries_per_s_one_worker",
            "l_lag_ms_commit_to_first_attempt_at_d",
            "ratios",
            "targets_met",
            "invariants",
        ],
    },
    "monitoring.py": {
        "benchmark": "monitoring",
        "keys": [
            "i_http_payouts_rules_on_vs_off",
            "b_service_transfers_per_s_64_callers",
            "l_lag_ms_commit_to_screened_at_b",
            "ratios",
            "targets_met",
            "invariants",
        ],
    },
}


def test_every_benchmark_is_covered() -> None:
    assert sorted(p.name for p in BENCH.glob("*.py")) == sorted(EXPECTED)


def run_smoke(script: str) -> dict[str, Any]:
    # The benchmark sets up its own data directory and embedded PostgreSQL; nothing of the test run's.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NERACA_", "BENCH_", "DATABASE_URL"))}
    env["BENCH_SMOKE"] = "1"
    done = subprocess.run(
        [sys.executable, str(BENCH / script)],
        env=env,
        cwd=BENCH.parent,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{done.stderr[-3000:]}"
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"{script} printed {len(lines)} lines on stdout, expected one JSON object"
    result: dict[str, Any] = json.loads(lines[0])
    return result


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_benchmark_runs_at_smoke_size(script: str) -> None:
    result = run_smoke(script)
    expected = EXPECTED[script]
    assert result["benchmark"] == expected["benchmark"]
    assert result["smoke"] is True
    missing = [key for key in expected["keys"] if key not in result]
    assert not missing, f"{script}'s JSON lacks {missing}"
    # Whatever the size, money stays right: the ledger invariants hold after the run.
    if "invariants" in result:
        assert result["invariants"]["ok"], result["invariants"]
    else:
        assert result["ledger_invariants"] == "ok"
    if script == "sdk.py":
        assert result["transfers_booked_as_sent"] is True
