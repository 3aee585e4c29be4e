"""A small real HTTP proxy on 127.0.0.1 that misbehaves on request, for testing clients' retries.

It runs its own event loop in a daemon thread (so blocking clients in the test thread can use it) and
forwards each request's bytes unchanged (the raw path and body, so signatures still verify) to the
upstream server, one upstream connection per request. Tell it what to do to the next matching
requests with `proxy.plan(match, *faults)`; requests without a planned fault pass through.

Faults:
- `DROP_AFTER`: forward, read the server's whole response, then close the client's connection without
  a byte — the server committed, the client sees a connection error.
- `HANG_AFTER`: forward, read the response, then say nothing until the client gives up (a timeout).
- `DROP_BEFORE`: close the connection without forwarding.
- `Reply(status, headers)`: answer with `status` (a problem+json body) without forwarding.

`proxy.log` records every request: method, target, Request-Id, what was done, the status the client
got (None if none) and whether the server's answer was an idempotent replay.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DROP_AFTER = "drop-after"
HANG_AFTER = "hang-after"
DROP_BEFORE = "drop-before"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Logged:
    method: str
    target: str
    request_id: str | None
    action: str
    status: int | None = None
    replayed: bool = False
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Plan:
    method: str
    prefix: str
    faults: list[str | Reply]


_REASONS = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class FaultyProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.log: list[Logged] = []
        self._plans: list[_Plan] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, name="faulty-proxy", daemon=True)
        self.url = ""

    # --- control (from the test thread) ---------------------------------------------------------------

    def plan(self, match: str, *faults: str | Reply) -> None:
        """Apply `faults` in order to the next requests matching `match` ("POST /api/v1/transfers")."""
        method, _, prefix = match.partition(" ")
        with self._lock:
            self._plans.append(_Plan(method.upper(), prefix, list(faults)))

    def reset(self) -> None:
        with self._lock:
            self._plans.clear()
            self.log.clear()

    def requests(self, match: str) -> list[Logged]:
        method, _, prefix = match.partition(" ")
        return [e for e in self.log if e.method == method.upper() and e.target.startswith(prefix)]

    def _next_fault(self, method: str, target: str) -> str | Reply | None:
        with self._lock:
            for plan in self._plans:
                if plan.faults and plan.method == method and target.startswith(plan.prefix):
                    return plan.faults.pop(0)
        return None

    # --- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> FaultyProxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop
        )
        self._server = future.result(timeout=10)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
                for writer in list(self._writers):
                    writer.transport.abort()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    # --- the proxy ------------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:  # keep-alive: one request after another on the client's connection
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                method, target, _version = request_line.split(" ", 2)
                headers = {}
                for line in header_lines:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                entry = Logged(method, target, headers.get("request-id"), "pass")
                self.log.append(entry)
                fault = self._next_fault(method, target)
                if isinstance(fault, Reply):
                    entry.action, entry.status = f"reply {fault.status}", fault.status
                    writer.write(_problem(fault))
                    await writer.drain()
                    continue
                if fault == DROP_BEFORE:
                    entry.action = DROP_BEFORE
                    writer.transport.abort()
                    return
                response = await self._forward(head, body)
                status = int(response.split(b" ", 2)[1])
                replayed = b"\r\nidempotent-replayed: true" in response.split(b"\r\n\r\n", 1)[0].lower()
                entry.replayed = replayed
                if fault == DROP_AFTER:
                    entry.action = DROP_AFTER
                    writer.transport.abort()
                    return
                if fault == HANG_AFTER:
                    entry.action = HANG_AFTER
                    await reader.read()  # until the client gives up and closes
                    writer.transport.abort()
                    return
                entry.status = status
                writer.write(response)
                await writer.drain()
                if b"\r\nconnection: close" in response.split(b"\r\n\r\n", 1)[0].lower():
                    writer.close()
                    return
        finally:
            self._writers.discard(writer)

    async def _forward(self, head: bytes, body: bytes) -> bytes:
        """Send the request unchanged except `Connection: close`; read the whole response (until EOF)
        and return it re-framed with a Content-Length, so the client's connection can be kept alive."""
        lines = [
            line
            for line in head.decode("latin-1").split("\r\n")
            if line and not line.lower().startswith(("connection:", "keep-alive:"))
        ]
        upstream_head = ("\r\n".join(lines) + "\r\nConnection: close\r\n\r\n").encode("latin-1")
        up_reader, up_writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        try:
            up_writer.write(upstream_head + body)
            await up_writer.drain()
            raw = await up_reader.read()
        finally:
            up_writer.close()
        response_head, _, response_body = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = response_head.split(b"\r\n")
        kept = [
            h
            for h in header_lines
            if not h.lower().startswith((b"connection:", b"content-length:", b"transfer-encoding:"))
        ]
        if any(h.lower().startswith(b"transfer-encoding:") for h in header_lines):
            response_body = _dechunk(response_body)
        kept.append(b"content-length: " + str(len(response_body)).encode())
        return b"\r\n".join([status_line, *kept]) + b"\r\n\r\n" + response_body


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)


def _problem(reply: Reply) -> bytes:
    code = {429: "rate_limited", 503: "service_unavailable"}.get(reply.status, "proxy_error")
    body = json.dumps(
        {
            "type": "about:blank",
            "title": _REASONS.get(reply.status, "Error"),
            "status": reply.status,
            "detail": "Injected by the test proxy.",
            "code": code,
        }
    ).encode()
    headers = {"Content-Type": "application/problem+json", "Content-Length": str(len(body)), **reply.headers}
    head = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Error')}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    return head.encode("latin-1") + b"\r\n" + body


@contextmanager
def faulty_proxy(upstream: str) -> Iterator[FaultyProxy]:
    proxy = FaultyProxy(upstream).start()
    try:
        yield proxy
    finally:
        proxy.stop()
