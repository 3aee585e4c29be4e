"""The crash suite: SDK callers drive transfers, holds (posted or voided), top-ups paid through the
sandbox provider, payouts to verified beneficiaries sent through it, statements and 1 % malformed
requests against 2 web nodes, 2 workers and the provider simulator while a chaos loop kill -9s a random
one of them every few seconds (and restarts it) and crashes PostgreSQL (`pg_ctl stop -m immediate`) a
few times; the business's top-up and hold events go to a webhook receiver on 127.0.0.1 that the suite
runs. With `via_nginx` the callers go through
nginx in front of the web nodes (and statements read from a streaming replica), as `make cluster` runs
them. At the end, with everything drained, the books are checked; `run()` returns one JSON-ready summary.

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from neraca import AsyncNeraca
from neraca.errors import NeracaError

from deploy.cluster import WEBHOOK_EVENT_TYPES, Cluster, Node, free_port, scratch_dir, seed

MALFORMED_SHARE = 0.01
TOPUP_SHARE = 0.06
# Payouts through the provider (with it): a share of the callers' requests, `_payout` for one request,
# `_check_payouts` for the end (every payout succeeded or failed, its holds posted or voided, never both;
# the simulator's payouts reconcile with Neraca's). Below the default approval threshold (Rp10,000,000),
# so none waits for an approver; one in five ends in 666, which the sandbox's bank rejects (failed).
PAYOUT_SHARE = 0.05
PAYOUT_REJECTED_SHARE = 0.2
PAYOUT_BENEFICIARIES = 4
# How long the end may wait for callbacks and webhook deliveries to drain (bounded like every loop here).
DRAIN_SECONDS = 180


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
    topups: dict[str, str] = field(default_factory=dict)  # reference -> top-up id answered
    paid_at_provider: set[str] = field(default_factory=set)  # top-up ids the simulator took payment for
    payouts: dict[str, str] = field(default_factory=dict)  # reference -> payout id answered
    requests: int = 0
    # Retries the SDK made on its own (connection errors, 5xx, 409 request_in_progress, 429) and the
    # requests it gave up on after them (sent again at the end).
    sdk_retries: int = 0
    gave_up: int = 0
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
    kills: dict[str, int] = field(default_factory=lambda: {"web": 0, "worker": 0, "simulator": 0})
    postgres_crashes: int = 0
    recovery_after_kill: list[float] = field(default_factory=list)
    postgres_crash_to_first_write: list[float] = field(default_factory=list)
    postgres_restart_to_first_write: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class WebhookReceiver:
    """A webhook endpoint on 127.0.0.1: records every delivery's `webhook-id` and answers 200."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.mismatches: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                webhook_id = self.headers.get("webhook-id") or ""
                try:
                    event_id = json.loads(body).get("id")
                except ValueError:
                    event_id = None
                with receiver.lock:
                    receiver.ids[webhook_id] = receiver.ids.get(webhook_id, 0) + 1
                    if event_id != webhook_id:
                        receiver.mismatches.append(f"webhook-id {webhook_id} carried event {event_id}")
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/neraca-webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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


def _kind(cluster: Cluster, node: Node) -> str:
    return "simulator" if node is cluster.simulator else "web" if node.port is not None else "worker"


def _ready(cluster: Cluster, node: Node) -> bool:
    """A web node answers /readyz 200; a worker has logged its start; the simulator answers /healthz."""
    if not node.alive():
        return False
    kind = _kind(cluster, node)
    if kind == "web":
        return _healthy(node)
    try:
        node.wait_ready(0.5)
    except RuntimeError:
        return False
    return True


