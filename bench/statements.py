"""Statement export benchmark: prints ONE JSON object (described in docs/statements.md).

One account with BENCH_ROWS posted entries (default 1,000,000) in its own embedded PostgreSQL:

- baseline: `COPY (the statement's entries query) TO STDOUT (FORMAT csv)` into a file, rows/s;
- set-up as production: the `reports.rollup_days` job closes the complete WIB days (statement headers
  read per-day totals for those, and scan only the rest);
- CSV statement through the service path of the API download (`resolve` → `open_download`: snapshot,
  header, rows formatted by PostgreSQL's COPY) into a file, rows/s, and its ratio to COPY (target ≥ 0.3);
- time to first byte: from the request being resolved to the first CSV chunk (target < 300 ms);
- peak RSS growth of this process while the statement is produced (target < 100 MB);
then the ledger invariants. Figures are medians of BENCH_RUNS runs (default 3).

    .venv/bin/python bench/statements.py              # BENCH_ROWS=1000000 BENCH_RUNS=3
    BENCH_SMOKE=1 .venv/bin/python bench/statements.py   # one tiny run (what the test suite does)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = Path(tempfile.mkdtemp(prefix="neraca-bench-stmt-"))
os.environ.update(
    {
        "NERACA_DATA_DIR": str(DATA_DIR),
        "NERACA_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "NERACA_LOG_LEVEL": "WARNING",
        "NERACA_LOG_JSON": "0",
        "NERACA_WORKER_IN_PROCESS": "0",
        "NERACA_ENV": "bench",
    }
)
os.environ.pop("DATABASE_URL", None)
sys.path.insert(0, str(REPO))

import asyncio  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

# BENCH_SMOKE=1: one tiny run, so the test suite proves the benchmark still works (its figures mean nothing).
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
ROWS = int(os.environ.get("BENCH_ROWS", "2000" if SMOKE else "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "1" if SMOKE else "3"))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples this process's RSS every 5 ms in a thread; `growth` = peak − RSS at start."""

    def __init__(self) -> None:
        self.start = rss_bytes()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.start


async def seed(rows: int) -> tuple[str, str, Any, Any]:
    """A business with one partner account holding `rows` entries (90 % credits from the world account,
    10 % fee debits), one per second ending two days ago; balance columns kept equal to the sums."""
    from portal.domains.accounts import services as accounts
    from portal.lib import sql
    from portal.lib.actor import system_actor
    from portal.lib.ids import new_id

    business_id = new_id("biz")
    actor = system_actor(business_id)
    main = await accounts.ensure_business_accounts(business_id)
    partner = (await accounts.create_account(actor, name="Bench partner", kind="partner", parent_id=main)).id
    world = await accounts.system_account_id(business_id, "IDR", "world")
    fees = await accounts.system_account_id(business_id, "IDR", "fees")
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    start = end - timedelta(seconds=rows)
    t0 = time.perf_counter()
    async with sql.connection() as conn, conn.transaction():
        await conn.execute(
            """
            INSERT INTO transfer (id, business_id, debit_account_id, credit_account_id, amount, currency,
                                  phase, kind, reference, description, created_at)
            SELECT 'trf_bench' || lpad(i::text, 9, '0'), $1,
                   CASE WHEN i % 10 = 0 THEN $3 ELSE $2 END,
                   CASE WHEN i % 10 = 0 THEN $4 ELSE $3 END,
                   CASE WHEN i % 10 = 0 THEN 1 ELSE 1000 + i % 997 END,
                   'IDR', 'posted',
                   CASE WHEN i % 10 = 0 THEN 'fee' ELSE 'topup' END,
                   NULL,
                   CASE WHEN i % 10 = 0 THEN 'Fee' ELSE 'Pembayaran invoice #' || i END,
                   $5::timestamptz + make_interval(secs => i)
            FROM generate_series(1, $6::int) AS i
            """,
            business_id,
            world,
            partner,
            fees,
            start,
            rows,
        )
        await conn.execute(
            """
            UPDATE account a
            SET debits_posted = a.debits_posted + s.d, credits_posted = a.credits_posted + s.c
            FROM (
                SELECT id, sum(d) AS d, sum(c) AS c FROM (
                    SELECT debit_account_id AS id, amount AS d, 0 AS c FROM transfer WHERE business_id = $1
                    UNION ALL
                    SELECT credit_account_id, 0, amount FROM transfer WHERE business_id = $1
                ) legs GROUP BY id
            ) s WHERE a.id = s.id
            """,
            business_id,
        )
    await sql.execute("ANALYZE transfer")
    log(f"seeded {rows:,} entries in {time.perf_counter() - t0:.1f}s")
    return business_id, partner, (start - timedelta(days=1)), end


