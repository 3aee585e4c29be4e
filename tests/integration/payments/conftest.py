"""Payments against the sandbox provider over real sockets: the run's simulator (started with the database),
Neraca's app served by uvicorn in this event loop (so the simulator's callbacks reach it and share the
test's connection pool), and the job worker running beside it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from portal.settings import get_settings
from tests.support.live_server import free_port
from tests.support.provider import DISCARD, Harness


@pytest.fixture(scope="package")
async def neraca_server(database: str) -> AsyncIterator[str]:
    """Neraca's app on a real 127.0.0.1 port, served in the session's event loop, with the job worker.

    Package scope: a worker left running for the rest of the session would take other tests' jobs."""
    from portal.server.app import create_app
    from portal.worker import run_worker

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(run_worker=False), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes a flag, not an event)
        await asyncio.sleep(0.05)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(stop))
    yield f"http://127.0.0.1:{port}"
    stop.set()
    server.should_exit = True
    with contextlib.suppress(Exception):
        await asyncio.wait_for(worker, timeout=15)
    await serving


@pytest.fixture
async def harness(db: str, neraca_server: str) -> AsyncIterator[Harness]:
    """The simulator with normal rails and callbacks sent to Neraca; reset to discard afterwards."""
    sim_url = get_settings().provider.url
    async with httpx.AsyncClient(timeout=30) as http:
        h = Harness(sim_url, neraca_server, http)
        for rail in await h.control("GET", "/control/api/rails"):
            await h.control("POST", f"/control/api/rails/{rail}", {"mode": "normal"})
        await h.control("POST", "/control/api/callbacks/mode", {"mode": "normal"})
        await h.control("POST", "/control/api/callbacks/url", {"url": neraca_server})
        try:
            yield h
        finally:
            await h.control("POST", "/control/api/callbacks/url", {"url": DISCARD})
            await h.control("POST", "/control/api/callbacks/mode", {"mode": "normal"})