def _watch_recovery(
    cluster: Cluster, node: Node, killed: float, chaos: Chaos, recovering: dict[str, float]
) -> None:
    """Until the restarted node serves again (restarting it as a supervisor would if it exits while
    PostgreSQL is down); records the time from the kill."""
    limit = killed + 120
    try:
        while time.monotonic() < limit:
            if not node.alive():
                node.start()
            if _ready(cluster, node):
                chaos.recovery_after_kill.append(round(time.monotonic() - killed, 3))
                return
            time.sleep(0.05)
        chaos.errors.append(f"{node.name} did not serve again within 120 s of its kill")
    except Exception as exc:  # reported; the end checks decide
        chaos.errors.append(f"{node.name} recovery: {type(exc).__name__}: {exc}")
    finally:
        recovering.pop(node.name, None)


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
    """Every 2–4 s kill -9 a random node that is serving (web node, worker or simulator), restarting it
    at once, and crash PostgreSQL `postgres_crashes` times, spread over the run. A node still coming back
    from its kill is not picked again (so one web node always serves); each recovery is timed by a
    watcher thread, so kills keep their pace whatever a restart costs."""
    rng = random.Random(seed_value)
    assert cluster.primary is not None
    started = time.monotonic()
    span = deadline - started
    crash_at = [started + span * (i + 1) / (postgres_crashes + 1) for i in range(postgres_crashes)]
    webs = [node for node in cluster.nodes if node.port is not None]
    targets = cluster.nodes + ([cluster.simulator] if cluster.simulator is not None else [])
    recovering: dict[str, float] = {}
    watchers: list[threading.Thread] = []
    while time.monotonic() < deadline and not stop.is_set():
        time.sleep(rng.uniform(2.0, 4.0))
        if time.monotonic() >= deadline or stop.is_set():
            break
        try:
            if crash_at and time.monotonic() >= crash_at[0]:
                crash_at.pop(0)
                crashed = time.monotonic()
                cluster.primary.stop("immediate")
                chaos.postgres_crashes += 1
                time.sleep(1)
                cluster.primary.start()
                restarted = time.monotonic()
                limit = time.monotonic() + 120
                probe = 0
                while time.monotonic() < limit:
                    port = webs[probe % len(webs)].port or 0
                    probe += 1
                    if _probe_write(port, data["keys"][0], data["accounts"]):
                        break
                    time.sleep(0.1)
                chaos.postgres_crash_to_first_write.append(round(time.monotonic() - crashed, 3))
                chaos.postgres_restart_to_first_write.append(round(time.monotonic() - restarted, 3))
                continue
            serving = [node for node in targets if node.name not in recovering]
            if not serving:
                continue
            node = rng.choice(serving)
            kind = _kind(cluster, node)
            if kind == "web" and sum(1 for web in webs if web.name not in recovering) < 2:
                continue  # the other web node is still coming back: keep one serving
            killed = time.monotonic()
            node.kill()
            node.start()
            chaos.kills[kind] += 1
            recovering[node.name] = killed
            watcher = threading.Thread(
                target=_watch_recovery, args=(cluster, node, killed, chaos, recovering), daemon=True
            )
            watcher.start()
            watchers.append(watcher)
        except Exception as exc:  # the loop reports and goes on; the end checks decide
            chaos.errors.append(f"{type(exc).__name__}: {exc}")
    for watcher in watchers:
        watcher.join(150)
    # Whatever the last kill left half-started is brought back before the end checks.
    if not cluster.primary.running():
        cluster.primary.start()
    for node in targets:
        if not node.alive():
            node.start()


async def _malformed(books: Books, base_url: str, rng: random.Random) -> None:
    url = f"{base_url}/api/v1/transfers"
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
    if response.status_code in (502, 504):
        return  # nginx found no live node: Neraca never answered (it never sends 502/504 itself)
    books.malformed += 1
    if response.status_code == 503 and response.headers.get("retry-after"):
        books.malformed_503 += 1  # PostgreSQL was down: nothing can be checked, nothing changed
    elif response.status_code >= 500:
        books.violations.append(f"malformed {kind} got {response.status_code}")
    elif response.status_code < 400:
        books.violations.append(f"malformed {kind} was accepted ({response.status_code})")


def _counting_client(books: Books, base_url: str, key: dict[str, str], max_retries: int) -> AsyncNeraca:
    """An SDK client whose retries (each one a back-off sleep) are counted in the books."""
    client = AsyncNeraca(
        client_id=key["client_id"], client_secret=key["secret"], base_url=base_url, max_retries=max_retries
    )
    sleep = client._sleep

    async def counted(delay: float) -> None:
        books.sdk_retries += 1
        await sleep(delay)

    client._sleep = counted
    return client


