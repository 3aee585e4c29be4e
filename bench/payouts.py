"""Batch payouts benchmark: prints ONE JSON object (docs/payouts.md, "Benchmark").

Measured in one run, on one embedded PostgreSQL, with the sandbox provider in a subprocess:
(u) a BENCH_ROWS-row CSV (default 10,000) from upload to every row validated and staged
    (`batches.upload_batch`) against the baseline COPY of the same file into a table, measured as
    BENCH_UPLOAD_RUNS pairs (5; `paired_uploads`: a COPY, then the upload of the same file, each pair a
    file of its own references). Target: the pairs' median ratio (upload rows/s over COPY rows/s)
    >= 0.3; reported beside it, not judged: the first pair's ratio (the process's first upload also
    pays its one-time costs), each pair, and the floor of any upload that stages its rows in a durable
    keyed table (`keyed_copy_floor`: COPY of the same file into a logged table with the rows tables'
    key (business_id, batch_id, row_no), committed, no check), rows/s and its ratio to the baseline COPY
    (`floor_keyed_vs_copy`, the best such an upload could reach);
(s) from the approval (`batches.approve_batch` with the approver's code: every payout scheduled in one
    statement) to every payout submitted to the provider (`lifecycle.submit_batch_due`, what the batch's
    submission job runs: all marked submitted at once, then sent in bulk calls of `lifecycle.SUBMIT_CHUNK`
    payouts, at most `lifecycle.SUBMIT_CONCURRENCY` calls in flight; a payout the provider could not take
    is asked about and sent again by 8 callers, as the worker's sweep does),
    payouts/s, against the ledger benchmark's part (b) (transfers/s through the ledger service, 64
    callers) in the same run. Target: (s) >= 0.5 x (b);
(n) the rows' name inquiry (`batches.inquire_names`, what the job after the upload runs), rows/s, reported
    without a target (the approval waits for it);
peak RSS growth of this process from upload to all submitted (target < 150 MB); then the ledger invariants.

    .venv/bin/python bench/payouts.py               # BENCH_ROWS=10000
    BENCH_SMOKE=1 .venv/bin/python bench/payouts.py    # a few seconds, tiny sizes (the smoke test)
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

SMOKE = os.environ.get("BENCH_SMOKE", "") == "1"
if SMOKE:
    os.environ.setdefault("BENCH_RUNS", "1")
    os.environ.setdefault("BENCH_SECONDS", "1")
    os.environ.setdefault("BENCH_LOOP", "asyncio")

_spec = importlib.util.spec_from_file_location("ledger_bench", Path(__file__).with_name("ledger.py"))
assert _spec is not None and _spec.loader is not None
ledger_bench = importlib.util.module_from_spec(_spec)
sys.modules["ledger_bench"] = ledger_bench
_spec.loader.exec_module(ledger_bench)  # sets the data directory and the environment

import asyncio  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "50" if SMOKE else "10000"))
# (u) is measured this many times, each upload right after its own COPY (a pair); the ratio judged is
# the pairs' median, as every figure of these benchmarks is a median of several runs.
UPLOAD_RUNS = int(os.environ.get("BENCH_UPLOAD_RUNS", "1" if SMOKE else "5"))
DATA_DIR = ledger_bench.DATA_DIR
log = ledger_bench.log
# Callers of the sweep's retries (status query, then the same key again).
CALLERS = 8
SIM_SECRET = "bench-simulator-secret-0123456789"
SIM_CALLBACK_SECRET = "bench-simulator-callback-secret-0123456789"


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


def polars_threads() -> int:
    """The threads polars checks a file with in this process (POLARS_MAX_THREADS, else every core)."""
    import polars

    return polars.thread_pool_size()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def provider_env(url: str) -> dict[str, str]:
    """The provider settings that reach the simulator `start_simulator` runs at `url`."""
    return {
        "NERACA_PROVIDER_URL": url,
        "NERACA_PROVIDER_PARTNER_ID": "neraca",
        "NERACA_PROVIDER_SECRET": SIM_SECRET,
        "NERACA_PROVIDER_CALLBACK_SECRET": SIM_CALLBACK_SECRET,
    }


def use_simulator(url: str) -> None:
    """Point this process's provider settings (and the servers it starts after) at the simulator."""
    from portal.settings import get_settings

    os.environ.update(provider_env(url))
    get_settings.cache_clear()


