"""The crash suite: SDK callers drive transfers, holds (posted or voided), statements and 1 % malformed
requests against 2 web nodes and 2 workers while a chaos loop kill -9s a random node every few seconds
(and restarts it) and crashes PostgreSQL (`pg_ctl stop -m immediate`) a few times. At the end, with
everything drained, the books are checked; `run()` returns one JSON-ready summary.

Everything runs on 127.0.0.1 (deploy/cluster.py's `Cluster`, on a PostgreSQL of its own), and every loop
is bounded in time: the load stops at its deadline, the chaos loop at the same one.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from neraca import AsyncNeraca
from neraca.errors import NeracaError

from deploy.cluster import Cluster, Node, scratch_dir, seed

MALFORMED_SHARE = 0.01


@dataclass
class Books:
    """What the callers were told (2xx) and what they are still owed (no answer yet)."""

    transfers: dict[str, set[str]] = field(default_factory=dict)  # reference -> ids answered
    holds: dict[str, str] = field(default_factory=dict)  # reference -> hold id
    resolutions: dict[str, str] = field(default_factory=dict)  # hold id -> "posted" | "voided"
    unanswered: list[tuple[str, dict[str, Any]]] = field(
        default_factory=list
    )  # (kind, kwargs incl. request_id)
    asked: set[str] = field(default_factory=set)  # every reference ever sent
    requests: int = 0
    acknowledged_writes: int = 0
    statements: int = 0
    malformed: int = 0
    malformed_503: int = 0
    violations: list[str] = field(default_factory=list)
    # A retried request refused instead of answered as the first time (its first attempt did commit):
    # the books stay right, but the request did not converge on one result.
    refusals: list[str] = field(default_factory=list)


@dataclass
class Chaos:
    kills: dict[str, int] = field(default_factory=lambda: {"web": 0, "worker": 0})
    postgres_crashes: int = 0
    recovery_after_kill: list[float] = field(default_factory=list)
    postgres_crash_to_first_write: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3)


def _probe_write(port: int, key: dict[str, str], accounts: list[str]) -> bool:
    """One signed transfer with no retry: True when it was booked (2xx)."""
    from neraca import Neraca

    try:
        with Neraca(
            client_id=key["client_id"],
            client_secret=key["secret"],
            base_url=f"http://127.0.0.1:{port}",
            max_retries=0,
        ) as client:
            client.transfers.create(
                from_account_id=accounts[0],
                to_account_id=accounts[1],
                amount=1,
                reference=f"probe-{uuid.uuid4().hex}",
            )
        return True
    except (NeracaError, httpx.HTTPError):
        return False


def _healthy(node: Node) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{node.port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def chaos_loop(
    cluster: Cluster,
    data: dict[str, Any],
    chaos: Chaos,
    deadline: float,
    *,
    postgres_crashes: int,
    seed_value: int,
    stop: threading.Event,
) -> None:
    """kill -9 a random node every 1.5–3 s (restarting it at once) and crash PostgreSQL `postgres_crashes`
    times, spread over the run; records how long each recovery took."""
    rng = random.Random(seed_value)
    assert cluster.primary is not None
    started = time.monotonic()
    span = deadline - started
    crash_at = [started + span * (i + 1) / (postgres_crashes + 1) for i in range(postgres_crashes)]
    webs = [node for node in cluster.nodes if node.port is not None]
    while time.monotonic() < deadline and not stop.is_set():
        time.sleep(rng.uniform(1.5, 3.0))
        if time.monotonic() >= deadline or stop.is_set():
            break
        try:
            for node in cluster.nodes:  # as a supervisor would: a node that died on its own comes back
                if not node.alive():
                    node.start()
            if crash_at and time.monotonic() >= crash_at[0]:
                crash_at.pop(0)
                crashed = time.monotonic()
                cluster.primary.stop("immediate")
                chaos.postgres_crashes += 1
                time.sleep(1)
                cluster.primary.start()
                limit = time.monotonic() + 120
                port = webs[0].port or 0
                while not _probe_write(port, data["keys"][0], data["accounts"]) and time.monotonic() < limit:
                    time.sleep(0.1)
                chaos.postgres_crash_to_first_write.append(round(time.monotonic() - crashed, 3))
                continue
            node = rng.choice(cluster.nodes)
            killed = time.monotonic()
            node.kill()
            node.start()
            kind = "web" if node.port is not None else "worker"
            chaos.kills[kind] += 1
            if node.port is not None:
                limit = time.monotonic() + 60
                while not _healthy(node) and time.monotonic() < limit:
                    time.sleep(0.05)
            else:
                node.wait_ready(60)
            chaos.recovery_after_kill.append(round(time.monotonic() - killed, 3))
        except Exception as exc:  # the loop reports and goes on; the end checks decide
            chaos.errors.append(f"{type(exc).__name__}: {exc}")
    # Whatever the last kill left half-started is brought back before the end checks.
    if not cluster.primary.running():
        cluster.primary.start()
    for node in cluster.nodes:
        if not node.alive():
            node.start()


async def _malformed(books: Books, port: int, rng: random.Random) -> None:
    url = f"http://127.0.0.1:{port}/api/v1/transfers"
    kind = rng.choice(["bad-signature", "wrong-types", "huge-body"])
    headers = {
        "Client-Id": "ck_nobody",
        "Request-Id": str(uuid.uuid4()),
        "Request-Timestamp": datetime.now(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Signature": "v1=" + "0" * 64,
        "Content-Type": "application/json",
    }
    body: bytes = b'{"from_account_id": 5, "amount": "lots"}'
    if kind == "huge-body":
        body = b'{"reference": "' + b"x" * 3_000_000 + b'"}'
    try:
        async with httpx.AsyncClient(timeout=30) as raw:
            response = await raw.post(url, content=body, headers=headers)
    except httpx.HTTPError:
        return  # the node was being killed: no answer is not a wrong answer
    books.malformed += 1
    if response.status_code == 503 and response.headers.get("retry-after"):
        books.malformed_503 += 1  # PostgreSQL was down: nothing can be checked, nothing changed
    elif response.status_code >= 500:
        books.violations.append(f"malformed {kind} got {response.status_code}")
    elif response.status_code < 400:
        books.violations.append(f"malformed {kind} was accepted ({response.status_code})")


async def _caller(
    index: int, cluster: Cluster, data: dict[str, Any], books: Books, deadline: float, seed_value: int
) -> None:
    rng = random.Random(seed_value * 1000 + index)
    ports = [node.port for node in cluster.nodes if node.port is not None]
    key = data["keys"][index % len(data["keys"])]
    accounts: list[str] = data["accounts"]
    port = ports[index % len(ports)]
    async with AsyncNeraca(
        client_id=key["client_id"],
        client_secret=key["secret"],
        base_url=f"http://127.0.0.1:{port}",
        max_retries=6,
    ) as client:
        while time.monotonic() < deadline:
            payer, payee = rng.sample(accounts, 2)
            roll = rng.random()
            books.requests += 1
            if roll < MALFORMED_SHARE:
                await _malformed(books, port, rng)
                continue
            reference = f"soak-{uuid.uuid4().hex[:16]}"
            if roll < 0.70:
                kwargs = {
                    "from_account_id": payer,
                    "to_account_id": payee,
                    "amount": rng.randint(1, 50_000),
                    "reference": reference,
                    "request_id": str(uuid.uuid4()),
                }
                await _transfer(client, books, kwargs)
            elif roll < 0.88:
                kwargs = {
                    "from_account_id": payer,
                    "to_account_id": payee,
                    "amount": rng.randint(1, 50_000),
                    "reference": reference,
                    "request_id": str(uuid.uuid4()),
                }
                hold_id = await _hold(client, books, kwargs)
                if hold_id is not None:
                    action = rng.choice(["post", "void"])
                    await _resolve(client, books, hold_id, action, str(uuid.uuid4()))
            else:
                today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
                try:
                    await client.statements.retrieve(account_id=payee, start=today, end=today, limit=20)
                    books.statements += 1
                except (NeracaError, httpx.HTTPError):
                    pass


async def _transfer(client: AsyncNeraca, books: Books, kwargs: dict[str, Any]) -> None:
    books.asked.add(kwargs["reference"])
    try:
        done = await client.transfers.create(**kwargs)
    except (NeracaError, httpx.HTTPError) as exc:
        if _answered_4xx(exc):
            books.refusals.append(f"transfer {kwargs['reference']} refused: {exc}")
        else:
            books.unanswered.append(("transfer", kwargs))
        return
    books.transfers.setdefault(kwargs["reference"], set()).add(done.id)
    books.acknowledged_writes += 1


async def _hold(client: AsyncNeraca, books: Books, kwargs: dict[str, Any]) -> str | None:
    books.asked.add(kwargs["reference"])
    try:
        made = await client.holds.create(**kwargs)
    except (NeracaError, httpx.HTTPError) as exc:
        if _answered_4xx(exc):
            books.refusals.append(f"hold {kwargs['reference']} refused: {exc}")
        else:
            books.unanswered.append(("hold", kwargs))
        return None
    books.holds[kwargs["reference"]] = made.id
    books.acknowledged_writes += 1
    return str(made.id)


async def _resolve(client: AsyncNeraca, books: Books, hold_id: str, action: str, request_id: str) -> None:
    try:
        if action == "post":
            await client.holds.post(hold_id, request_id=request_id)
        else:
            await client.holds.void(hold_id, request_id=request_id)
    except (NeracaError, httpx.HTTPError) as exc:
        if _answered_4xx(exc):
            books.refusals.append(f"{action} of {hold_id} refused: {exc}")
        else:
            books.unanswered.append((action, {"hold_id": hold_id, "request_id": request_id}))
        return
    books.resolutions[hold_id] = "posted" if action == "post" else "voided"
    books.acknowledged_writes += 1


def _answered_4xx(exc: Exception) -> bool:
    """A final refusal; 429 and 409 `request_in_progress` only mean "not yet" (sent again at the end)."""
    status = getattr(exc, "status_code", None)
    if status == 429 or (status == 409 and getattr(exc, "code", None) == "request_in_progress"):
        return False
    return isinstance(status, int) and 400 <= status < 500


async def _converge(cluster: Cluster, data: dict[str, Any], books: Books) -> int:
    """Send every request that got no answer again, with its own Request-Id: each must now succeed, once."""
    port = next(node.port for node in cluster.nodes if node.port is not None)
    key = data["keys"][0]
    retried = 0
    async with AsyncNeraca(
        client_id=key["client_id"],
        client_secret=key["secret"],
        base_url=f"http://127.0.0.1:{port}",
        max_retries=8,
    ) as client:
        pending, books.unanswered = books.unanswered, []
        give_up_at = time.monotonic() + 180  # bounded like every loop here: what is left stays unanswered
        for index, (kind, kwargs) in enumerate(pending):
            if time.monotonic() > give_up_at:
                books.unanswered.extend(pending[index:])
                break
            retried += 1
            if kind == "transfer":
                await _transfer(client, books, kwargs)
            elif kind == "hold":
                await _hold(client, books, kwargs)
            else:
                await _resolve(client, books, kwargs["hold_id"], kind, kwargs["request_id"])
    for kind, kwargs in books.unanswered:
        # Still 409 request_in_progress: its first attempt's web process died before the answer was stored,
        # and the claim holds until its lease ends. The books are checked below; the request did not converge.
        books.refusals.append(f"{kind} {kwargs.get('reference') or kwargs.get('hold_id')} still unanswered")
    return retried


async def _check_books(dsn: str, business_id: str, books: Books) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT reference, array_agg(id) AS ids FROM transfer WHERE business_id = $1 "
            "AND reference LIKE 'soak-%' AND reverses_id IS NULL GROUP BY reference",
            business_id,
        )
        booked = {row["reference"]: set(row["ids"]) for row in rows}
        hold_rows = await conn.fetch(
            "SELECT reference, id, status, transfer_id, resolution_transfer_id FROM hold "
            "WHERE business_id = $1 AND reference LIKE 'soak-%'",
            business_id,
        )
    finally:
        await conn.close()
    holds_by_ref: dict[str, list[Any]] = {}
    for row in hold_rows:
        holds_by_ref.setdefault(row["reference"], []).append(row)
    for reference, ids in books.transfers.items():
        if len(ids) != 1:
            books.violations.append(f"transfer {reference} answered with {len(ids)} different ids")
        if booked.get(reference) != ids:
            books.violations.append(
                f"transfer {reference}: answered {sorted(ids)}, booked {booked.get(reference)}"
            )
    for reference in booked:
        if reference not in books.asked:
            books.violations.append(f"transfer {reference} booked but never asked for")
    for reference, hold_id in books.holds.items():
        found = holds_by_ref.get(reference, [])
        if [row["id"] for row in found] != [hold_id]:
            books.violations.append(
                f"hold {reference}: answered {hold_id}, stored {[r['id'] for r in found]}"
            )
    status = {row["id"]: row for row in hold_rows}
    for hold_id, outcome in books.resolutions.items():
        row = status.get(hold_id)
        if row is None or row["status"] != outcome or row["resolution_transfer_id"] is None:
            books.violations.append(f"hold {hold_id}: answered {outcome}, stored {row and row['status']}")


def _verify(cluster: Cluster, books: Books) -> dict[str, str]:
    results = {}
    for group in ("ledger", "audit"):
        done = subprocess.run(
            [str(cluster.bin_dir / "neraca"), group, "verify"],
            env=cluster.node_env(None),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        results[group] = "ok" if done.returncode == 0 else (done.stdout + done.stderr)[-500:]
        if done.returncode != 0:
            books.violations.append(f"neraca {group} verify failed: {(done.stdout + done.stderr)[-300:]}")
    return results


def run(
    root: Path,
    bin_dir: Path,
    *,
    seconds: float,
    callers: int,
    postgres_crashes: int,
    seed_value: int = 18,
) -> dict[str, Any]:
    """Start the cluster, load it under chaos for `seconds`, drain, check; returns the summary."""
    cluster = Cluster(root=root, bin_dir=bin_dir, web_nodes=2, workers=2, proxy=False, replica=False)
    started = time.monotonic()
    try:
        cluster.start_database()
        cluster.start_nodes()
        data = seed(cluster.node_env(None), bin_dir, accounts=20, keys=16)
        books, chaos = Books(), Chaos()
        deadline = time.monotonic() + seconds
        stop = threading.Event()
        chaos_thread = threading.Thread(
            target=chaos_loop,
            args=(cluster, data, chaos, deadline),
            kwargs={"postgres_crashes": postgres_crashes, "seed_value": seed_value, "stop": stop},
            daemon=True,
        )
        chaos_thread.start()

        async def load() -> int:
            await asyncio.gather(
                *(_caller(i, cluster, data, books, deadline, seed_value) for i in range(callers))
            )
            await asyncio.to_thread(chaos_thread.join, 300)
            for node in cluster.nodes:
                await asyncio.to_thread(node.wait_ready)
            retried = await _converge(cluster, data, books)
            assert cluster.primary is not None
            await _check_books(cluster.primary.dsn(), data["business_id"], books)
            return retried

        try:
            retried = asyncio.run(load())
        finally:
            stop.set()
        verified = _verify(cluster, books)
        violations = books.violations + [f"chaos: {error}" for error in chaos.errors]
        refused = [*books.refusals]
        return {
            "seconds": seconds,
            "callers": callers,
            "requests": books.requests,
            "acknowledged_writes": books.acknowledged_writes,
            "statements": books.statements,
            "malformed": books.malformed,
            "retried_after_no_answer": retried,
            "kills": chaos.kills,
            "process_kills": sum(chaos.kills.values()),
            "postgres_crashes": chaos.postgres_crashes,
            "recovery_after_kill_s": {
                "p50": _percentile(chaos.recovery_after_kill, 0.5),
                "p99": _percentile(chaos.recovery_after_kill, 0.99),
            },
            "postgres_crash_to_first_write_s": chaos.postgres_crash_to_first_write,
            "postgres_crash_to_first_write_median_s": (
                round(statistics.median(chaos.postgres_crash_to_first_write), 3)
                if chaos.postgres_crash_to_first_write
                else None
            ),
            "verify": verified,
            "malformed_503_while_database_down": books.malformed_503,
            "money_violations": len(violations),
            "unconverged_retries": len(refused),
            "violations": len(violations) + len(refused),
            "violation_samples": (violations + refused)[:20],
            "wall_s": round(time.monotonic() - started, 1),
        }
    finally:
        cluster.down()


if __name__ == "__main__":
    import sys

    with scratch_dir("neraca-soak-") as scratch:
        summary = run(
            scratch,
            Path(sys.executable).parent,
            seconds=float(os.environ.get("SOAK_SECONDS", "300")),
            callers=int(os.environ.get("SOAK_CALLERS", "64")),
            postgres_crashes=int(os.environ.get("SOAK_PG_CRASHES", "4")),
        )
    print(json.dumps(summary))