def _base_urls(cluster: Cluster) -> list[str]:
    """Where callers send their requests: nginx when the cluster has it, else each web node in turn."""
    if cluster.nginx is not None:
        return [f"http://127.0.0.1:{cluster.proxy_port}"]
    return [f"http://127.0.0.1:{port}" for port in cluster.web_ports()]


async def _caller(
    index: int, cluster: Cluster, data: dict[str, Any], books: Books, deadline: float, seed_value: int
) -> None:
    rng = random.Random(seed_value * 1000 + index)
    urls = _base_urls(cluster)
    key = data["keys"][index % len(data["keys"])]
    accounts: list[str] = data["accounts"]
    base_url = urls[index % len(urls)]
    provider = cluster.simulator is not None
    payouts_key = data.get("payouts_key")
    async with (
        _counting_client(books, base_url, key, max_retries=6) as client,
        _counting_client(books, base_url, payouts_key or key, max_retries=6) as payouts_client,
    ):
        while time.monotonic() < deadline:
            payer, payee = rng.sample(accounts, 2)
            roll = rng.random()
            books.requests += 1
            if roll < MALFORMED_SHARE:
                await _malformed(books, base_url, rng)
                continue
            reference = f"soak-{uuid.uuid4().hex[:16]}"
            money = {
                "from_account_id": payer,
                "to_account_id": payee,
                "amount": rng.randint(1, 50_000),
                "reference": reference,
                "request_id": str(uuid.uuid4()),
            }
            if roll < 0.64:
                await _transfer(client, books, money)
            elif roll < 0.82:
                hold_id = await _hold(client, books, money)
                if hold_id is not None:
                    action = rng.choice(["post", "void"])
                    await _resolve(client, books, hold_id, action, str(uuid.uuid4()))
            elif provider and roll < 0.82 + TOPUP_SHARE:
                order = {
                    "account_id": payee,
                    "amount": rng.randint(10_000, 500_000),
                    "reference": reference,
                    "request_id": str(uuid.uuid4()),
                }
                await _topup(client, books, order, cluster)
            elif provider and payouts_key and roll < 0.82 + TOPUP_SHARE + data["payout_share"]:
                await _payout(payouts_client, books, rng, data["beneficiaries"])
            else:
                today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
                try:
                    await client.statements.retrieve(account_id=payee, start=today, end=today, limit=20)
                    books.statements += 1
                except (NeracaError, httpx.HTTPError):
                    pass


async def _payout(client: AsyncNeraca, books: Books, rng: random.Random, beneficiaries: list[str]) -> None:
    """One payout to a verified beneficiary; the provider completes it (or its bank rejects a …666)."""
    amount = rng.randint(10_000, 2_000_000)
    if rng.random() < PAYOUT_REJECTED_SHARE:
        amount = amount // 1000 * 1000 + 666
    await _create_payout(
        client,
        books,
        {
            "beneficiary_id": rng.choice(beneficiaries),
            "amount": amount,
            # Not `soak-…`: the transfer and hold checks read those references as theirs.
            "reference": f"soakpo-{uuid.uuid4().hex[:16]}",
            "request_id": str(uuid.uuid4()),
        },
    )


def _payouts_of(client: AsyncNeraca) -> Any:
    """`client.payouts`: a property as documented; tolerated as a method, as this SDK version has it."""
    payouts: Any = client.payouts
    return payouts() if callable(payouts) else payouts


async def _create_payout(client: AsyncNeraca, books: Books, kwargs: dict[str, Any]) -> None:
    books.asked.add(kwargs["reference"])
    try:
        made = await _payouts_of(client).create(**kwargs)
    except (NeracaError, httpx.HTTPError) as exc:
        if _answered_4xx(exc):
            books.refusals.append(f"payout {kwargs['reference']} refused: {exc}")
        else:
            books.gave_up += 1
            books.unanswered.append(("payout", kwargs))
        return
    books.payouts[kwargs["reference"]] = made.id
    books.acknowledged_writes += 1


