"""The app under uvicorn in a subprocess on a free 127.0.0.1 port (a real socket, a real HTTP stack)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(
    env: dict[str, str] | None = None, *, workers: int = 1, worker: bool = False
) -> Iterator[str]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    child_env = {
        **os.environ,
        "NERACA_PORT": str(port),
        "NERACA_BASE_URL": base_url,
        "NERACA_WORKER_IN_PROCESS": "1" if worker else "0",
        **(env or {}),
    }
    log_path = Path(child_env.get("NERACA_DATA_DIR", "/tmp")) / f"live-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "portal.server.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--no-access-log",
            ],
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"live server exited early:\n{log_path.read_text()[-4000:]}")
                try:
                    if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"live server did not start:\n{log_path.read_text()[-4000:]}")
                time.sleep(0.1)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
