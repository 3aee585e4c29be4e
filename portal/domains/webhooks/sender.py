"""A small HTTP/1.1 client for webhook POSTs: keep-alive pools per endpoint, responses parsed by
httptools (the parser uvicorn uses), at most the first 1 KB of an answer read.

httpx cost several milliseconds of CPU per request, which capped one worker process at a few hundred
deliveries a second; a delivery needs far less of HTTP: one POST, the status, the first kilobyte.
Connections go to the address `urls.resolve` checked (TLS still verifies the host name, sent as SNI).
Redirects are never followed: a 3xx is just a status.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field

import httptools

from portal.domains.webhooks.urls import Target

READ_CHUNK = 65536


class ReceiverError(Exception):
    """The receiver closed the connection or sent something that is not HTTP."""


@dataclass
class _Answer:
    status: int | None = None
    body: bytearray = field(default_factory=bytearray)
    headers_done: bool = False
    complete: bool = False

    # httptools callbacks
    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, chunk: bytes) -> None:
        self.body += chunk

    def on_message_complete(self) -> None:
        self.complete = True


_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class EndpointPool:
    """Keep-alive connections of one endpoint (per worker process), at most `limit` at a time."""

    def __init__(self, limit: int) -> None:
        self.slots = asyncio.Semaphore(limit)
        self.idle: dict[tuple[str, int, str, str], list[_Connection]] = {}

    async def close(self) -> None:
        for connections in self.idle.values():
            for _reader, writer in connections:
                writer.close()
        self.idle.clear()


_tls: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    global _tls
    if _tls is None:
        _tls = ssl.create_default_context()
    return _tls


async def post(
    pool: EndpointPool, target: Target, headers: dict[str, str], body: bytes, cap: int
) -> tuple[int, bytes]:
    """POST `body` to `target`; return the status and up to `cap` bytes of the answer's body.

    Raises ReceiverError, OSError or ssl.SSLError; the caller bounds the time.
    """
    key = (target.address, target.port, target.scheme, target.host)
    request = _request_bytes(target, headers, body)
    async with pool.slots:
        idle = pool.idle.setdefault(key, [])
        while idle:
            # A kept-alive connection may have been closed by the receiver meanwhile: then try a new one.
            connection = idle.pop()
            try:
                return await _exchange(pool, key, connection, request, cap)
            except (ReceiverError, OSError) as exc:
                if not isinstance(exc, _NothingBack):
                    raise
        connection = await asyncio.open_connection(
            target.address,
            target.port,
            ssl=_tls_context() if target.scheme == "https" else None,
            server_hostname=target.host if target.scheme == "https" else None,
        )
        return await _exchange(pool, key, connection, request, cap)


class _NothingBack(ReceiverError):
    """The connection closed before a single byte of an answer."""


def _request_bytes(target: Target, headers: dict[str, str], body: bytes) -> bytes:
    default_port = 443 if target.scheme == "https" else 80
    host = target.host if target.port == default_port else f"{target.host}:{target.port}"
    if ":" in target.host and not target.host.startswith("["):
        host = f"[{target.host}]" if target.port == default_port else f"[{target.host}]:{target.port}"
    lines = [f"POST {target.path} HTTP/1.1", f"host: {host}", f"content-length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _exchange(
    pool: EndpointPool, key: tuple[str, int, str, str], connection: _Connection, request: bytes, cap: int
) -> tuple[int, bytes]:
    reader, writer = connection
    reusable = False
    try:
        writer.write(request)
        await writer.drain()
        answer = _Answer()
        parser = httptools.HttpResponseParser(answer)
        received = 0
        while not answer.complete and len(answer.body) < cap:
            chunk = await reader.read(READ_CHUNK)
            if not chunk:
                if received == 0:
                    raise _NothingBack("the connection closed before an answer")
                if answer.headers_done and not answer.complete:
                    break  # an answer without a length ends with the connection
                raise ReceiverError("the connection closed in the middle of the answer")
            received += len(chunk)
            try:
                parser.feed_data(chunk)
            except httptools.HttpParserUpgrade:
                break
            except httptools.HttpParserError as exc:
                raise ReceiverError(f"not an HTTP answer: {exc}") from None
        if not answer.headers_done:
            raise ReceiverError("the answer has no complete header")
        status = parser.get_status_code()
        reusable = answer.complete and parser.should_keep_alive()
        return status, bytes(answer.body[:cap])
    finally:
        if reusable:
            pool.idle.setdefault(key, []).append(connection)
        else:
            writer.close()