async def _topup(client: AsyncNeraca, books: Books, kwargs: dict[str, Any], cluster: Cluster) -> None:
    """Open a top-up (its virtual account at the provider), then pay it there as the customer would."""
    books.asked.add(kwargs["reference"])
    try:
        made = await client.topups.create(**kwargs)
    except (NeracaError, httpx.HTTPError) as exc:
        if _answered_4xx(exc):
            books.refusals.append(f"topup {kwargs['reference']} refused: {exc}")
        else:
            books.gave_up += 1
            books.unanswered.append(("topup", kwargs))
        return
    books.topups[kwargs["reference"]] = made.id
    books.acknowledged_writes += 1
    assert cluster.simulator is not None and made.payment_instructions is not None
    await _pay_at_provider(books, cluster.simulator, made.id, made.payment_instructions.account_number)


async def _pay_at_provider(books: Books, simulator: Node, topup_id: str, va_number: str) -> None:
    """The customer pays the virtual account (the simulator's control surface); tried again while the
    simulator is down. A refusal (already paid by an attempt whose answer was lost) is left to the end
    check, which reads the simulator's own books."""
    give_up_at = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=10) as http:
        while time.monotonic() < give_up_at:
            try:
                answer = await http.post(f"http://127.0.0.1:{simulator.port}/control/api/va/{va_number}/pay")
            except httpx.HTTPError:
                await asyncio.sleep(0.5)
                continue
            if answer.status_code == 200:
                books.paid_at_provider.add(topup_id)
                return
            if answer.status_code < 500:
                return
            await asyncio.sleep(0.5)


async def _transfer(client: AsyncNeraca, books: Books, kwargs: dict[str, Any]) -> None:
    books.asked.add(kwargs["reference"])
    try:
        done = await client.transfers.create(**kwargs)
    except (NeracaError, httpx.HTTPError) as exc:
        if _answered_4xx(exc):
            books.refusals.append(f"transfer {kwargs['reference']} refused: {exc}")
        else:
            books.gave_up += 1
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
            books.gave_up += 1
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
            books.gave_up += 1
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
    key = data["keys"][0]
    # Payouts are sent again under their own key, so the Request-Id is the same request's (its claim).
    payouts_key = data.get("payouts_key") or key
    retried = 0
    async with (
        AsyncNeraca(
            client_id=key["client_id"],
            client_secret=key["secret"],
            base_url=_base_urls(cluster)[0],
            max_retries=8,
        ) as client,
        AsyncNeraca(
            client_id=payouts_key["client_id"],
            client_secret=payouts_key["secret"],
            base_url=_base_urls(cluster)[0],
            max_retries=8,
        ) as payouts_client,
    ):
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
            elif kind == "topup":
                await _topup(client, books, kwargs, cluster)
            elif kind == "payout":
                await _create_payout(payouts_client, books, kwargs)
            else:
                await _resolve(client, books, kwargs["hold_id"], kind, kwargs["request_id"])
    for kind, kwargs in books.unanswered:
        # Still no answer after the end's retries: the books are checked below; the request did not converge.
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


async def _provider_books(cluster: Cluster, business_id: str) -> tuple[dict[str, int], list[Any]]:
    """The simulator's paid pay-ins of the business (id -> amount) and Neraca's top-ups with their pay-in
    and booked groups."""
    assert cluster.primary is not None
    sim = await asyncpg.connect(cluster.primary.dsn("neraca_simulator"))
    try:
        paid = {
            row["id"]: int(row["amount"])
            for row in await sim.fetch(
                "SELECT id, amount FROM sim_payins WHERE merchant_id = $1 AND paid_at IS NOT NULL",
                business_id,
            )
        }
    finally:
        await sim.close()
    conn = await asyncpg.connect(cluster.primary.dsn())
    try:
        topups = await conn.fetch(
            "SELECT t.id, t.reference, t.status, t.amount + t.fee AS total, p.payin_id, "
            "(SELECT count(DISTINCT group_id) FROM transfer x WHERE x.business_id = t.business_id "
            "AND x.source_id = t.id) AS groups "
            "FROM topup t LEFT JOIN provider_payin p ON p.business_id = t.business_id AND p.source_id = t.id "
            "WHERE t.business_id = $1",
            business_id,
        )
    finally:
        await conn.close()
    return paid, list(topups)


