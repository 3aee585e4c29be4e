"""Monitoring benchmark: prints ONE JSON object.

Measured in one run, on one embedded PostgreSQL:
(i) the inline cost: signed `POST /api/v1/transfers` (2 web processes, the ledger benchmark's server and
    load generator) open loop at 70 % of its peak, p50/p99 latency with the business's rules **on** (the
    ten rules that can be screened inline, all with the action "block" and thresholds they do not reach,
    so every one is evaluated and none refuses) and **off** (all switched off), interleaved, BENCH_RUNS
    times each. Target: p50 on <= 1.10 x p50 off;
(b) the ledger's service rate: transfers/s through the ledger service, 64 callers (bench/ledger.py (b));
(l) event-driven lag at rate (b): transfers through the ledger service open loop at (b), the rules at
    their defaults (alert only) with the large-amount rule at a threshold about 1 % of transfers reach,
    the event consumer (`monitoring.watch`) in its own process; lag = from an event's commit to the
    moment the consumer's cursor passed it (the cursor is sampled every 50 ms). Target: p99 < 2 s;
then the ledger invariants.

    .venv/bin/python bench/monitoring.py          # BENCH_RUNS=3 BENCH_SECONDS=8 by default
    BENCH_SMOKE=1 .venv/bin/python bench/monitoring.py   # tiny sizes (the smoke test)
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
log = ledger_bench.log

CONSUMER = """
import asyncio, sys
from portal.lib.sql import engine
from portal.domains.monitoring.services import watcher

async def main() -> None:
    await engine().start_connection_pool(min_size=1, max_size=2)
    await watcher.consume_once()
    print("ready", flush=True)
    await watcher.watch(float(sys.argv[1]))

