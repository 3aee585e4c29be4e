"""`neraca simulator`: serve the sandbox payment provider (its own app and database)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import click

from portal.lib.errors import StartupError

PARENT_ENV = "NERACA_SIMULATOR_PARENT_PID"


@click.command("simulator")
@click.option(
    "--host", default=None, help="Interface to listen on (default: from NERACA_PROVIDER_URL, 127.0.0.1)."
)
@click.option("--port", default=None, type=int, help="Port (default: from NERACA_PROVIDER_URL, 8001).")
def simulator(host: str | None, port: int | None) -> None:
    """Run the sandbox payment provider (VA, QRIS, cards, e-wallets, payouts, callbacks)."""
    import uvicorn

    from portal.db.bootstrap import RESOLVED_ENV, bootstrap_database
    from portal.server.logging import configure_logging
    from portal.settings import get_settings
    from portal.simulator.config import get_config

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    try:
        if not os.environ.get(RESOLVED_ENV):  # started alone; under `neraca run` the parent resolved it
            bootstrap_database(settings)
    except StartupError as exc:
        click.secho(f"neraca: {exc}", fg="red", err=True)
        sys.exit(2)
    _stop_with_parent()
    config = get_config()
    host = host or config.host
    port = port or config.port
    click.echo(f"Sandbox provider is serving on http://{host}:{port}  (control page: /control)")
    uvicorn.run(
        "portal.simulator.app:create_simulator_app",
        factory=True,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )


def _stop_with_parent() -> None:
    """Under `neraca run` (NERACA_SIMULATOR_PARENT_PID set), stop gracefully once that parent is gone,
    however it ended (its uvicorn re-raises the signal it stopped on, so its exit hooks may not run)."""
    parent = os.environ.get(PARENT_ENV)
    if not parent:
        return

    def watch() -> None:
        while os.getppid() == int(parent):
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


COMMANDS = [simulator]