async def _check_provider(cluster: Cluster, business_id: str, books: Books) -> dict[str, int]:
    """Every pay-in the simulator took is booked by its callback exactly once, and nothing else is: the
    simulator's books and Neraca's reconcile. Callbacks the simulator has not delivered yet (its back-off
    after a kill) are sent again through its control surface until they are, within DRAIN_SECONDS."""
    assert cluster.simulator is not None
    give_up_at = time.monotonic() + DRAIN_SECONDS
    while True:
        paid, topups = await _provider_books(cluster, business_id)
        booked = {row["payin_id"] for row in topups if row["status"] == "paid"}
        if set(paid) <= booked or time.monotonic() > give_up_at:
            break
        await _resend_callbacks(cluster)
        await asyncio.sleep(2)
    by_reference = {row["reference"]: row for row in topups}
    for reference, topup_id in books.topups.items():
        row = by_reference.get(reference)
        if row is None or row["id"] != topup_id:
            books.violations.append(f"topup {reference}: answered {topup_id}, stored {row and row['id']}")
    for reference in by_reference:
        if reference not in books.asked:
            books.violations.append(f"topup {reference} stored but never asked for")
    by_id = {row["id"]: row for row in topups}
    for topup_id in books.paid_at_provider:
        if by_id.get(topup_id) is None or by_id[topup_id]["status"] != "paid":
            books.violations.append(f"topup {topup_id} paid at the provider, not booked")
    by_payin = {row["payin_id"]: row for row in topups if row["payin_id"] is not None}
    for payin_id, amount in paid.items():
        row = by_payin.get(payin_id)
        if row is None or row["status"] != "paid":
            books.violations.append(
                f"pay-in {payin_id} paid at the provider, its top-up {row and row['status']}"
            )
        elif int(row["total"]) != amount:
            books.violations.append(f"pay-in {payin_id}: provider {amount}, Neraca {row['total']}")
    for row in topups:
        expected = 1 if row["status"] == "paid" else 0
        if row["groups"] != expected:
            books.violations.append(f"topup {row['id']} ({row['status']}) booked {row['groups']} times")
        if row["status"] == "paid" and row["payin_id"] not in paid:
            books.violations.append(f"topup {row['id']} booked paid, its pay-in is not paid at the provider")
    return {
        "topups_acknowledged": len(books.topups),
        "topups_paid_at_provider": len(paid),
        "topups_booked_paid": sum(1 for row in topups if row["status"] == "paid"),
    }