def start_simulator() -> tuple[subprocess.Popen[bytes], str]:
    """The sandbox provider on its own port and database (on the same embedded PostgreSQL server)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        **provider_env(url),
        "NERACA_PROVIDER_CALLBACK_URL": "http://127.0.0.1:9",
        "NERACA_SIMULATOR_DATABASE": "neraca_simulator_bench",
    }
    log_file = open(DATA_DIR / "simulator.log", "ab")  # noqa: SIM115 (kept open for the child)
    process = subprocess.Popen(
        [sys.executable, "-m", "portal.simulator"], env=env, stdout=log_file, stderr=log_file
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/control/api/state", timeout=1).is_success:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise RuntimeError((DATA_DIR / "simulator.log").read_text()[-3000:])


def stop_simulator(process: subprocess.Popen[bytes]) -> None:
    """Stop the sandbox provider: SIGTERM, then SIGKILL if it has not ended within 15 s (its worker loops
    may be in the middle of completing thousands of payouts; its state is not needed after the run)."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


def batch_file(rows: int) -> bytes:
    out = io.StringIO()
    out.write("reference,amount,code,account_number,holder_name,description,email\n")
    from portal.simulator.services.inquiries import generated_name

    for i in range(rows):
        # Every row's holder is the name the sandbox bank returns for the number (its name inquiry must
        # match before approval); a number ending 0000 or 9999 would be unknown or closed there.
        number = f"88{i:09d}1"
        name = generated_name(f"014:{number}").title()
        out.write(f"BENCH-{i:06d},{10_000 + i},014,{number},{name},Komisi {i},p{i}@example.com\n")
    return out.getvalue().encode()


async def settle_database(limit_s: float = 60.0) -> dict[str, float]:
    """Let the database finish what the previous phase left before the next measurement: a `VACUUM
    (ANALYZE)` of the database (what autovacuum would do to the tables that phase filled, done now
    rather than whenever its next round falls, perhaps during the measurement), a CHECKPOINT (the
    dirty pages written out now), then a wait, bounded by `limit_s`, until no autovacuum worker is
    running. Returns the seconds each took (reported)."""
    from portal.lib import sql

    async with sql.connection() as conn:
        t0 = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE)")
        vacuum_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        await conn.execute("CHECKPOINT")
        checkpoint_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        while time.perf_counter() - t1 < limit_s:
            running = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
            )
            if not running:
                break
            await asyncio.sleep(0.2)
        return {
            "vacuum_s": round(vacuum_s, 3),
            "checkpoint_s": round(checkpoint_s, 3),
            "autovacuum_wait_s": round(time.perf_counter() - t1, 3),
        }


async def copy_baseline(data: bytes) -> float:
    """COPY of the same file into a table of seven text columns; seconds."""
    from portal.lib import sql

    async with sql.connection() as conn:
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bench_raw (reference text, amount text, code text, "
            "account_number text, holder_name text, description text, email text)"
        )
        await conn.execute("TRUNCATE bench_raw")
        t0 = time.perf_counter()
        await conn.copy_to_table("bench_raw", source=io.BytesIO(data), format="csv", header=True)
        return time.perf_counter() - t0


async def paired_uploads(
    files: list[bytes],
    copy: Callable[[bytes], Awaitable[float]],
    upload: Callable[[int, bytes], Awaitable[str]],
) -> tuple[dict[str, Any], list[str]]:
    """(u) as pairs: each file's COPY (the baseline), then its upload (`upload(k, file)`, returning the
    batch id), in turn. Returns the summary — the pairs' median ratio (judged), the first pair's (the
    process's first upload, which also pays its one-time costs: reported), the range, each pair's
    seconds — and the batch ids in order."""
    pairs = []
    batch_ids = []
    for k, data in enumerate(files):
        copy_s = await copy(data)
        t0 = time.perf_counter()
        batch_ids.append(await upload(k, data))
        upload_s = time.perf_counter() - t0
        pairs.append({"copy_s": round(copy_s, 4), "upload_s": round(upload_s, 4), "ratio": copy_s / upload_s})
    ratios = [p["ratio"] for p in pairs]
    for p in pairs:
        p["ratio"] = round(p["ratio"], 3)
    summary = {
        "median_ratio": round(statistics.median(ratios), 3),
        "first_ratio": round(ratios[0], 3),
        "min_ratio": round(min(ratios), 3),
        "max_ratio": round(max(ratios), 3),
        "median_copy_s": round(statistics.median(p["copy_s"] for p in pairs), 4),
        "median_upload_s": round(statistics.median(p["upload_s"] for p in pairs), 4),
        "pairs": pairs,
    }
    return summary, batch_ids