asyncio.run(main())
"""


async def set_rules(business_id: str, on: bool) -> None:
    """On: every inline rule blocks at a threshold no transfer of this benchmark reaches. Off: none."""
    from portal.lib import sql

    await sql.execute(
        "UPDATE monitoring_rule SET enabled = $2, action = 'block', params = params || $3::jsonb "
        "WHERE business_id = $1 AND kind <> 'failed_charges'",
        business_id,
        on,
        json.dumps(
            {
                "amount": 10**14,
                "max_count": 100000,
                "max_sum": 10**14,
                "min_amount": 10**14,
                "limit": 10**14,
                "min_count": 1000,
            }
        ),
    )
    await sql.execute(
        "UPDATE monitoring_rule SET enabled = false WHERE business_id = $1 AND kind = 'failed_charges'",
        business_id,
    )


async def inline_cost(dsn: str) -> dict[str, Any]:
    from portal.domains.identity import services as identity
    from portal.domains.identity.auth import user_actor

    business, owner, _ = await identity.create_business(
        name="Bench monitoring", owner_username="benchowner", owner_email="bench@example.com", mode="sandbox"
    )
    owner_actor = user_actor(owner, business)
    keys = [
        await identity.create_api_key(
            owner_actor, name=f"bench {i}", permissions=frozenset({"transfers:manage", "accounts:view"})
        )
        for i in range(ledger_bench.KEYS)
    ]
    ids = await ledger_bench.make_accounts(business.id, 100 if SMOKE else 1000, 10**12)
    port = ledger_bench.free_port()
    server = await asyncio.to_thread(ledger_bench.start_server, dsn, port)
    base = f"http://127.0.0.1:{port}"
    signer = ledger_bench.Signer([(key.client_id, secret) for key, secret in keys])
    p50 = {"on": [], "off": []}  # type: dict[str, list[float]]
    p99 = {"on": [], "off": []}  # type: dict[str, list[float]]
    errors = 0
    try:
        await set_rules(business.id, False)
        await ledger_bench.http_peak(base, signer, ids, 8)  # warm-up
        peak, _ = await ledger_bench.http_peak(base, signer, ids)
        rate = max(5.0, 0.7 * peak)
        log(f"(i) peak {peak:.0f}/s; latency at {rate:.0f}/s, rules on and off interleaved")
        for _ in range(RUNS):
            for state in ("off", "on"):
                await set_rules(business.id, state == "on")
                a, b, e = await ledger_bench.http_latency(base, signer, ids, rate)
                p50[state].append(a)
                p99[state].append(b)
                errors += e
                log(f"  rules {state}: p50 {a:.1f} ms, p99 {b:.1f} ms")
    finally:
        for process in server:
            process.terminate()
        for process in server:
            await asyncio.to_thread(process.wait, 20)
    on, off = statistics.median(p50["on"]), statistics.median(p50["off"])
    return {
        "peak_requests_per_s": round(peak, 1),
        "rate_requests_per_s": round(rate, 1),
        "p50_ms": {"on": round(on, 2), "off": round(off, 2)},
        "p99_ms": {
            "on": round(statistics.median(p99["on"]), 2),
            "off": round(statistics.median(p99["off"]), 2),
        },
        "p50_on_over_off": round(on / off, 3) if off else None,
        "errors": errors,
        "raw": {"p50": p50, "p99": p99},
    }


def start_consumer(dsn: str) -> subprocess.Popen[bytes]:
    """The event consumer in its own process, once it has connected and read what was there."""
    env = {**os.environ, "DATABASE_URL": dsn, "NERACA_LOG_LEVEL": "WARNING"}
    consumer = subprocess.Popen(
        [sys.executable, "-c", CONSUMER, str(SECONDS + 60)],
        env=env,
        cwd=str(REPO),
        stdout=subprocess.PIPE,
        stderr=open(DATA_DIR / "consumer.log", "ab"),  # noqa: SIM115
    )
    assert consumer.stdout is not None
    if consumer.stdout.readline().strip() != b"ready":
        raise RuntimeError((DATA_DIR / "consumer.log").read_text()[-3000:])
    return consumer


async def lag_at(dsn: str, actor: Any, ids: list[str], rate: float) -> tuple[float, float, int]:
    """Open loop at `rate` transfers/s; the consumer in its own process; commit-to-cursor p50/p99 in ms."""
    import random
    import uuid

    from portal.domains.ledger import services as ledger
    from portal.lib import sql

    consumer = await asyncio.to_thread(start_consumer, dsn)
    started = time.time()
    passed: list[tuple[float, int]] = []
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            value = await sql.fetchval(
                "SELECT last_sequence FROM monitoring_cursor WHERE business_id = $1", actor.business_id
            )
            passed.append((time.time(), int(value or 0)))
            await asyncio.sleep(0.05)

    rng = random.Random(7)

    async def transfer() -> None:
        a, b = rng.sample(ids, 2)
        await ledger.create_transfer(
            actor, from_account_id=a, to_account_id=b, amount=rng.randint(1, 100), reference=uuid.uuid4().hex
        )

    sampler = asyncio.create_task(sample())
    try:
        tick = 0.05
        per_tick = max(1, round(rate * tick))
        begin = time.perf_counter()
        tasks = []
        for i in range(int(SECONDS / tick)):
            delay = begin + i * tick - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks += [asyncio.create_task(transfer()) for _ in range(per_tick)]
        await asyncio.gather(*tasks)
        last = await sql.fetchval("SELECT last FROM event_sequence WHERE business_id = $1", actor.business_id)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not passed or passed[-1][1] < last):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await sampler
        consumer.terminate()
        await asyncio.to_thread(consumer.wait, 20)
    events = await sql.fetch(
        "SELECT sequence, extract(epoch FROM created_at) AS at FROM event "
        "WHERE business_id = $1 AND created_at >= to_timestamp($2) ORDER BY sequence",
        actor.business_id,
        started,
    )
    lags = []
    k = 0
    for event in events:
        while k < len(passed) and passed[k][1] < event["sequence"]:
            k += 1
        if k == len(passed):
            break
        lags.append(max(0.0, passed[k][0] - float(event["at"])))
    lags.sort()
    if not lags:
        return float("nan"), float("nan"), 0
    return lags[len(lags) // 2] * 1000, lags[max(0, int(len(lags) * 0.99) - 1)] * 1000, len(lags)


async def main() -> dict[str, Any]:
    from portal.db.bootstrap import RESOLVED_ENV
    from portal.db.embedded import start_embedded

    dsn = start_embedded(DATA_DIR)
    os.environ[RESOLVED_ENV] = dsn
    from portal.db.migrate import migrate
    from portal.domains.ledger.invariants import check_all
    from portal.domains.monitoring import services as monitoring  # registers the screen
    from portal.lib import sql
    from portal.lib.actor import Actor, system_actor
    from portal.lib.sql import engine

    assert monitoring.evaluate_outgoing is not None
    await engine().start_connection_pool(min_size=2, max_size=12)
    await migrate()

    inline = await inline_cost(dsn)

    business_id = "biz_benchmon"
    actor = Actor(
        business_id=business_id, rights=system_actor(business_id).rights, name="bench", user_id="usr_b"
    )
    await sql.execute("SELECT monitoring_default_rules($1)", business_id)
    ids = await ledger_bench.make_accounts(business_id, 200 if SMOKE else ledger_bench.ACCOUNTS, 10**12)
    # About 1 % of the transfers (amounts 1..100) reach the large-amount rule and raise an alert.
    await sql.execute(
        "UPDATE monitoring_rule SET params = '{\"amount\": 100}' "
        "WHERE business_id = $1 AND kind = 'large_amount'",
        business_id,
    )
    await sql.execute(
        "INSERT INTO monitoring_cursor (business_id, last_sequence) "
        "SELECT $1, last FROM event_sequence WHERE business_id = $1 "
        "ON CONFLICT (business_id) DO UPDATE SET last_sequence = EXCLUDED.last_sequence",
        business_id,
    )
    log("(b) service transfers, 64 callers, uniform")
    rates_b = []
    for _ in range(RUNS):
        rates_b.append(await ledger_bench.service_rate(actor, ids, None))
        log(f"  {rates_b[-1]:.0f}/s")
    await sql.execute(
        "UPDATE monitoring_cursor SET last_sequence = "
        "(SELECT last FROM event_sequence WHERE business_id = $1) WHERE business_id = $1",
        business_id,
    )
    b = statistics.median(rates_b)
    log(f"(l) event-driven lag at {b:.0f} transfers/s")
    lags50, lags99, measured = [], [], 0
    for _ in range(RUNS):
        p50, p99, n = await lag_at(dsn, actor, ids, b)
        lags50.append(p50)
        lags99.append(p99)
        measured += n
        log(f"  p50 {p50:.0f} ms, p99 {p99:.0f} ms over {n} events")
    alerts = await sql.fetchval("SELECT count(*) FROM monitoring_alert WHERE business_id = $1", business_id)
    violations = await check_all()
    await engine().close_connection_pool()
    ratio = inline["p50_on_over_off"]
    p99 = statistics.median(lags99)
    return {
        "benchmark": "monitoring",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "smoke": SMOKE,
        "runs": RUNS,
        "seconds_per_run": SECONDS,
        "i_http_transfers_rules_on_vs_off": inline,
        "b_service_transfers_per_s_64_callers": round(b, 1),
        "l_lag_ms_commit_to_screened_at_b": {
            "transfers_per_s": round(b, 1),
            "p50": round(statistics.median(lags50), 1),
            "p99": round(p99, 1),
            "events": measured,
            "alerts_raised": alerts,
        },
        "ratios": {"p50_rules_on_over_off": ratio},
        "targets_met": {
            "inline_p50_le_1_10": ratio is not None and ratio <= 1.10,
            "lag_p99_lt_2s": p99 < 2000,
        },
        "raw": {"b": rates_b, "l_p50": lags50, "l_p99": lags99},
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