async def _check_payouts(cluster: Cluster, business_id: str, books: Books) -> dict[str, int]:
    """Every acknowledged payout exists once with the id it was answered with, nothing else does; each
    ended succeeded (its holds posted) or failed (voided), each hold resolved exactly once; the
    simulator's payouts and Neraca's reconcile (same reference, amount and outcome). Payouts still
    scheduled or submitted are waited for within DRAIN_SECONDS (the minute sweep sends due ones and asks
    the provider about stale submissions; undelivered callbacks are sent again)."""
    assert cluster.primary is not None
    conn = await asyncpg.connect(cluster.primary.dsn())
    try:
        give_up_at = time.monotonic() + DRAIN_SECONDS
        while True:
            open_payouts = await conn.fetchval(
                "SELECT count(*) FROM payout WHERE business_id = $1 AND kind = 'payout' "
                "AND status NOT IN ('succeeded', 'failed', 'reversed', 'rejected', 'cancelled')",
                business_id,
            )
            if open_payouts == 0 or time.monotonic() > give_up_at:
                break
            await _resend_callbacks(cluster)
            await asyncio.sleep(2)
        rows = await conn.fetch(
            "SELECT p.id, p.reference, p.status, p.amount, "
            "(p.amount_hold_id IS NOT NULL)::int + (p.fee_hold_id IS NOT NULL)::int AS holds, "
            "array_remove(ARRAY[a.status, f.status], NULL) AS hold_statuses, "
            "(SELECT count(*) FROM transfer t WHERE t.business_id = p.business_id "
            "AND t.hold_id IN (p.amount_hold_id, p.fee_hold_id) "
            "AND t.phase IN ('post_pending', 'void_pending')) AS resolutions "
            "FROM payout p "
            "LEFT JOIN hold a ON a.business_id = p.business_id AND a.id = p.amount_hold_id "
            "LEFT JOIN hold f ON f.business_id = p.business_id AND f.id = p.fee_hold_id "
            "WHERE p.business_id = $1 AND p.kind = 'payout'",
            business_id,
        )
    finally:
        await conn.close()
    sim = await asyncpg.connect(cluster.primary.dsn("neraca_simulator"))
    try:
        at_provider = {
            row["reference"]: row
            for row in await sim.fetch("SELECT reference, amount, status FROM sim_payouts")
        }
    finally:
        await sim.close()
    by_reference = {row["reference"]: row for row in rows}
    for reference, payout_id in books.payouts.items():
        row = by_reference.get(reference)
        if row is None or row["id"] != payout_id:
            books.violations.append(f"payout {reference}: answered {payout_id}, stored {row and row['id']}")
    for row in rows:
        if row["reference"] not in books.asked:
            books.violations.append(f"payout {row['reference']} stored but never asked for")
        if row["status"] not in ("succeeded", "failed"):
            books.violations.append(f"payout {row['id']} still {row['status']} after the drain")
            continue
        wanted = "posted" if row["status"] == "succeeded" else "voided"
        if row["hold_statuses"] != [wanted] * row["holds"] or row["resolutions"] != row["holds"]:
            books.violations.append(
                f"payout {row['id']} {row['status']}: holds {row['hold_statuses']}, "
                f"{row['resolutions']} resolutions for {row['holds']} holds"
            )
        sent = at_provider.get(row["id"])  # the provider knows a payout by Neraca's payout id
        if sent is None or int(sent["amount"]) != int(row["amount"]) or sent["status"] != row["status"]:
            books.violations.append(
                f"payout {row['id']} {row['status']} {row['amount']}: provider "
                f"{sent and (sent['status'], int(sent['amount']))}"
            )
    stored = {row["id"] for row in rows}
    for reference in at_provider:
        if reference not in stored:
            books.violations.append(f"provider payout {reference} has no payout in Neraca")
    return {
        "payouts_acknowledged": len(books.payouts),
        "payouts_stored": len(rows),
        "payouts_succeeded": sum(1 for row in rows if row["status"] == "succeeded"),
        "payouts_failed": sum(1 for row in rows if row["status"] == "failed"),
        "payouts_rejected_by_bank_expected": sum(1 for row in rows if str(row["amount"]).endswith("666")),
        "payouts_at_provider": len(at_provider),
    }


async def _resend_callbacks(cluster: Cluster) -> None:
    assert cluster.primary is not None and cluster.simulator is not None
    sim = await asyncpg.connect(cluster.primary.dsn("neraca_simulator"))
    try:
        pending = [
            row["event_id"]
            for row in await sim.fetch("SELECT event_id FROM sim_callbacks WHERE status = 'pending'")
        ]
    finally:
        await sim.close()
    async with httpx.AsyncClient(timeout=15) as http:
        for event_id in pending:
            try:
                await http.post(
                    f"http://127.0.0.1:{cluster.simulator.port}/control/api/callbacks/{event_id}/resend"
                )
            except httpx.HTTPError:
                return


