"""Webhooks benchmark: prints ONE JSON object.

Measured in one run, on one embedded PostgreSQL:
(d) signed `POST /api/v1/transfers` requests/s, peak, 2 web processes — the ledger benchmark's part (d),
    run by importing `bench/ledger.py` and calling its functions (same server, keys, load generator);
(w) webhook deliveries/s to a local receiver over real HTTP: 50 businesses with one endpoint each,
    the deliveries made by one `neraca worker` process. Events are written the way the ledger's group
    commit writes them (`emit_many` on one connection, one transaction per batch of 50, one per
    business), as fast as the worker keeps up with, for BENCH_SECONDS; deliveries/s = 2xx attempts in
    the window / window. Target: (w) >= 1.0 x (d);
(l) lag from an event's commit to its first delivery attempt at the load of (d): transfers through the
    ledger service (its group commit writes the `transfer.created` events) at (d)'s peak rate, open
    loop, spread over the 50 businesses: p50/p99. Target: p99 < 1 s;
then the ledger invariants.

    .venv/bin/python bench/webhooks.py          # BENCH_RUNS=3 BENCH_SECONDS=8 by default
    BENCH_SMOKE=1 .venv/bin/python bench/webhooks.py   # a few seconds, tiny sizes (the smoke test)

Receivers on 127.0.0.1 over http need a development environment, so this sets NERACA_ENV=development
(the ledger benchmark's own runs use "bench"; nothing else reads it).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

SMOKE = os.environ.get("BENCH_SMOKE", "") == "1"
if SMOKE:
    os.environ.setdefault("BENCH_RUNS", "1")
    os.environ.setdefault("BENCH_SECONDS", "1.5")
    os.environ.setdefault("BENCH_LOOP", "asyncio")

_spec = importlib.util.spec_from_file_location("ledger_bench", Path(__file__).with_name("ledger.py"))
assert _spec is not None and _spec.loader is not None
ledger_bench = importlib.util.module_from_spec(_spec)
sys.modules["ledger_bench"] = ledger_bench
_spec.loader.exec_module(ledger_bench)  # sets the data directory and the environment
os.environ["NERACA_ENV"] = "development"

import asyncio  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

RUNS = ledger_bench.RUNS
SECONDS = ledger_bench.SECONDS
DATA_DIR = ledger_bench.DATA_DIR
REPO = ledger_bench.REPO
ENDPOINTS = 50
log = ledger_bench.log


class Receiver:
    """A minimal keep-alive HTTP/1.1 receiver answering 204 at once (a receiver should be cheap: it is
    the worker that is measured, and everything shares two cores)."""

    def __init__(self) -> None:
        self.count = 0
        self.port = 0
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0, backlog=4096)
        self.port = self.server.sockets[0].getsockname()[1]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                self.count += 1
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            writer.close()


def start_worker(dsn: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": dsn, "NERACA_LOG_LEVEL": "WARNING"}
    log_file = open(DATA_DIR / "worker.log", "ab")  # noqa: SIM115
    neraca = str(Path(sys.executable).with_name("neraca"))
    return subprocess.Popen(
        [neraca, "worker"], env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=str(REPO)
    )


async def make_endpoints(receiver: Receiver) -> tuple[list[str], dict[str, list[str]]]:
    """50 businesses with one endpoint each (every event type) on the local receiver, and two funded
    accounts each for the ledger's transfers."""
    from portal.domains.webhooks import services
    from portal.lib.actor import system_actor

    businesses = []
    accounts: dict[str, list[str]] = {}
    for i in range(ENDPOINTS):
        business_id = f"biz_webhooks{i:02d}"
        await services.create_endpoint(
            system_actor(business_id), url=f"http://127.0.0.1:{receiver.port}/hooks/{i}"
        )
        accounts[business_id] = await ledger_bench.make_accounts(business_id, 2, 10**12)
        businesses.append(business_id)
    return businesses, accounts


async def emit_batch(businesses: list[str], n: int, seq: int) -> None:
    """One transaction of `n` events spread over the businesses, as a ledger batch writes them."""
    from portal.domains.webhooks.services import emit_many
    from portal.lib import sql
    from portal.lib.sql import transaction

    rows = [
        (
            businesses[(seq + k) % len(businesses)],
            "transfer.created",
            {"id": f"trf_bench{seq}_{k}", "amount": 100},
            (),
        )
        for k in range(n)
    ]
    async with transaction(), sql.connection() as conn:
        await emit_many(conn, rows)