async def copy_baseline(r: Any, target: Path) -> float:
    """COPY of the statement's own entries query to a file; seconds."""
    from portal.domains.reports import sql as q
    from portal.lib import sql

    query = q.entries_query()
    async with sql.connection() as conn:
        t0 = time.perf_counter()
        await conn.copy_from_query(
            query, list(r.account_ids), r.start_at, r.end_at, output=str(target), format="csv"
        )
        return time.perf_counter() - t0


async def csv_statement(actor: Any, r: Any, target: Path) -> tuple[float, float, int]:
    """(seconds, time to first byte, bytes) of the CSV statement written to `target`, through the same
    service call as the API and the portal download (`open_download`: activity entry, snapshot, header,
    CSV fast path)."""
    from portal.domains.reports import services

    t0 = time.perf_counter()
    first = None
    size = 0
    download = await services.open_download(actor, r, "csv")
    with target.open("wb") as out:
        async for chunk in download.body:
            if first is None:
                first = time.perf_counter() - t0
            out.write(chunk)
            size += len(chunk)
    return time.perf_counter() - t0, first or 0.0, size


async def roll_up() -> None:
    """What production's worker does every few minutes: the `reports.rollup_days` job closes every
    complete WIB day into `statement_day_total`."""
    from portal.domains.reports import jobs, rollup

    t0 = time.perf_counter()
    await jobs.rollup_days({})
    log(f"rolled up days before {await rollup.watermark()} in {time.perf_counter() - t0:.1f}s")


async def main() -> dict[str, Any]:
    from portal.db.bootstrap import RESOLVED_ENV
    from portal.db.embedded import start_embedded, stop_embedded

    url = start_embedded(DATA_DIR, cleanup_mode="stop")
    os.environ[RESOLVED_ENV] = url
    from portal.db.migrate import migrate
    from portal.lib.sql import POOL_OPTIONS, engine

    # The server's pool options (its reset and connection set-up), so the figures are the server's.
    await engine().start_connection_pool(min_size=1, max_size=4, **POOL_OPTIONS)
    try:
        await migrate()
        business_id, partner, first_day, last_day = await seed(ROWS)
        await roll_up()
        from portal.domains.ledger.invariants import check_all
        from portal.domains.reports import services
        from portal.lib.actor import system_actor
        from portal.lib.timefmt import WIB

        actor = system_actor(business_id)
        start = first_day.astimezone(WIB).date()
        end = last_day.astimezone(WIB).date()
        out_dir = DATA_DIR / "out"
        out_dir.mkdir()
        copy_s, csv_s, ttfb_s, rss = [], [], [], []
        entries = 0
        for run in range(RUNS):
            r = await services.resolve(actor, partner, start=start, end=end, fmt="csv")
            copy_s.append(await copy_baseline(r, out_dir / "copy.csv"))
            with PeakRss() as peak:
                t0 = time.perf_counter()
                r = await services.resolve(actor, partner, start=start, end=end, fmt="csv")
                resolve_s = time.perf_counter() - t0
                seconds, first, size = await csv_statement(actor, r, out_dir / "statement.csv")
            csv_s.append(seconds + resolve_s)
            ttfb_s.append(first + resolve_s)
            rss.append(peak.growth)
            with (out_dir / "statement.csv").open("rb") as fh:
                lines = sum(1 for _ in fh)
            entries = lines - 20  # 17 header rows, a blank record, the column row, the totals row
            log(
                f"run {run + 1}: COPY {copy_s[-1]:.2f}s, CSV {csv_s[-1]:.2f}s ({size / 1e6:.0f} MB), "
                f"first byte {ttfb_s[-1] * 1000:.0f} ms, RSS +{rss[-1] / 1e6:.1f} MB"
            )
        assert entries == ROWS, f"the statement has {entries} entries, expected {ROWS}"
        violations = await check_all()
        copy_rate = ROWS / statistics.median(copy_s)
        csv_rate = ROWS / statistics.median(csv_s)
        return {
            "benchmark": "statements",
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
            },
            "smoke": SMOKE,
            "entries": ROWS,
            "runs": RUNS,
            "copy_rows_per_s": round(copy_rate),
            "csv_rows_per_s": round(csv_rate),
            "csv_vs_copy": round(csv_rate / copy_rate, 3),
            "csv_vs_copy_target": 0.3,
            "time_to_first_byte_ms": round(statistics.median(ttfb_s) * 1000, 1),
            "time_to_first_byte_target_ms": 300,
            "peak_rss_growth_mb": round(statistics.median(rss) / 1e6, 1),
            "peak_rss_growth_max_mb": round(max(rss) / 1e6, 1),
            "peak_rss_growth_target_mb": 100,
            "ledger_invariants": "ok" if not violations else [v.detail for v in violations],
        }
    finally:
        await engine().close_connection_pool()
        stop_embedded()


if __name__ == "__main__":
    try:
        result = asyncio.run(main())
    finally:
        shutil.rmtree(DATA_DIR, ignore_errors=True)
    print(json.dumps(result))