async def _check_webhooks(
    dsn: str, business_id: str, endpoint_id: str, receiver: WebhookReceiver, books: Books
) -> dict[str, int]:
    """Every event the endpoint subscribed to reached the receiver at least once, with its own id as
    `webhook-id`. Deliveries waiting out a retry back-off are made due at once (as an operator's "resend
    failed" would) so the drain is bounded by DRAIN_SECONDS, not by the back-off schedule."""
    conn = await asyncpg.connect(dsn)
    try:
        give_up_at = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < give_up_at:
            await conn.execute(
                "UPDATE webhook_delivery SET next_attempt_at = now() WHERE endpoint_id = $1 "
                "AND status = 'pending' AND next_attempt_at > now()",
                endpoint_id,
            )
            waiting = await conn.fetchval(
                "SELECT count(*) FROM webhook_delivery WHERE endpoint_id = $1 AND status <> 'succeeded'",
                endpoint_id,
            )
            if waiting == 0:
                break
            await asyncio.sleep(2)
        events = [
            row["id"]
            for row in await conn.fetch(
                "SELECT id FROM event WHERE business_id = $1 AND type = ANY($2::text[])",
                business_id,
                list(WEBHOOK_EVENT_TYPES),
            )
        ]
    finally:
        await conn.close()
    with receiver.lock:
        received = dict(receiver.ids)
        books.violations.extend(receiver.mismatches[:20])
    missing = [event_id for event_id in events if event_id not in received]
    books.violations.extend(
        f"event {event_id} never reached the webhook receiver" for event_id in missing[:50]
    )
    if len(missing) > 50:
        books.violations.append(f"… and {len(missing) - 50} more events never reached the webhook receiver")
    return {
        "webhook_events": len(events),
        "webhook_events_received": len(events) - len(missing),
        "webhook_deliveries_received": sum(received.values()),
    }


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


