"""Ledger benchmark: prints ONE JSON object (method: docs/decisions.md, "Performance method").

(a) pgbench simple-update TPS, 8 clients — the baseline, on the same PostgreSQL in the same run, run
    PGBENCH_RUNS times (5 by default) so the JSON shows its median and spread (the machine is noisy);
(b) transfers/s through the ledger service, 64 concurrent callers, one transfer per call, uniform over
    10,000 accounts;
(c) as (b) but every transfer credits one hot account;
(d) signed `POST /api/v1/transfers` requests/s against the server with 2 worker processes (peak, closed
    loop), then p50/p99 latency at 70 % of that peak (open loop);
then the ledger invariants. Each figure is the median of BENCH_RUNS runs of BENCH_SECONDS seconds.

    .venv/bin/python bench/ledger.py            # BENCH_RUNS=3 BENCH_SECONDS=8 by default
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA_DIR = Path(tempfile.mkdtemp(prefix="neraca-bench-"))
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
sys.path.insert(0, str(REPO / "sdk" / "src"))

import asyncio  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import parse_qs, urlsplit  # noqa: E402

# BENCH_SMOKE=1: every part once at a tiny size, so the test suite proves the benchmark still works.
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
RUNS = int(os.environ.get("BENCH_RUNS", "1" if SMOKE else "3"))
# pgbench is the baseline and the machine is shared: its median and spread over several runs.
PGBENCH_RUNS = int(os.environ.get("PGBENCH_RUNS", "1" if SMOKE else "5"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "1" if SMOKE else "8"))
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "200" if SMOKE else "10000"))
# Investigation only: run a subset of the parts (e.g. BENCH_PARTS=ad); the targets need all four.
PARTS = os.environ.get("BENCH_PARTS", "abcd")
SAMPLE = os.environ.get("BENCH_SAMPLE", "") == "1"
# The service runs on uvloop in the web server (uvicorn picks it); (b) and (c) use the same loop.
LOOP = os.environ.get("BENCH_LOOP", "uvloop")
CALLERS = 64
KEYS = 4 if SMOKE else 200


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- (a) pgbench ----------------------------------------------------------------------------------


def pgbench_tps(dsn: str) -> list[float]:
    from portal.db.embedded import embedded_bin_dir

    bin_dir = embedded_bin_dir()
    socket_dir = parse_qs(urlsplit(dsn).query)["host"][0]
    env = {**os.environ, "PGHOST": socket_dir, "PGUSER": "postgres"}
    subprocess.run(
        [str(bin_dir / "psql"), "-q", "-d", "postgres", "-c", "CREATE DATABASE bench_pgbench"],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [str(bin_dir / "pgbench"), "-i", "-q", "-s", "1" if SMOKE else "8", "bench_pgbench"],
        env=env,
        check=True,
        capture_output=True,
    )
    results = []
    for _ in range(PGBENCH_RUNS):
        out = subprocess.run(
            [
                str(bin_dir / "pgbench"),
                "-n",
                "-N",
                "-c",
                "8",
                "-j",
                "2",
                "-T",
                str(int(SECONDS)),
                "bench_pgbench",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        match = re.search(r"tps = ([0-9.]+)", out)
        assert match, out
        results.append(float(match.group(1)))
    return results


# --- set-up ---------------------------------------------------------------------------------------


async def make_accounts(business_id: str, n: int, funding: int) -> list[str]:
    """n partner accounts under the main account, each funded from the world account (set-based)."""
    from portal.domains.accounts import services as accounts
    from portal.domains.ledger import engine
    from portal.domains.ledger.engine import Leg, Operation
    from portal.lib import sql
    from portal.lib.ids import new_id

    main = await accounts.ensure_business_accounts(business_id)
    main_path = f"/{main}/"
    ids = [new_id("acc") for _ in range(n)]
    await sql.execute(
        "INSERT INTO account (id, business_id, parent_id, path, depth, name, kind, currency) "
        "SELECT i, $1, $2, $3 || i || '/', 1, 'Partner ' || i, 'partner', 'IDR' FROM unnest($4::text[]) AS i",
        business_id,
        main,
        main_path,
        ids,
    )
    world = await accounts.system_account_id(business_id, "IDR", "world")
    for start in range(0, n, 1000):
        legs = [Leg(world, a, funding, kind="topup") for a in ids[start : start + 1000]]
        await engine.execute(Operation(business_id, legs, internal=True))
    return ids


async def service_rate(actor: Any, ids: list[str], hot: str | None) -> float:
    from portal.domains.ledger import services as ledger
    from portal.lib.errors import NeracaError

    done = 0
    failed = 0
    deadline = time.perf_counter() + SECONDS

    async def caller() -> None:
        nonlocal done, failed
        rng = random.Random()
        while time.perf_counter() < deadline:
            a = rng.choice(ids)
            b = hot if hot else rng.choice(ids)
            if a == b:
                continue
            try:
                await ledger.create_transfer(
                    actor,
                    from_account_id=a,
                    to_account_id=b,
                    amount=rng.randint(1, 100),
                    reference=uuid.uuid4().hex,
                )
                done += 1
            except NeracaError:
                failed += 1

    import psutil

    me = psutil.Process()
    started = time.perf_counter()
    py0, pg0 = me.cpu_times(), postgres_cpu()
    await asyncio.gather(*(caller() for _ in range(CALLERS)))
    elapsed = time.perf_counter() - started
    py1, pg1 = me.cpu_times(), postgres_cpu()
    cpu_per_transfer.append(
        (
            round((py1.user + py1.system - py0.user - py0.system) / max(done, 1) * 1e6),
            round((pg1 - pg0) / max(done, 1) * 1e6),
        )
    )
    if failed:
        log(f"  {failed} transfers refused")
    return done / elapsed


def tree_cpu(root: int) -> float:
    import psutil

    try:
        parent = psutil.Process(root)
        procs = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    seconds = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            seconds += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return seconds


def postgres_cpu() -> float:
    return tree_cpu(int((DATA_DIR / "pgdata" / "postmaster.pid").read_text().split()[0]))


# (bench process, PostgreSQL) CPU microseconds per transfer of each (b)/(c) run
cpu_per_transfer: list[tuple[int, int]] = []


def cpu_seconds(server: list[subprocess.Popen[bytes]]) -> tuple[float, float]:
    """CPU seconds used so far by the web server's processes and by PostgreSQL's (load-independent cost)."""
    return sum(tree_cpu(p.pid) for p in server), postgres_cpu()


async def sample_waits(counts: dict[str, int]) -> None:
    """Every 20 ms, what each of the server's busy backends is doing (BENCH_SAMPLE=1)."""
    from portal.lib import sql

    while True:
        rows = await sql.fetch(
            "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'CPU') AS w, left(query, 40) AS q "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend' AND state <> 'idle'"
        )
        for row in rows:
            key = f"{row['state']} | {row['w']} | {row['q']}"
            counts[key] = counts.get(key, 0) + 1
        await asyncio.sleep(0.02)


