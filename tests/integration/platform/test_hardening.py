"""Smaller holes: /metrics only for local scrapers or a token, X-Forwarded-For only from trusted proxies,
plain-text e-mails not HTML-escaped, every header once, and a stalled request body cut off with 408."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from portal.server.middleware import body_deadline, forwarded_client, trusted_networks
from tests.support.settings import environment

NERACA = str(Path(sys.executable).parent / "neraca")


@asynccontextmanager
async def app_client(client_address: tuple[str, int] = ("127.0.0.1", 40000)) -> AsyncIterator[Any]:
    """A freshly built app (it reads the settings in force) behind a client with the given address."""
    from portal.server.app import create_app

    transport = httpx.ASGITransport(app=create_app(run_worker=False), client=client_address)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


@pytest.mark.parametrize("path", ["/metrics", "/metrics/", "/metrics%2F"])
async def test_metrics_answer_only_local_requests_that_came_through_no_proxy(db: str, path: str) -> None:
    async with app_client() as local:
        assert (await local.get(path)).status_code == 200
        proxied = await local.get(path, headers={"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status_code == 404 and "neraca_http_requests_total" not in proxied.text
    async with app_client(("203.0.113.9", 40000)) as remote:
        response = await remote.get(path)
        assert response.status_code == 404 and "neraca_http_requests_total" not in response.text


async def test_metrics_token_opens_metrics_to_a_remote_scraper_and_closes_them_to_everyone_else(
    db: str,
) -> None:
    with environment(NERACA_METRICS_TOKEN="scrape-me-0123456789"):
        async with app_client(("203.0.113.9", 40000)) as remote:
            assert (await remote.get("/metrics")).status_code == 404
            wrong = await remote.get("/metrics/", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 404
            right = await remote.get("/metrics/", headers={"Authorization": "Bearer scrape-me-0123456789"})
            assert right.status_code == 200 and "neraca_http_requests_total" in right.text
        async with app_client() as local:
            assert (await local.get("/metrics")).status_code == 404  # with a token, only the token opens


def test_forwarded_for_is_read_from_the_right_and_only_from_trusted_proxies() -> None:
    proxies = trusted_networks(["127.0.0.1", "10.0.0.0/8"])
    assert forwarded_client("127.0.0.1", "1.2.3.4", ()) == "127.0.0.1"  # default: nobody is trusted
    assert forwarded_client("198.51.100.1", "1.2.3.4", proxies) == "198.51.100.1"  # not a proxy of ours
    assert forwarded_client("127.0.0.1", "1.2.3.4", proxies) == "1.2.3.4"
    # The client wrote its own X-Forwarded-For; nginx appended the real address: the real one wins.
    assert forwarded_client("127.0.0.1", "9.9.9.9, 1.2.3.4", proxies) == "1.2.3.4"
    assert forwarded_client("127.0.0.1", "1.2.3.4, 10.1.2.3", proxies) == "1.2.3.4"
    assert forwarded_client("127.0.0.1", "not-an-ip", proxies) == "127.0.0.1"
    assert forwarded_client("127.0.0.1", "1.2.3.4, garbage", proxies) == "127.0.0.1"
    assert forwarded_client("::1", "2001:db8::7", trusted_networks(["::1"])) == "2001:db8::7"


async def _failed_login_ip(test_client: Any, forwarded_for: str) -> str:
    from portal.lib import sql
    from tests.support.identity import csrf_from

    token = csrf_from((await test_client.get("/login")).text)
    response = await test_client.post(
        "/login",
        data={"username": "nobody-at-all", "password": "x" * 12, "otp": "123456", "_csrf_token": token},
        headers={"X-Forwarded-For": forwarded_for},
    )
    assert response.status_code == 400
    return str(await sql.fetchval("SELECT ip FROM login_failure ORDER BY at DESC LIMIT 1"))


async def test_login_throttling_records_the_forwarded_address_only_from_a_trusted_proxy(db: str) -> None:
    async with app_client() as untrusted:
        assert await _failed_login_ip(untrusted, "1.2.3.4") == "127.0.0.1"
    with environment(NERACA_TRUSTED_PROXIES="127.0.0.1/32"):
        async with app_client() as behind_nginx:
            assert await _failed_login_ip(behind_nginx, "9.9.9.9, 1.2.3.4") == "1.2.3.4"


def test_a_bad_trusted_proxies_setting_is_one_clear_sentence() -> None:
    result = subprocess.run(
        [NERACA, "db-url"],
        env={**os.environ, "NERACA_TRUSTED_PROXIES": "127.0.0.1, nginx.local"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "NERACA_TRUSTED_PROXIES" in result.stderr and "nginx.local" in result.stderr


def test_plain_text_mail_is_not_html_escaped(db: str) -> None:
    from portal.domains.identity.mail import render

    context = {"full_name": "Tom & <Jerry>", "username": "o'brien", "link": "http://x/?a=1&b=2", "hours": 24}
    subject, text, html = render("enroll", "en", context)
    assert "Tom & <Jerry>" in text and "o'brien" in text and "http://x/?a=1&b=2" in text
    assert "&amp;" not in text and "&lt;" not in text and "&#39;" not in text
    assert "Tom &amp; &lt;Jerry&gt;" in html and "<Jerry>" not in html
    assert "&amp;" not in subject


async def test_every_response_header_is_sent_once(client: Any, db: str) -> None:
    from tests.support.identity import make_business, signed_in_client

    _, owner = await make_business()
    await signed_in_client(client, owner)
    for url in ("/", "/login", "/healthz", "/activity/export.csv", "/api/v1/me", "/no-such-page"):
        response = await client.get(url)
        names = [name.lower() for name, _ in response.headers.raw if name.lower() != b"set-cookie"]
        assert len(names) == len(set(names)), (url, response.headers.raw)
        content_type = response.headers.get("content-type", "")
        assert content_type.count("charset") <= 1, (url, content_type)


# ---- a stalled request body, against `neraca serve` -----------------------------------------------


@contextmanager
def neraca_serve(database: str, tmp_path: Path, **env: str) -> Iterator[int]:
    from tests.support.live_server import free_port

    port = free_port()
    full_env = {
        **os.environ,
        "DATABASE_URL": database,
        "NERACA_PORT": str(port),
        "NERACA_DATA_DIR": str(tmp_path),
        **env,
    }
    full_env.pop("NERACA_RESOLVED_DATABASE_URL", None)
    server = subprocess.Popen([NERACA, "serve", "--no-migrate"], env=full_env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, "neraca serve exited early"
            assert time.monotonic() < deadline, "neraca serve did not come up"
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def _stalled_request(port: int, head: bytes) -> bytes:
    """Send the head and 10 bytes of a 1000-byte body, then nothing; return what the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head + b"Content-Length: 1000\r\nConnection: keep-alive\r\n\r\n" + b"a=1&b=2&c=")
        received = b""
        while True:  # until the server closes the connection (the socket timeout fails the test)
            chunk = conn.recv(65536)
            if not chunk:
                return received
            received += chunk


def test_a_large_declared_body_gets_time_for_its_size() -> None:
    assert (
        body_deadline(30, None) == 30
        and body_deadline(30, "nonsense") == 30
        and body_deadline(30, "-5") == 30
    )
    assert body_deadline(30, str(10 * 1024 * 1024)) == 30 + 160  # 10 MB at 64 KiB/s
    assert body_deadline(30, str(10**12)) == 30 + 1024  # a huge claim buys no more than 64 MB's worth


@pytest.mark.parametrize(
    "head",
    [
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n",
        b"POST /api/v1/transfers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n",
    ],
)
def test_a_stalled_request_body_is_cut_off_with_408(database: str, tmp_path: Path, head: bytes) -> None:
    with neraca_serve(database, tmp_path, NERACA_BODY_TIMEOUT="1") as port:
        answer = _stalled_request(port, head)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
        # The server is still healthy for everyone else.
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
