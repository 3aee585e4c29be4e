"""`neraca` commands: run, serve, worker, migrate, demo, db-url (later issues add more here)."""

from __future__ import annotations

import asyncio
import errno
import functools
import importlib
import importlib.util
import os
import pkgutil
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from portal.lib.errors import StartupError
from portal.lib.sql import engine

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn StartupError into one clear sentence on stderr and exit code 2 (never a bare traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except StartupError as exc:
            click.secho(f"neraca: {exc}", fg="red", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _bootstrap() -> str:
    from portal.db.bootstrap import bootstrap_database
    from portal.server.logging import configure_logging
    from portal.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return bootstrap_database(settings)


def _migrate() -> list[str]:
    from portal.db.migrate import migrate

    async def go() -> list[str]:
        await engine().start_connection_pool(min_size=1, max_size=2)
        try:
            return await migrate()
        finally:
            await engine().close_connection_pool()

    try:
        return asyncio.run(go())
    except RuntimeError as exc:
        raise StartupError(f"Migrations could not be applied: {exc}") from None


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(
                    f"Port {port} on {host} is already in use. Stop the program using it, or choose another "
                    f"port with NERACA_PORT (for example NERACA_PORT={port + 1})."
                ) from None
            raise StartupError(f"Cannot listen on {host}:{port}: {exc.strerror}.") from None


def _load_demo() -> None:
    from portal.demo import load_demo

    async def go() -> list[str]:
        await engine().start_connection_pool(min_size=1, max_size=4)
        try:
            return await load_demo()
        finally:
            await engine().close_connection_pool()

    for line in asyncio.run(go()):
        click.echo(line)


def _start_simulator() -> None:
    """The sandbox provider as a child process (`neraca simulator`); it stops itself when `run` ends."""
    import atexit
    import subprocess

    from portal.simulator.config import get_config

    config = get_config()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        if probe.connect_ex((config.host, config.port)) == 0:
            click.echo(f"A sandbox provider already answers on {config.public_url}; not starting another.")
            return
    child = subprocess.Popen(
        [sys.executable, "-m", "portal.simulator"],
        env={**os.environ, "NERACA_SIMULATOR_PARENT_PID": str(os.getpid())},
    )

    def stop() -> None:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()

    atexit.register(stop)
    _wait_for_simulator(config.host, config.port, child)


def _wait_for_simulator(host: str, port: int, child: Any, timeout: float = 30.0) -> None:
    """Until the child answers on its port (bounded): what comes next may call the provider."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and child.poll() is None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    click.echo("The sandbox provider did not start; top-ups cannot be paid until it runs.")


def _serve(*, worker: bool, workers: int = 1) -> None:
    import uvicorn

    from portal.settings import get_settings

    settings = get_settings()
    _check_port(settings.host, settings.port)
    os.environ["NERACA_WORKER_IN_PROCESS"] = "1" if worker else "0"
    click.echo(f"Neraca is serving on {settings.base_url}  (Ctrl-C to stop)")
    if workers > 1:
        _serve_processes(settings.host, settings.port, workers)
        return
    uvicorn.run(
        "portal.server.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # the app resolves X-Forwarded-For (NERACA_TRUSTED_PROXIES only)
        timeout_graceful_shutdown=10,
    )


def _uvicorn_config() -> Any:
    import uvicorn

    return uvicorn.Config(
        "portal.server.app:create_app",
        factory=True,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # the app resolves X-Forwarded-For (NERACA_TRUSTED_PROXIES only)
        timeout_graceful_shutdown=10,
    )


PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux `prctl(PR_SET_PDEATHSIG)`): a
    supervisor killed with -9 must not leave web processes serving on the port, where a restart cannot
    bind and the database would be stopped under them. If the parent is already gone, exit now."""
    import ctypes
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _reuseport_process(host: str, port: int, parent_pid: int) -> None:
    """One web process with its own listening socket on the shared port (SO_REUSEPORT)."""
    import uvicorn

    die_with_parent(parent_pid)
    os.setpgrp()  # Ctrl-C reaches the supervisor only; it forwards one SIGTERM (a second signal skips drain)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    listener.listen(2048)
    uvicorn.Server(_uvicorn_config()).run(sockets=[listener])


# A web process that dies is started again; more than this many restarts within the window means it
# cannot run (a broken configuration, say), and the supervisor stops rather than loop.
RESTART_LIMIT = 5
RESTART_WINDOW = 60.0


def _serve_processes(host: str, port: int, workers: int) -> None:
    """N web processes, each with its own SO_REUSEPORT socket so the kernel spreads connections evenly
    (with one shared accept socket a single process took nearly every connection of a burst). A web
    process that dies is replaced (the others keep serving meanwhile); the web processes die with the
    supervisor (`die_with_parent`), so killing it with -9 leaves nothing serving on the port."""
    import multiprocessing
    import time

    context = multiprocessing.get_context("spawn")

    def start_one() -> Any:
        process = context.Process(target=_reuseport_process, args=(host, port, os.getpid()))
        process.start()
        return process

    processes = [start_one() for _ in range(workers)]
    stopping = False
    restarts: list[float] = []

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    failed = False
    while any(process.is_alive() for process in processes):
        for index, process in enumerate(processes):
            process.join(timeout=0.5)
            if process.exitcode is None or stopping:
                continue
            # A web process ended without being asked to: replace it, unless it keeps dying.
            now = time.monotonic()
            restarts = [at for at in restarts if now - at < RESTART_WINDOW] + [now]
            if len(restarts) > RESTART_LIMIT:
                failed = True
                click.secho(
                    f"neraca: web processes exited {len(restarts)} times within {RESTART_WINDOW:.0f} s "
                    f"(last exit code {process.exitcode}); stopping.",
                    err=True,
                )
                stop(signal.SIGTERM, None)
                break
            click.secho(
                f"neraca: a web process exited with code {process.exitcode}; starting another.", err=True
            )
            processes[index] = start_one()
    if failed:
        sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="neraca-portal")
def cli() -> None:
    """Neraca — a Balance Management System for Indonesian businesses."""


@cli.command()
@click.option("--demo/--no-demo", default=False, help="Load the demo data first (only once per database).")
@friendly_errors
def run(demo: bool) -> None:
    """Migrate, then serve the portal with the job worker in the same process."""
    _bootstrap()
    _migrate()
    # The simulator first: the demo opens its pending top-up's virtual account at the provider.
    _start_simulator()
    if demo:
        _load_demo()
    _serve(worker=True)


@cli.command()
@click.option("--workers", default=1, show_default=True, help="Web worker processes.")
@click.option("--migrate/--no-migrate", default=True, help="Apply pending migrations before serving.")
@friendly_errors
def serve(workers: int, migrate: bool) -> None:
    """Serve the portal and API only (run `neraca worker` for jobs)."""
    _bootstrap()
    if migrate:
        _migrate()
    _serve(worker=False, workers=workers)


@cli.command()
@friendly_errors
def worker() -> None:
    """Run the job worker until interrupted."""
    _bootstrap()

    async def go() -> None:
        from portal.db.migrate import pending_migrations
        from portal.lib.sql import POOL_OPTIONS
        from portal.worker import run_worker

        await engine().start_connection_pool(min_size=1, max_size=4, **POOL_OPTIONS)
        try:
            pending = await pending_migrations()
            if pending:
                raise StartupError(
                    f"{len(pending)} migration(s) are not applied yet: run `neraca migrate` first."
                )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await run_worker(stop)
        finally:
            await engine().close_connection_pool()

    asyncio.run(go())


@cli.command()
@friendly_errors
def migrate() -> None:
    """Apply every pending migration."""
    _bootstrap()
    ran = _migrate()
    click.echo(f"Applied {len(ran)} migration(s)." if ran else "The database is up to date.")


@cli.command()
@friendly_errors
def demo() -> None:
    """Load the demo data (idempotent: a second run changes nothing)."""
    _bootstrap()
    _migrate()
    _load_demo()


@cli.command("db-url")
@friendly_errors
def db_url() -> None:
    """Print the database URL in use (starting the embedded server if needed)."""
    click.echo(_bootstrap())


def _register_domain_commands() -> None:
    """Domains add their own commands in `portal/domains/<name>/cli.py` as a `COMMANDS` list."""
    import portal.domains

    for module in sorted(pkgutil.iter_modules(portal.domains.__path__), key=lambda m: m.name):
        name = f"portal.domains.{module.name}.cli"
        if module.ispkg and importlib.util.find_spec(name) is not None:
            for command in getattr(importlib.import_module(name), "COMMANDS", []):
                cli.add_command(command)


_register_domain_commands()
cli.add_command(importlib.import_module("portal.simulator.cli").simulator)