async def keyed_copy_floor(data: bytes) -> float:
    """The floor of an upload that stages its rows in a durable table: COPY of the same file into a logged
    table of the file's text columns plus business_id, batch_id, row_no keyed by PRIMARY KEY
    (business_id, batch_id, row_no) (the key the batch rows tables have), committed, no check; seconds.
    The key's columns are filled by the table (two defaults, an identity), so nothing is added per row in
    Python: the best any such upload could reach."""
    from portal.lib import sql

    header = data.split(b"\n", 1)[0].decode("utf-8-sig").strip().split(",")
    async with sql.connection() as conn:
        await conn.execute("DROP TABLE IF EXISTS bench_floor_rows")
        await conn.execute(
            "CREATE TABLE bench_floor_rows (business_id text NOT NULL DEFAULT 'biz_floor', "
            "batch_id text NOT NULL DEFAULT 'bat_floor', row_no integer GENERATED ALWAYS AS IDENTITY, "
            + "".join(f"{name} text, " for name in header)
            + "PRIMARY KEY (business_id, batch_id, row_no))"
        )
        try:
            t0 = time.perf_counter()
            async with conn.transaction():
                await conn.copy_to_table(
                    "bench_floor_rows", source=io.BytesIO(data), columns=header, format="csv", header=True
                )
            return time.perf_counter() - t0
        finally:
            await conn.execute("DROP TABLE bench_floor_rows")


async def people(business_id: str) -> tuple[Any, Any, str]:
    """(maker, checker, checker's TOTP secret): two users of the business, both enrolled."""
    from portal.domains.identity import services as identity
    from portal.domains.identity.auth import user_actor
    from portal.lib import security, sql

    business = await identity.get_business(business_id)
    owner_id = await sql.fetchval(
        "SELECT id FROM app_user WHERE business_id = $1 ORDER BY created_at LIMIT 1", business_id
    )
    maker = user_actor(await identity.user_by_id(owner_id), business)
    checker = await identity.create_user(
        maker, username="benchchecker", full_name="Bench Checker", email="checker@example.com", role="admin"
    )
    secret = security.new_totp_secret()
    await sql.execute(
        "UPDATE app_user SET totp_secret = $3, totp_confirmed = true WHERE business_id = $1 AND id = $2",
        business_id,
        checker.id,
        secret,
    )
    return maker, user_actor(await identity.user_by_id(checker.id), business), secret