async def delivered_in(start: float, end: float) -> int:
    from portal.lib import sql

    return int(
        await sql.fetchval(
            "SELECT count(*) FROM webhook_attempt WHERE succeeded "
            "AND attempted_at >= to_timestamp($1) AND attempted_at < to_timestamp($2)",
            start,
            end,
        )
    )


async def wait_drained(seconds: float = 120) -> bool:
    from portal.lib import sql

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not await sql.fetchval("SELECT count(*) FROM webhook_delivery WHERE status = 'pending'"):
            return True
        await asyncio.sleep(0.2)
    return False


async def throughput(businesses: list[str]) -> float:
    """Closed loop: keep at most ~2 s of work queued; deliveries/s over the window."""
    from portal.lib import sql

    batch = ENDPOINTS
    seq = 0
    started = time.time()
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        pending = await sql.fetchval("SELECT count(*) FROM webhook_delivery WHERE status = 'pending'")
        if pending > 4000:
            await asyncio.sleep(0.02)
            continue
        await asyncio.gather(*(emit_batch(businesses, batch, seq + k * batch) for k in range(4)))
        seq += 4 * batch
    ended = time.time()
    await wait_drained()
    return await delivered_in(started, ended) / (ended - started)


async def lag_at(accounts: dict[str, list[str]], rate: float) -> tuple[float, float, int]:
    """Open loop at `rate` ledger transfers/s, started every 50 ms; commit-to-first-attempt p50/p99 in ms."""
    import random
    import uuid

    from portal.domains.ledger import services as ledger
    from portal.lib import sql
    from portal.lib.actor import Actor, system_actor

    actors = {
        b: Actor(business_id=b, rights=system_actor(b).rights, name="bench", user_id="usr_bench")
        for b in accounts
    }
    businesses = list(accounts)
    rng = random.Random(7)

    async def transfer(business_id: str) -> None:
        a, b = accounts[business_id]
        await ledger.create_transfer(
            actors[business_id], from_account_id=a, to_account_id=b, amount=1, reference=uuid.uuid4().hex
        )

    tick = 0.05
    per_tick = max(1, round(rate * tick))
    started = time.time()
    begin = time.perf_counter()
    ticks = int(SECONDS / tick)
    tasks = []
    for i in range(ticks):
        delay = begin + i * tick - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks += [asyncio.create_task(transfer(rng.choice(businesses))) for _ in range(per_tick)]
    await asyncio.gather(*tasks)
    await wait_drained()
    # created_at is the transaction's start; the batch commits a few ms later, so this slightly
    # over-states the lag.
    row = await sql.fetchrow(
        "WITH first AS (SELECT d.event_id, min(a.attempted_at) AS at FROM webhook_delivery d "
        "JOIN webhook_attempt a USING (event_id, endpoint_id) JOIN event e ON e.id = d.event_id "
        "WHERE e.created_at >= to_timestamp($1) GROUP BY d.event_id) "
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.at - e.created_at)) AS p50, "
        "percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM f.at - e.created_at)) AS p99, "
        "count(*) AS n FROM first f JOIN event e ON e.id = f.event_id",
        started,
    )
    assert row is not None
    return float(row["p50"] or 0) * 1000, float(row["p99"] or 0) * 1000, int(row["n"])


async def ledger_peak(dsn: str) -> list[float]:
    """Part (d) of the ledger benchmark, through its own functions."""
    from portal.domains.identity import services as identity
    from portal.domains.identity.auth import user_actor

    business, owner, _ = await identity.create_business(
        name="Bench HTTP", owner_username="benchowner", owner_email="bench@example.com", mode="sandbox"
    )
    owner_actor = user_actor(owner, business)
    keys = [
        await identity.create_api_key(
            owner_actor, name=f"bench {i}", permissions=frozenset({"transfers:manage", "accounts:view"})
        )
        for i in range(ledger_bench.KEYS)
    ]
    http_ids = await ledger_bench.make_accounts(business.id, 100 if SMOKE else 1000, 10**12)
    port = ledger_bench.free_port()
    server = await asyncio.to_thread(ledger_bench.start_server, dsn, port)
    base = f"http://127.0.0.1:{port}"
    signer = ledger_bench.Signer([(key.client_id, secret) for key, secret in keys])
    peaks = []
    try:
        await ledger_bench.http_peak(base, signer, http_ids, 8)  # warm-up
        for _ in range(RUNS):
            peak, errors = await ledger_bench.http_peak(base, signer, http_ids)
            peaks.append(peak)
            log(f"  (d) peak {peak:.0f}/s ({errors} errors)")
    finally:
        for process in server:
            process.terminate()
        for process in server:
            await asyncio.to_thread(process.wait, 20)
    return peaks


