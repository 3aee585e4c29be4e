"""create_simulator_app(): the sandbox provider as a Litestar app of its own, on its own database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog
from litestar import Litestar, Request, Response, get
from litestar.exceptions import HTTPException

from portal.simulator import api, control, db
from portal.simulator.config import get_config
from portal.simulator.errors import SimError
from portal.simulator.services import work

log = structlog.get_logger("neraca.simulator")


def _sim_error(_request: Request[Any, Any, Any], exc: SimError) -> Response[bytes]:
    return api.json_response(exc.body(), exc.status)


def _http_error(_request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
    return api.json_response({"code": code, "message": str(exc.detail)}, exc.status_code)


def _unexpected(_request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("simulator.unexpected_error", exc_info=exc)
    return api.json_response({"code": "internal_error", "message": "The simulator failed; see its log."}, 500)


@get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def create_simulator_app(*, server_dsn: str | None = None, run_worker: bool = True) -> Litestar:
    """The simulator. `server_dsn` is Neraca's PostgreSQL (default: the DSN in force for this process)."""
    from portal.simulator import pages

    config = get_config()

    @contextlib.asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        from portal.db.bootstrap import database_url

        dsn = await db.ensure_database(server_dsn or database_url(), config.database_name)
        pool = await db.open_pool(dsn)
        stop = asyncio.Event()
        tasks = []
        if run_worker:
            tasks = [
                asyncio.create_task(work.loop_due_work(pool, stop, config.poll_interval_s)),
                asyncio.create_task(work.loop_callbacks(pool, stop, config.poll_interval_s)),
            ]
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(task, 15)
            await db.close_pool()

    return Litestar(
        route_handlers=[healthz, *api.ROUTES, control.ROUTER, *pages.ROUTES],
        lifespan=[lifespan],
        exception_handlers={SimError: _sim_error, HTTPException: _http_error, Exception: _unexpected},
        openapi_config=None,
    )
