"""`neraca serve --workers 2` after faults: kill -9 of its process group leaves nothing serving, a
restart works at once, a process never stops an embedded database it did not start, and one web
process dying is replaced while the others serve."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.support.live_server import free_port

NERACA = str(Path(sys.executable).parent / "neraca")
WAIT = 120.0  # an upper bound only (a fresh data directory is initialised and migrated first)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def web_processes(supervisor: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(supervisor).children()
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:  # gone, or a zombie the supervisor has not reaped yet
            continue
        if "spawn" in command and "resource_tracker" not in command:
            found.append(child)
    return found


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def failed_login(base: str) -> int:
    """A write through the web processes: a failed sign-in is recorded (login_failure) before the 400."""
    with httpx.Client(base_url=base, timeout=10) as client:
        page = client.get("/login")
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert token, page.text[:300]
        response = client.post(
            "/login",
            data={
                "username": f"nobody-{uuid.uuid4().hex[:12]}",
                "password": "x" * 12,
                "otp": "123456",
                "_csrf_token": token.group(1),
            },
        )
        return response.status_code


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="neraca-supervisor-"))
    path.chmod(0o755)
    yield path
    # The embedded server of this directory outlives every neraca process here by design: stop it.
    pid_file = path / "pgdata" / "postmaster.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text().split()[0])
        if psutil.pid_exists(pid):
            os.kill(pid, signal.SIGQUIT)
            wait_for(lambda: not psutil.pid_exists(pid), "the test's embedded PostgreSQL stopped", 30)
    shutil.rmtree(path, ignore_errors=True)


def serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NERACA_DATA_DIR": str(data_dir), "NERACA_PORT": str(port)}
    for name in ("DATABASE_URL", "NERACA_RESOLVED_DATABASE_URL"):
        env.pop(name, None)
    # Its own session: the test kills the whole process group, as a supervisor's `kill -9 -PGID` would.
    return subprocess.Popen([NERACA, "serve", "--workers", "2"], env=env, start_new_session=True)


def postmaster(data_dir: Path) -> int | None:
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split()[0])
    return pid if psutil.pid_exists(pid) else None


def test_kill_9_of_the_group_restart_and_a_dying_web_process(data_dir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    first = serve(data_dir, port)
    processes: list[Any] = [first]
    try:
        wait_for(lambda: answers(f"{base}/readyz"), "the first server is ready")
        workers = web_processes(first.pid)
        assert len(workers) == 2
        database = postmaster(data_dir)
        assert database is not None

        # kill -9 of the process group: the web processes (each in its own group) die with their parent.
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        wait_for(lambda: not any(alive(w) for w in workers), "the web processes died with the supervisor", 15)
        assert not answers(f"{base}/healthz")

        # A process that attaches to the running server and exits never stops it (it did not start it).
        result = subprocess.run(
            [NERACA, "db-url"],
            env={
                **{k: v for k, v in os.environ.items() if k != "NERACA_RESOLVED_DATABASE_URL"},
                "NERACA_DATA_DIR": str(data_dir),
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert postmaster(data_dir) == database, "a process that only attached stopped the database"

        # The restart binds the port at once and the next write succeeds.
        second = serve(data_dir, port)
        processes.append(second)
        wait_for(lambda: answers(f"{base}/readyz"), "the restarted server is ready", 30)
        assert failed_login(base) == 400

        # A failed start (the port is taken) leaves the database and the running server alone.
        third = serve(data_dir, port)
        processes.append(third)
        assert third.wait(timeout=60) == 2
        assert postmaster(data_dir) == database
        assert failed_login(base) == 400

        # One web process dies: the supervisor starts another; the other one serves meanwhile.
        victim, survivor = web_processes(second.pid)
        victim.kill()
        wait_for(
            lambda: len([w for w in web_processes(second.pid) if alive(w)]) == 2, "a replacement started", 60
        )
        assert second.poll() is None and alive(survivor)
        replacement = next(w for w in web_processes(second.pid) if w.pid != survivor.pid)
        wait_for(
            lambda: any(c.laddr and c.laddr.port == port for c in replacement.net_connections("tcp")),
            "the replacement listens",
            60,
        )
        for _ in range(5):
            assert failed_login(base) == 400
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