async def main() -> dict[str, Any]:
    from portal.db.bootstrap import RESOLVED_ENV
    from portal.db.embedded import start_embedded, stop_embedded

    url = start_embedded(DATA_DIR, cleanup_mode="stop")
    os.environ[RESOLVED_ENV] = url
    from portal.db.migrate import migrate
    from portal.lib.sql import POOL_OPTIONS, engine

    # The server's pool options (its reset and connection set-up), so the figures are the server's.
    await engine().start_connection_pool(min_size=1, max_size=20, **POOL_OPTIONS)
    simulator = None
    try:
        await migrate()
        simulator, sim_url = start_simulator()
        use_simulator(sim_url)
        from portal.domains.accounts import services as accounts
        from portal.domains.identity import services as identity
        from portal.domains.ledger import engine as ledger_engine
        from portal.domains.ledger.engine import Leg, Operation
        from portal.domains.ledger.invariants import check_all
        from portal.domains.payouts import batches, lifecycle
        from portal.lib import clock, security
        from portal.lib.actor import system_actor

        # (b): the ledger service's transfers/s, 64 callers, uniform, as the ledger benchmark measures it.
        bench_business = "biz_benchledger"
        ledger_actor = system_actor(bench_business)
        ids = await ledger_bench.make_accounts(bench_business, ledger_bench.ACCOUNTS, 10**12)
        b_rate = await ledger_bench.service_rate(ledger_actor, ids, None)
        log(f"(b) ledger service {b_rate:.0f} transfers/s")

        business, _owner, _link = await identity.create_business(
            name="Bench Payouts",
            owner_username="benchmaker",
            owner_email="maker@example.com",
            owner_full_name="Bench Maker",
            mode="sandbox",
        )
        maker, checker, secret = await people(business.id)
        main = await accounts.ensure_business_accounts(business.id)
        world = await accounts.system_account_id(business.id, "IDR", "world")
        await ledger_engine.execute(
            Operation(business.id, [Leg(world, main, 10**13, kind="topup")], internal=True)
        )
        data = batch_file(ROWS)
        # (b) leaves the database writing (dirty pages, autovacuum of the tables it filled); (u) measures
        # the upload, so it starts once that is done, as the COPY beside it does.
        settled = await settle_database()
        log(f"settled before (u): {settled}")
        floor_s = await keyed_copy_floor(data)
        with PeakRss() as peak:
            # Each run a file of its own references (the first is `data`, submitted below).
            files = [
                data if k == 0 else data.replace(b"BENCH-", f"BENCH{k}-".encode()) for k in range(UPLOAD_RUNS)
            ]
            uploads, batch_ids = await paired_uploads(
                files, copy_baseline, lambda k, f: batches.upload_batch(maker, f"bench{k}.csv", f)
            )
            for each in batch_ids:
                summary = await batches.get_batch(maker, each)
                assert summary.rows == ROWS and summary.invalid == 0, (summary.rows, summary.invalid)
            batch_id = batch_ids[0]
            t0 = time.perf_counter()
            await batches.submit_batch(maker, batch_id)
            submit_s = time.perf_counter() - t0
            # What the batch's name-inquiry job does (a row not yet checked holds the approval back).
            t0 = time.perf_counter()
            names = await batches.inquire_names(business.id, batch_id)
            inquiry_s = time.perf_counter() - t0
            assert names.answered == ROWS, names
            t0 = time.perf_counter()
            code = security.totp_code(secret, security.totp_step(clock.now()))
            await batches.approve_batch(checker, batch_id, code)
            # What the batch's submission job does: every due payout marked in one statement, then sent
            # with bounded concurrency over the gateway's shared client.
            first = await lifecycle.submit_batch_due(business.id, batch_id)
            outcomes: dict[str, int] = {}
            retry = [p for p, o in first.items() if o in ("unsent", "unknown")]
            for outcome in first.values():
                if outcome not in ("unsent", "unknown"):
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
            queue: asyncio.Queue[str] = asyncio.Queue()

            async def caller() -> None:
                while not queue.empty():
                    payout_id = queue.get_nowait()
                    # What the worker's sweep does: a status query, then the same key again.
                    outcome = await lifecycle.query_payout(business.id, payout_id)
                    if outcome in ("unsent", "unknown"):
                        retry.append(payout_id)
                    else:
                        outcomes[outcome] = outcomes.get(outcome, 0) + 1

            for _attempt in range(5):
                if not retry:
                    break
                for payout_id in retry:
                    queue.put_nowait(payout_id)
                retry.clear()
                await asyncio.gather(*(caller() for _ in range(CALLERS)))
            approve_to_submitted_s = time.perf_counter() - t0
        submitted = sum(n for o, n in outcomes.items() if o in ("submitted", "succeeded", "failed"))
        log(
            f"(u) {UPLOAD_RUNS} pairs, median COPY {uploads['median_copy_s']:.3f}s, median upload "
            f"{uploads['median_upload_s']:.3f}s, ratios {[p['ratio'] for p in uploads['pairs']]}; keyed COPY "
            f"{floor_s:.2f}s; submit {submit_s:.2f}s, names {inquiry_s:.2f}s, "
            f"approval to submitted {approve_to_submitted_s:.2f}s ({outcomes})"
        )
        violations = await check_all()
        copy_s = uploads["median_copy_s"]
        submit_rate = submitted / approve_to_submitted_s
        u_ratio = uploads["median_ratio"]
        s_ratio = submit_rate / b_rate
        rss_mb = peak.growth / 1e6
        return {
            "benchmark": "payouts",
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "platform": platform.platform(),
                "polars_threads": polars_threads(),
            },
            "smoke": SMOKE,
            "rows": ROWS,
            "u_copy_rows_per_s": round(ROWS / copy_s),
            "u_upload_rows_per_s": round(ROWS / uploads["median_upload_s"]),
            "u_floor_keyed_copy_rows_per_s": round(ROWS / floor_s),
            "u_runs": uploads,
            "s_submit_for_approval_s": round(submit_s, 2),
            "n_name_inquiry_rows_per_s": round(ROWS / inquiry_s, 1),
            "s_payouts_submitted": submitted,
            "s_approval_to_submitted_per_s": round(submit_rate, 1),
            "b_service_transfers_per_s_64_callers_uniform": round(b_rate, 1),
            "peak_rss_growth_mb": round(rss_mb, 1),
            "u_settled_before": settled,
            "ratios": {
                "upload_vs_copy": u_ratio,
                "first_upload_vs_its_copy": uploads["first_ratio"],
                "floor_keyed_vs_copy": round(copy_s / floor_s, 3),
                "submitted_vs_ledger_b": round(s_ratio, 3),
            },
            "targets": {"upload_vs_copy": 0.3, "submitted_vs_ledger_b": 0.5, "peak_rss_growth_mb": 150},
            "targets_met": {
                "upload_vs_copy": u_ratio >= 0.3,
                "submitted_vs_ledger_b": s_ratio >= 0.5,
                "peak_rss_growth_mb": rss_mb < 150,
            },
            "invariants": {"ok": not violations, "violations": [v.detail for v in violations]},
        }
    finally:
        if simulator is not None:
            stop_simulator(simulator)
        await engine().close_connection_pool()
        stop_embedded()


if __name__ == "__main__":
    try:
        result = asyncio.run(main())
    finally:
        shutil.rmtree(DATA_DIR, ignore_errors=True)
    print(json.dumps(result))
