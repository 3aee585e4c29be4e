"""The sandbox provider in a subprocess on a free 127.0.0.1 port, for tests that talk to it over HTTP.

    with running_simulator(callback_url=receiver.url) as sim:
        answer = sim.call("POST", "/v1/payins", {...})      # signed, X-EXTERNAL-ID = a new key
        sim.control("POST", f"/control/api/payins/{pid}/pay")

It needs the test PostgreSQL (the `database` fixture) and uses a database of its own on that server,
emptied when the simulator starts unless `fresh=False`. `CallbackReceiver` is a small HTTP server on
127.0.0.1 that records what it is sent and answers with scripted status codes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from portal.lib import snap
from tests.support.live_server import free_port

SECRET = "simulator-test-secret-0123456789"
CALLBACK_SECRET = "simulator-test-callback-secret-0123456789"
PARTNER_ID = "neraca"


def _server_dsn() -> str:
    from portal.db.bootstrap import database_url

    return database_url()


def drop_database(name: str) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(dsn=_server_dsn())
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    # Its own thread: the caller may be inside the test session's running event loop.
    worker = threading.Thread(target=lambda: asyncio.run(go()))
    worker.start()
    worker.join()


@dataclass
class Simulator:
    url: str
    env: dict[str, str]
    log_path: Path
    secret: str = SECRET
    callback_secret: str = CALLBACK_SECRET
    partner_id: str = PARTNER_ID
    process: subprocess.Popen[bytes] | None = None
    # One client for every call: httpx's module functions build a new client (and TLS context) per call.
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept open for the child's lifetime)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "portal.simulator"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"simulator exited early:\n{self.log_path.read_text()[-4000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"simulator did not start:\n{self.log_path.read_text()[-4000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def signed_headers(self, method: str, path: str, body: bytes, key: str | None = None) -> dict[str, str]:
        return snap.headers(self.secret, self.partner_id, key or f"k-{uuid.uuid4().hex}", method, path, body)

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        timeout: float = 10,
    ) -> httpx.Response:
        """A signed call, as Neraca makes it (minified JSON; GETs sign an empty body)."""
        raw = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
        headers = self.signed_headers(method, path, raw, key)
        return self.http.request(method, self.url + path, content=raw, headers=headers, timeout=timeout)

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.request(method, self.url + path, json=body, timeout=10)

    def wait_for(self, predicate: Any, *, timeout: float = 20, interval: float = 0.1) -> Any:
        """Poll `predicate()` until it returns something truthy (a condition, never a time assertion)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            time.sleep(interval)


@contextmanager
def running_simulator(
    *,
    callback_url: str = "http://127.0.0.1:9",
    database: str = "neraca_simulator_test",
    fresh: bool = True,
    env: dict[str, str] | None = None,
) -> Iterator[Simulator]:
    """Start the simulator; `env` overrides (e.g. the secrets Neraca's settings use)."""
    if fresh:
        drop_database(database)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    child_env = {
        **os.environ,
        "NERACA_PROVIDER_URL": url,
        "NERACA_PROVIDER_PARTNER_ID": PARTNER_ID,
        "NERACA_PROVIDER_SECRET": SECRET,
        "NERACA_PROVIDER_CALLBACK_SECRET": CALLBACK_SECRET,
        "NERACA_PROVIDER_CALLBACK_URL": callback_url,
        "NERACA_SIMULATOR_DATABASE": database,
        "NERACA_SIMULATOR_TIMEOUT_HOLD_S": "5",
        "NERACA_SIMULATOR_POLL_S": "0.1",
        **(env or {}),
    }
    sim = Simulator(
        url=url,
        env=child_env,
        log_path=Path(child_env.get("NERACA_DATA_DIR", "/tmp")) / f"simulator-{port}.log",
        secret=child_env["NERACA_PROVIDER_SECRET"],
        callback_secret=child_env["NERACA_PROVIDER_CALLBACK_SECRET"],
        partner_id=child_env["NERACA_PROVIDER_PARTNER_ID"],
    )
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()
        sim.http.close()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class CallbackReceiver:
    """An HTTP server on 127.0.0.1 recording every POST; `statuses` scripts the next answers (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> CallbackReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                answer = b'{"status":"accepted"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.statuses.clear()

    def of_type(self, event_type: str) -> list[Received]:
        with self.lock:
            return [item for item in self.received if item.json.get("type") == event_type]