async def main() -> dict[str, Any]:
    from portal.db.bootstrap import RESOLVED_ENV
    from portal.db.embedded import start_embedded

    dsn = start_embedded(DATA_DIR)
    os.environ[RESOLVED_ENV] = dsn
    from portal.db.migrate import migrate
    from portal.domains.ledger.invariants import check_all
    from portal.lib.sql import POOL_OPTIONS, engine

    # The server's pool options (its reset and connection set-up), so the figures are the server's.
    await engine().start_connection_pool(min_size=2, max_size=12, **POOL_OPTIONS)
    await migrate()

    log("(d) signed POST /api/v1/transfers, 2 web processes (bench/ledger.py part d)")
    peaks = await ledger_peak(dsn)
    d = statistics.median(peaks)

    receiver = Receiver()
    await receiver.start()
    businesses, accounts = await make_endpoints(receiver)
    worker = start_worker(dsn)
    rates: list[float] = []
    lags50: list[float] = []
    lags99: list[float] = []
    measured = 0
    try:
        await emit_batch(businesses, ENDPOINTS, 0)  # warm-up: the worker's connections and imports
        if not await wait_drained(60):
            raise RuntimeError((DATA_DIR / "worker.log").read_text()[-3000:])
        log(f"(w) deliveries/s, {ENDPOINTS} endpoints, one worker process")
        for _ in range(RUNS):
            rates.append(await throughput(businesses))
            log(f"  {rates[-1]:.0f} deliveries/s")
        log(f"(l) lag at {d:.0f} ledger transfers/s")
        for _ in range(RUNS):
            p50, p99, n = await lag_at(accounts, d)
            lags50.append(p50)
            lags99.append(p99)
            measured += n
            log(f"  p50 {p50:.0f} ms, p99 {p99:.0f} ms over {n} events")
    finally:
        worker.terminate()
        await asyncio.to_thread(worker.wait, 20)
        if receiver.server is not None:
            receiver.server.close()

    from portal.lib import sql

    failed = await sql.fetchval("SELECT count(*) FROM webhook_attempt WHERE NOT succeeded")
    duplicates = await sql.fetchval(
        "SELECT count(*) FROM (SELECT event_id FROM webhook_attempt WHERE trigger = 'automatic' "
        "GROUP BY event_id, endpoint_id HAVING count(*) > 1) AS x"
    )
    violations = await check_all()
    await engine().close_connection_pool()
    w = statistics.median(rates)
    p99 = statistics.median(lags99)
    return {
        "benchmark": "webhooks",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "smoke": SMOKE,
        "runs": RUNS,
        "seconds_per_run": SECONDS,
        "endpoints": ENDPOINTS,
        "d_http_transfers_per_s_peak_2_workers": round(d, 1),
        "w_deliveries_per_s_one_worker": round(w, 1),
        "l_lag_ms_commit_to_first_attempt_at_d": {
            "ledger_transfers_per_s": round(d, 1),
            "p50": round(statistics.median(lags50), 1),
            "p99": round(p99, 1),
            "events": measured,
        },
        "ratios": {"w_over_d": round(w / d, 2) if d else None},
        "targets_met": {"w_ge_1_0d": w >= d, "lag_p99_lt_1s": p99 < 1000},
        "receiver_requests": receiver.count,
        "failed_attempts": failed,
        "repeated_automatic_attempts": duplicates,
        "raw": {"d_peak": peaks, "w": rates, "l_p50": lags50, "l_p99": lags99},
        "invariants": {
            "ok": not violations,
            "violations": [f"{v.invariant}: {v.detail}" for v in violations],
        },
    }


if __name__ == "__main__":
    result: dict[str, Any] = {"invariants": {"ok": False}}
    try:
        if ledger_bench.LOOP == "uvloop":
            import uvloop

            result = uvloop.run(main())
        else:
            result = asyncio.run(main())
        print(json.dumps(result))
    finally:
        from portal.db.embedded import stop_embedded

        stop_embedded()
        shutil.rmtree(DATA_DIR, ignore_errors=True)
    sys.exit(0 if result["invariants"]["ok"] else 1)