# --- (d) over HTTP --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# One process per worker, each with its own SO_REUSEPORT socket on the port: the kernel spreads the
# connections evenly. (`uvicorn --workers 2` shares one accept queue, and whichever worker wakes first
# accepts a burst of new keep-alive connections: py-spy showed one worker busy, the other idle.)
_REUSEPORT_SERVER = """
import socket, sys, uvicorn
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
sock.bind(("127.0.0.1", int(sys.argv[1])))
sock.listen(2048)
config = uvicorn.Config("portal.server.app:create_app", factory=True, access_log=False, log_level="warning")
uvicorn.Server(config).run(sockets=[sock])
"""
WEB_WORKERS = 2
SERVER_MODE = os.environ.get("BENCH_SERVER", "reuseport")  # or "uvicorn-workers"


def start_server(dsn: str, port: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": dsn,
        "NERACA_PORT": str(port),
        "NERACA_BASE_URL": f"http://127.0.0.1:{port}",
        "NERACA_DB_POOL_SIZE": "6",
    }
    log_file = open(DATA_DIR / "server.log", "wb")  # noqa: SIM115
    if SERVER_MODE == "reuseport":
        commands = [[sys.executable, "-c", _REUSEPORT_SERVER, str(port)] for _ in range(WEB_WORKERS)]
    else:
        commands = [
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "portal.server.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(WEB_WORKERS),
                "--no-access-log",
                "--log-level",
                "warning",
            ]
        ]
    processes = [
        subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=str(REPO))
        for command in commands
    ]
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                time.sleep(1)  # the other processes finish starting too
                return processes
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    for process in processes:
        process.kill()
    raise RuntimeError((DATA_DIR / "server.log").read_text()[-3000:])


