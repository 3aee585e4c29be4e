"""Helpers for the webhooks tests: a real receiver on 127.0.0.1 that behaves as told per path, and
the delivery work the worker would do, run in the test's own loop.

Receiver paths:

    /ok        200            /gone      410            /fail      500
    /redirect  302 elsewhere  /big       200 with 10 MB /hang      accepts, never answers
    /hang-first  never answers the first request, 200 to later ones

Every request is kept (path, headers, raw body) in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from portal.domains.webhooks import delivery
from portal.lib import sql


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int = 0
    requests: list[Received] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.base_events.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def start(self, tls: Any = None) -> Receiver:
        """Listen on a free port of 127.0.0.1 (over TLS with `tls`, an `ssl.SSLContext`)."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def wait_for(self, count: int, seconds: float = 30) -> None:
        async with asyncio.timeout(seconds):
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                _method, path, _version = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(Received(path, headers, body))
                self.arrived.set()
                if not await self._answer(path, writer):
                    return
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            asyncio.LimitOverrunError,
            asyncio.CancelledError,
        ):
            return
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, path: str, writer: asyncio.StreamWriter) -> bool:
        if path.startswith("/hang") and not (path.startswith("/hang-first") and len(self.to(path)) > 1):
            await asyncio.sleep(3600)
            return False
        if path.startswith("/big"):
            size = 10 * 1024 * 1024
            writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
            chunk = b"x" * 65536
            for _ in range(size // len(chunk)):
                writer.write(chunk)
                await writer.drain()
            return True
        if path.startswith("/redirect"):
            writer.write(b"HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\n\r\n")
        else:
            line = "200 OK"
            if path.startswith("/gone"):
                line = "410 Gone"
            elif path.startswith("/fail"):
                line = "500 Internal Server Error"
            text = b"thanks" if line.startswith("200") else b"no"
            writer.write(f"HTTP/1.1 {line}\r\nContent-Length: {len(text)}\r\n\r\n".encode() + text)
        await writer.drain()
        return True


async def pending_pairs(business_id: str | None = None) -> list[tuple[str, str]]:
    """Deliveries that are due now (what the queued jobs name)."""
    rows = await sql.fetch(
        "SELECT event_id, endpoint_id FROM webhook_delivery WHERE status = 'pending' "
        "AND next_attempt_at <= now() AND ($1::text IS NULL OR business_id = $1) ORDER BY created_at",
        business_id,
    )
    return [(r["event_id"], r["endpoint_id"]) for r in rows]


async def deliver_due(business_id: str | None = None, **kwargs: Any) -> list[delivery.Outcome]:
    return await delivery.deliver(await pending_pairs(business_id), **kwargs)


async def queued_jobs() -> list[dict[str, Any]]:
    """Payloads of the queued delivery jobs (pgqueuer's table)."""
    rows = await sql.fetch("SELECT payload FROM pgqueuer WHERE entrypoint = 'webhooks.deliver' ORDER BY id")
    return [json.loads(bytes(r["payload"])) for r in rows]


async def run_queued_jobs() -> int:
    """Run the delivery jobs that are due, as the worker would (each taken off the queue once)."""
    from portal.domains.webhooks import jobs

    rows = await sql.fetch(
        "DELETE FROM pgqueuer WHERE entrypoint = 'webhooks.deliver' AND execute_after <= now() "
        "RETURNING payload"
    )
    for row in rows:
        await jobs.deliver(json.loads(bytes(row["payload"])))
    return len(rows)


async def until(query: str, expected: Any, *args: Any, seconds: float = 30) -> None:
    """Poll `query` until it returns `expected` (work done by another task or process)."""
    value = None
    for _ in range(int(seconds * 20)):
        value = await sql.fetchval(query, *args)
        if value == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{query!r} gave {value!r}, not {expected!r}, after {seconds} s")


def self_signed_tls(folder: Any) -> Any:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (made by openssl)."""
    import ssl
    import subprocess

    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