def _payout_setup(cluster: Cluster, bin_dir: Path, data: dict[str, Any]) -> dict[str, Any]:
    """A key with the payouts rights and no beneficiary cool-down (payout_setup.py, in a process of its
    own), then PAYOUT_BENEFICIARIES bank accounts added through the SDK on the first seeded accounts
    (the simulator's name inquiry finds any realistic number, with its generated holder name)."""
    from neraca import Neraca

    from portal.simulator.services.inquiries import generated_name

    done = subprocess.run(
        [str(bin_dir / "python"), str(Path(__file__).with_name("payout_setup.py")), data["business_id"]],
        env={**cluster.node_env(None), "NERACA_LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"payout set-up failed:\n{done.stderr[-3000:]}")
    key = json.loads(done.stdout.strip().splitlines()[-1])
    beneficiaries = []
    with Neraca(
        client_id=key["client_id"],
        client_secret=key["secret"],
        base_url=_base_urls(cluster)[0],
        max_retries=6,
    ) as client:
        for index in range(PAYOUT_BENEFICIARIES):
            number = f"77{index:02d}{uuid.uuid4().int % 10**6:06d}1"
            made = client.beneficiaries.create(
                kind="bank",
                account_id=data["accounts"][index],
                bank_code="014",
                account_number=number,
                holder_name=generated_name(f"014:{number}"),
            )
            beneficiaries.append(made.id)
    return {"payouts_key": key, "beneficiaries": beneficiaries}


def run(
    root: Path,
    bin_dir: Path,
    *,
    seconds: float,
    callers: int,
    postgres_crashes: int,
    seed_value: int = 18,
    payout_share: float = PAYOUT_SHARE,
    provider: bool = False,
    webhooks: bool = False,
    via_nginx: bool = False,
) -> dict[str, Any]:
    """Start the cluster, load it under chaos for `seconds`, drain, check; returns the summary.

    `provider`: top-ups paid and payouts sent through the simulator (a `payout_share` of the requests),
    which the chaos loop kills too; `webhooks`: the
    business's top-up and hold events delivered to a receiver here; `via_nginx`: the callers go through
    nginx (and statements read from a streaming replica), as `make cluster` runs them."""
    cluster = Cluster(
        root=root,
        bin_dir=bin_dir,
        web_nodes=2,
        workers=2,
        proxy=via_nginx,
        replica=via_nginx,
        proxy_port=free_port() if via_nginx else 8080,
    )
    if provider:
        cluster.extra_env["NERACA_PROVIDER_URL"] = f"http://127.0.0.1:{free_port()}"
    receiver = WebhookReceiver() if webhooks else None
    started = time.monotonic()
    try:
        cluster.up()
        if provider:
            # Callbacks go where clients go: nginx, or the first web node (a kill there is retried by the
            # simulator, and the end sends what is still undelivered again).
            simulator = cluster.simulator_node(_base_urls(cluster)[0])
            simulator.start()
            simulator.wait_ready()
        data = seed(
            cluster.node_env(None),
            bin_dir,
            accounts=20,
            keys=16,
            webhook_url=receiver.url if receiver else None,
        )
        data["payout_share"] = payout_share
        if provider:
            data.update(_payout_setup(cluster, bin_dir, data))
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
        extra: dict[str, Any] = {}

        async def load() -> int:
            await asyncio.gather(
                *(_caller(i, cluster, data, books, deadline, seed_value) for i in range(callers))
            )
            await asyncio.to_thread(chaos_thread.join, 300)
            for node in cluster.nodes + ([cluster.simulator] if cluster.simulator else []):
                await asyncio.to_thread(node.wait_ready)
            extra["gave_up"] = books.gave_up
            retried = await _converge(cluster, data, books)
            assert cluster.primary is not None
            await _check_books(cluster.primary.dsn(), data["business_id"], books)
            if provider:
                extra.update(await _check_provider(cluster, data["business_id"], books))
                extra.update(await _check_payouts(cluster, data["business_id"], books))
            if receiver is not None:
                extra.update(
                    await _check_webhooks(
                        cluster.primary.dsn(),
                        data["business_id"],
                        data["webhook_endpoint_id"],
                        receiver,
                        books,
                    )
                )
            return retried

        try:
            retried = asyncio.run(load())
        finally:
            stop.set()
        verified = _verify(cluster, books)
        violations = books.violations + [f"chaos: {error}" for error in chaos.errors]
        refused = [*books.refusals]
        if via_nginx and extra["gave_up"]:
            # Behind nginx a node's death must be absorbed by nginx and the SDK's retries.
            refused.append(f"{extra['gave_up']} requests failed after the SDK's retries behind nginx")
        return {
            "seconds": seconds,
            "callers": callers,
            "via_nginx": via_nginx,
            "requests": books.requests,
            "acknowledged_writes": books.acknowledged_writes,
            "statements": books.statements,
            "malformed": books.malformed,
            "sdk_retries": books.sdk_retries,
            "gave_up_after_sdk_retries": extra["gave_up"],
            "retried_after_no_answer": retried,
            "kills": chaos.kills,
            "process_kills": sum(chaos.kills.values()),
            "postgres_crashes": chaos.postgres_crashes,
            "recovery_after_kill_s": {
                "p50": _percentile(chaos.recovery_after_kill, 0.5),
                "p99": _percentile(chaos.recovery_after_kill, 0.99),
            },
            "postgres_crash_to_first_write_s": chaos.postgres_crash_to_first_write,
            "postgres_restart_to_first_write_s": chaos.postgres_restart_to_first_write,
            "postgres_crash_to_first_write_median_s": (
                round(statistics.median(chaos.postgres_crash_to_first_write), 3)
                if chaos.postgres_crash_to_first_write
                else None
            ),
            **{k: v for k, v in extra.items() if k != "gave_up"},
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
        if receiver is not None:
            receiver.stop()


def run_from_environment(root: Path, bin_dir: Path) -> dict[str, Any]:
    """`make soak`'s run: SOAK_SECONDS, SOAK_CALLERS, SOAK_PG_CRASHES, SOAK_VIA_NGINX=1."""
    return run(
        root,
        bin_dir,
        seconds=float(os.environ.get("SOAK_SECONDS", "360")),
        callers=int(os.environ.get("SOAK_CALLERS", "64")),
        postgres_crashes=int(os.environ.get("SOAK_PG_CRASHES", "4")),
        provider=True,
        webhooks=True,
        via_nginx=os.environ.get("SOAK_VIA_NGINX") == "1",
    )


if __name__ == "__main__":
    import sys

    with scratch_dir("neraca-soak-") as scratch:
        summary = run_from_environment(scratch, Path(sys.executable).parent)
    print(json.dumps(summary))