def signed_post(
    client_id: str, secret: str, target: str, payload: dict[str, Any]
) -> tuple[bytes, dict[str, str]]:
    """A JSON body for `POST target` and its request-signing headers (a fresh Request-Id each time)."""
    from neraca._signing import format_timestamp, signature_headers

    body = json.dumps(payload).encode()
    headers = signature_headers(
        client_id=client_id,
        client_secret=secret,
        request_id=uuid.uuid4().hex,
        timestamp=format_timestamp(datetime.now(UTC)),
        target=target,
        body=body,
    )
    headers["Content-Type"] = "application/json"
    return body, headers


class Signer:
    def __init__(self, keys: list[tuple[str, str]]) -> None:
        self.keys = keys

    def request(self, ids: list[str], rng: random.Random) -> tuple[bytes, dict[str, str]]:
        client_id, secret = rng.choice(self.keys)
        a, b = rng.sample(ids, 2)
        payload = {
            "from_account_id": a,
            "to_account_id": b,
            "amount": rng.randint(1, 100),
            "reference": uuid.uuid4().hex,
        }
        return signed_post(client_id, secret, "/api/v1/transfers", payload)


class RawHTTP:
    """A minimal HTTP/1.1 keep-alive client over asyncio streams. httpx cost ~7 ms of CPU per request in
    this process — more than the server and PostgreSQL together — and the load generator shares the
    two cores with them, so it would measure itself."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened: list[asyncio.StreamWriter] = []

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        head = f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(body)}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        while True:
            fresh = not self.idle
            if fresh:
                reader, writer = await asyncio.open_connection(self.host, self.port)
                self.opened.append(writer)
            else:
                reader, writer = self.idle.pop()
            writer.write(head.encode("latin-1") + body)
            try:
                status_line = await reader.readline()
            except ConnectionError:
                status_line = b""
            if status_line or fresh:
                break
            # The server closed an idle keep-alive connection before reading the request: send it again
            # on another (same Request-Id, so even a processed request would only be replayed).
            writer.close()
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            chunks = []
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                data = await reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(data[:-2])
            content = b"".join(chunks)
        else:
            content = await reader.readexactly(length)
        if close:
            writer.close()
        else:
            self.idle.append((reader, writer))
        return status, content

    async def close(self) -> None:
        for writer in self.opened:
            writer.close()


async def http_peak(base: str, signer: Signer, ids: list[str], concurrency: int = 48) -> tuple[float, int]:
    """Closed loop: `concurrency` clients, each sending its next request when the last is answered."""
    done = errors = 0
    deadline = time.perf_counter() + SECONDS
    client = RawHTTP(base)

    async def worker() -> None:
        nonlocal done, errors
        rng = random.Random()
        while time.perf_counter() < deadline:
            body, headers = signer.request(ids, rng)
            status, content = await client.post("/api/v1/transfers", body, headers)
            if status == 201:
                done += 1
            else:
                errors += 1
                if errors < 3:
                    log(f"  HTTP {status}: {content[:200]!r}")

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await client.close()
    return done / (time.perf_counter() - started), errors


async def http_latency(base: str, signer: Signer, ids: list[str], rate: float) -> tuple[float, float, int]:
    """Open loop at `rate` requests/s: latencies measured from each request's scheduled start."""
    latencies: list[float] = []
    errors = 0
    interval = 1.0 / rate
    total = int(rate * SECONDS)
    rng = random.Random()
    client = RawHTTP(base)

    async def one(body: bytes, headers: dict[str, str]) -> None:
        nonlocal errors
        started = time.perf_counter()
        status, _ = await client.post("/api/v1/transfers", body, headers)
        latencies.append(time.perf_counter() - started)
        if status != 201:
            errors += 1

    tasks = []
    begin = time.perf_counter()
    try:
        for i in range(total):
            delay = begin + i * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(*signer.request(ids, rng))))
        await asyncio.gather(*tasks)
    finally:
        await client.close()
    latencies.sort()
    return (latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99) - 1] * 1000, errors)


