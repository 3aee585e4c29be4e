"""SDK overhead benchmark: prints ONE JSON object.

The same endpoints, the same server, the same run: the blocking SDK client (`Neraca`) against a
hand-written signed httpx call (one keep-alive `httpx.Client`, HMAC by hand, `response.json()`), one
caller at a time so the figure is the per-call cost. Endpoints: `GET /api/v1/balances/{id}` and
`POST /api/v1/transfers`. Blocks of SDK and hand-written calls alternate; each run gives a median
latency per side; the ratio reported is the median over runs. Target: SDK ≤ 1.15 × hand-written.
Ends with the ledger invariants. Uses bench/ledger.py's set-up (own data dir, embedded PostgreSQL,
the server under uvicorn with 2 workers).

    .venv/bin/python bench/sdk.py            # BENCH_RUNS=5 BENCH_CALLS=150 by default
    BENCH_SMOKE=1 .venv/bin/python bench/sdk.py   # one tiny run (what the test suite does)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import asyncio
import base64
import hashlib
import hmac
import json
import os
import platform
import shutil
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import ledger as bench

# BENCH_SMOKE=1: one tiny run, so the test suite proves the benchmark still works (its figures mean nothing).
SMOKE = os.environ.get("BENCH_SMOKE") == "1"
RUNS = int(os.environ.get("BENCH_RUNS", "1" if SMOKE else "5"))
CALLS = int(
    os.environ.get("BENCH_CALLS", "5" if SMOKE else "150")
)  # per side, endpoint and run (< 600/min/key)
WARM_UP_CALLS = 2 if SMOKE else 20
TARGET = 1.15


def hand_signed(client_id: str, secret: str, target: str, body: bytes = b"") -> dict[str, str]:
    """The signature headers written out from api-contract.md, without the SDK."""
    request_id = str(uuid.uuid4())
    timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        f"Client-Id:{client_id}",
        f"Request-Id:{request_id}",
        f"Request-Timestamp:{timestamp}",
        f"Request-Target:{target}",
    ]
    if body:
        lines.append("Digest:" + base64.b64encode(hashlib.sha256(body).digest()).decode())
    mac = hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha256).digest()
    headers = {
        "Client-Id": client_id,
        "Request-Id": request_id,
        "Request-Timestamp": timestamp,
        "Signature": "HMACSHA256=" + base64.b64encode(mac).decode(),
    }
    if body:
        headers["Content-Type"] = "application/json"
    return headers


def measure(base: str, keys: list[tuple[str, str]], source: str, sink: str) -> dict[str, Any]:
    from neraca import Neraca

    results: dict[str, dict[str, list[float]]] = {
        "get_balance": {"sdk": [], "httpx": []},
        "post_transfer": {"sdk": [], "httpx": []},
    }
    booked = 0
    for run in range(RUNS + 1):  # run 0 warms up (connections, imports, plans) and is not counted
        (sdk_id, sdk_secret), (raw_id, raw_secret) = keys[2 * run], keys[2 * run + 1]
        client = Neraca(client_id=sdk_id, client_secret=sdk_secret, base_url=base, max_retries=0)
        http = httpx.Client(base_url=base, timeout=30)

        def sdk_get(_: int, client: Neraca = client) -> int:
            return client.balances.retrieve(source).available

        def raw_get(
            _: int, http: httpx.Client = http, raw_id: str = raw_id, raw_secret: str = raw_secret
        ) -> int:
            target = f"/api/v1/balances/{source}"
            response = http.get(target, headers=hand_signed(raw_id, raw_secret, target))
            response.raise_for_status()
            return int(response.json()["available"])

        def sdk_post(_: int, client: Neraca = client) -> str:
            return client.transfers.create(
                from_account_id=source, to_account_id=sink, amount=1, reference=uuid.uuid4().hex
            ).id

        def raw_post(
            _: int, http: httpx.Client = http, raw_id: str = raw_id, raw_secret: str = raw_secret
        ) -> str:
            body = json.dumps(
                {"from_account_id": source, "to_account_id": sink, "amount": 1, "reference": uuid.uuid4().hex}
            ).encode()
            response = http.post(
                "/api/v1/transfers",
                content=body,
                headers=hand_signed(raw_id, raw_secret, "/api/v1/transfers", body),
            )
            response.raise_for_status()
            return str(response.json()["id"])

        n = WARM_UP_CALLS if run == 0 else CALLS
        pairs: list[tuple[str, Callable[[int], Any], Callable[[int], Any]]] = [
            ("get_balance", sdk_get, raw_get),
            ("post_transfer", sdk_post, raw_post),
        ]
        for name, sdk_call, raw_call in pairs:
            # Interleaved call by call (and which side goes first alternates), so drift in a shared
            # machine's load hits both sides alike.
            sdk_ms: list[float] = []
            raw_ms: list[float] = []
            for i in range(n):
                order = [(sdk_call, sdk_ms), (raw_call, raw_ms)]
                for call, samples in order if i % 2 else order[::-1]:
                    started = time.perf_counter()
                    call(i)
                    samples.append((time.perf_counter() - started) * 1000)
            if name == "post_transfer":
                booked += 2 * n
            if run:
                results[name]["sdk"].append(statistics.median(sdk_ms))
                results[name]["httpx"].append(statistics.median(raw_ms))
                bench.log(
                    f"  run {run} {name}: sdk {results[name]['sdk'][-1]:.3f} ms, "
                    f"httpx {results[name]['httpx'][-1]:.3f} ms"
                )
        client.close()
        http.close()
    out: dict[str, Any] = {"booked_transfers": booked}
    for name, sides in results.items():
        ratios = [s / h for s, h in zip(sides["sdk"], sides["httpx"], strict=True)]
        out[name] = {
            "sdk_ms_median": round(statistics.median(sides["sdk"]), 3),
            "httpx_ms_median": round(statistics.median(sides["httpx"]), 3),
            "overhead_ratio": round(statistics.median(ratios), 3),
            "raw": {
                "sdk_ms": [round(x, 3) for x in sides["sdk"]],
                "httpx_ms": [round(x, 3) for x in sides["httpx"]],
            },
        }
    return out


async def main() -> dict[str, Any]:
    from portal.db.bootstrap import RESOLVED_ENV
    from portal.db.embedded import start_embedded

    dsn = start_embedded(bench.DATA_DIR)
    os.environ[RESOLVED_ENV] = dsn
    from portal.db.migrate import migrate
    from portal.domains.identity import services as identity
    from portal.domains.identity.auth import user_actor
    from portal.domains.ledger.invariants import check_all
    from portal.lib import sql

    # The server's pool options (its reset and connection set-up), so the figures are the server's.
    await sql.engine().start_connection_pool(min_size=1, max_size=4, **sql.POOL_OPTIONS)
    await migrate()
    business, owner, _ = await identity.create_business(
        name="Bench SDK", owner_username="benchowner", owner_email="bench@example.com", mode="sandbox"
    )
    owner_actor = user_actor(owner, business)
    keys = []
    for i in range(2 * (RUNS + 1)):  # a fresh key per side and run: 600 requests a minute each
        key, secret = await identity.create_api_key(
            owner_actor, name=f"bench {i}", permissions=frozenset({"transfers:manage", "accounts:view"})
        )
        keys.append((key.client_id, secret))
    source, sink = await bench.make_accounts(business.id, 2, 10**12)
    port = bench.free_port()
    server = await asyncio.to_thread(bench.start_server, dsn, port)
    base = f"http://127.0.0.1:{port}"
    try:
        bench.log(f"SDK vs hand-written httpx, {RUNS} runs x {CALLS} calls per side and endpoint")
        figures = await asyncio.to_thread(measure, base, keys, source, sink)
    finally:
        for process in server:  # one process per web worker (bench/ledger.py's start_server)
            process.terminate()
        for process in server:
            await asyncio.to_thread(process.wait, 20)
    count = await sql.fetchval(
        "SELECT count(*) FROM transfer WHERE debit_account_id = $1 AND credit_account_id = $2", source, sink
    )
    violations = await check_all()
    await sql.engine().close_connection_pool()
    worst = max(figures["get_balance"]["overhead_ratio"], figures["post_transfer"]["overhead_ratio"])
    return {
        "benchmark": "sdk",
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "smoke": SMOKE,
        "runs": RUNS,
        "calls_per_side_endpoint_run": CALLS,
        "get_balance": figures["get_balance"],
        "post_transfer": figures["post_transfer"],
        "target_overhead_ratio": TARGET,
        "targets_met": {"overhead_le_1_15": worst <= TARGET},
        "transfers_booked_as_sent": int(count) == figures["booked_transfers"],
        "invariants": {
            "ok": not violations,
            "violations": [f"{v.invariant}: {v.detail}" for v in violations],
        },
    }


if __name__ == "__main__":
    result: dict[str, Any] = {"invariants": {"ok": False}}
    try:
        result = asyncio.run(main())
        print(json.dumps(result))
    finally:
        from portal.db.embedded import stop_embedded

        stop_embedded()
        shutil.rmtree(bench.DATA_DIR, ignore_errors=True)
    sys.exit(0 if result["invariants"]["ok"] and result.get("transfers_booked_as_sent") else 1)