# --- main -----------------------------------------------------------------------------------------


def spread(values: list[float]) -> dict[str, Any]:
    """Median, range and relative spread ((max - min) / median) of repeated runs."""
    middle = statistics.median(values)
    return {
        "runs": len(values),
        "median": round(middle, 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "spread_pct": round((max(values) - min(values)) / middle * 100, 1) if middle else None,
    }


async def main() -> dict[str, Any]:
    from portal.db.bootstrap import RESOLVED_ENV
    from portal.db.embedded import start_embedded

    dsn = start_embedded(DATA_DIR)
    os.environ[RESOLVED_ENV] = dsn
    from portal.db.migrate import migrate
    from portal.db.piccolo_conf import DB
    from portal.domains.identity import services as identity
    from portal.domains.identity.auth import user_actor
    from portal.domains.ledger import engine
    from portal.domains.ledger.invariants import check_all
    from portal.lib.actor import Actor, system_actor
    from portal.lib.sql import POOL_OPTIONS

    # The server's pool options (its reset and connection set-up), so the figures are the server's.
    await DB.start_connection_pool(min_size=2, max_size=8, **POOL_OPTIONS)
    await migrate()

    tps_a = [float("nan")]
    if "a" in PARTS:
        log("(a) pgbench simple-update, 8 clients")
        tps_a = await asyncio.to_thread(pgbench_tps, dsn)
        log(f"  {tps_a}")

    business_id = "biz_bench"
    rights = system_actor(business_id).rights
    actor = Actor(business_id=business_id, rights=rights, name="bench", user_id="usr_bench")
    rates_b, rates_c = [float("nan")], [float("nan")]
    if "b" in PARTS or "c" in PARTS:
        log(f"setting up {ACCOUNTS} accounts")
        ids = await make_accounts(business_id, ACCOUNTS, 10**12)
        hot = ids[0]
    if "b" in PARTS:
        log("(b) service transfers, 64 callers, uniform")
        rates_b = []
        for _ in range(RUNS):
            rates_b.append(await service_rate(actor, ids, None))
            log(f"  {rates_b[-1]:.0f}/s")
    if "c" in PARTS:
        log("(c) service transfers, 64 callers, every one credits one hot account")
        rates_c = []
        for _ in range(RUNS):
            rates_c.append(await service_rate(actor, ids, hot))
            log(f"  {rates_c[-1]:.0f}/s")
    committer = engine.committer()
    batch_mean = committer.operations / max(committer.batches, 1)

    peaks, lat50, lat99, http_errors = [float("nan")], [float("nan")], [float("nan")], 0
    cpu_web: list[float] = [float("nan")]
    cpu_pg: list[float] = [float("nan")]
    cpu_gen: list[float] = [float("nan")]
    waits: dict[str, int] = {}
    if "d" in PARTS:
        log("(d) signed POST /api/v1/transfers, 2 worker processes")
        business, owner, _ = await identity.create_business(
            name="Bench HTTP", owner_username="benchowner", owner_email="bench@example.com", mode="sandbox"
        )
        owner_actor = user_actor(owner, business)
        # Identity limits each key to 600 requests a minute: the load is spread over many keys, as many
        # integrations would be.
        keys = [
            await identity.create_api_key(
                owner_actor, name=f"bench {i}", permissions=frozenset({"transfers:manage", "accounts:view"})
            )
            for i in range(KEYS)
        ]
        http_ids = await make_accounts(business.id, 1000, 10**12)
        port = free_port()
        server = await asyncio.to_thread(start_server, dsn, port)
        base = f"http://127.0.0.1:{port}"
        signer = Signer([(key.client_id, secret) for key, secret in keys])
        try:
            await http_peak(base, signer, http_ids, 8)  # warm-up: connections, imports, plans
            peaks, lat50, lat99, cpu_web, cpu_pg, cpu_gen = [], [], [], [], [], []
            for _ in range(RUNS):
                sampler = asyncio.create_task(sample_waits(waits)) if SAMPLE else None
                web0, pg0 = cpu_seconds(server)
                gen0 = time.process_time()
                started = time.perf_counter()
                peak, errors = await http_peak(base, signer, http_ids)
                requests = peak * (time.perf_counter() - started)
                web1, pg1 = cpu_seconds(server)
                cpu_web.append((web1 - web0) / max(requests, 1) * 1000)
                cpu_pg.append((pg1 - pg0) / max(requests, 1) * 1000)
                cpu_gen.append((time.process_time() - gen0) / max(requests, 1) * 1000)
                if sampler is not None:
                    sampler.cancel()
                peaks.append(peak)
                http_errors += errors
                log(f"  peak {peak:.0f}/s ({errors} errors)")
            target = 0.7 * statistics.median(peaks)
            for _ in range(RUNS):
                p50, p99, errors = await http_latency(base, signer, http_ids, target)
                lat50.append(p50)
                lat99.append(p99)
                http_errors += errors
                log(f"  at {target:.0f}/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({errors} errors)")
        finally:
            for process in server:
                process.terminate()
            for process in server:
                await asyncio.to_thread(process.wait, 20)

    violations = await check_all()
    await DB.close_connection_pool()
    a, b, c, d = (statistics.median(x) for x in (tps_a, rates_b, rates_c, peaks))
    return {
        "benchmark": "ledger",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "smoke": SMOKE,
        "runs": RUNS,
        "event_loop": LOOP,
        "seconds_per_run": SECONDS,
        "a_pgbench_simple_update_tps_8_clients": round(a, 1),
        "a_pgbench_spread": spread(tps_a),
        "b_service_transfers_per_s_64_callers_uniform": round(b, 1),
        "c_service_transfers_per_s_64_callers_hot_account": round(c, 1),
        "d_http_transfers_per_s_peak_2_workers": round(d, 1),
        "d_latency_ms_at_70pct_of_peak": {
            "rate_per_s": round(0.7 * d, 1),
            "p50": round(statistics.median(lat50), 2),
            "p99": round(statistics.median(lat99), 2),
        },
        "d_http_errors": http_errors,
        "d_server": f"{WEB_WORKERS} web processes ({SERVER_MODE})",
        "d_cpu_ms_per_request": {
            "web_workers": round(statistics.median(cpu_web), 2),
            "postgres": round(statistics.median(cpu_pg), 2),
            "load_generator": round(statistics.median(cpu_gen), 2),
        },
        "ratios": {
            "b_over_a": round(b / a, 2),
            "c_over_b": round(c / b, 2),
            "d_over_b": round(d / b, 2),
        },
        "targets_met": {
            "b_ge_2a": b >= 2 * a,
            "c_ge_0_9b": c >= 0.9 * b,
            "d_ge_0_5b": d >= 0.5 * b,
            "d_p99_lt_50ms": statistics.median(lat99) < 50,
        },
        "raw": {"a": tps_a, "b": rates_b, "c": rates_c, "d_peak": peaks, "d_p50": lat50, "d_p99": lat99},
        "group_commit_mean_batch_size": round(batch_mean, 1),
        "bc_cpu_us_per_transfer_bench_process_postgres": cpu_per_transfer,
        **({"d_wait_events_sampled": dict(sorted(waits.items(), key=lambda kv: -kv[1]))} if SAMPLE else {}),
        "invariants": {
            "ok": not violations,
            "violations": [f"{v.invariant}: {v.detail}" for v in violations],
        },
    }


if __name__ == "__main__":
    try:
        if LOOP == "uvloop":
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
