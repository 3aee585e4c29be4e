"""The job worker: pgqueuer's QueueManager over every domain's registered jobs."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import json
import pkgutil
from collections.abc import Awaitable, Callable
from datetime import timedelta

import asyncpg
import structlog
from pgqueuer.core.executors import DatabaseRetryEntrypointExecutor, EntrypointExecutorParameters
from pgqueuer.db import AsyncpgDriver
from pgqueuer.models import Job, Schedule
from pgqueuer.qm import QueueManager
from pgqueuer.queries import Queries
from pgqueuer.sm import SchedulerManager

import portal.domains
from portal.db.bootstrap import database_url
from portal.lib.jobs import PERIODIC, REGISTRY, JobSpec, PeriodicSpec, set_worker_stop
from portal.lib.sql import CONNECTION_LOST

log = structlog.get_logger("neraca.worker")


def discover_jobs() -> dict[str, JobSpec]:
    """Import every domain's `jobs` module so its `@job` handlers register."""
    for module in pkgutil.iter_modules(portal.domains.__path__):
        name = f"portal.domains.{module.name}.jobs"
        if module.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    return REGISTRY


def _wrap(spec: JobSpec) -> Callable[[Job], Awaitable[None]]:
    async def run(job: Job) -> None:
        payload = json.loads(job.payload or b"{}")
        structlog.contextvars.bind_contextvars(job=spec.name, job_id=int(job.id))
        try:
            await spec.handler(payload)
        except Exception:
            log.exception("job failed", attempts=job.attempts)
            raise
        finally:
            structlog.contextvars.unbind_contextvars("job", "job_id")

    return run


def build_queue_manager(connection: asyncpg.Connection) -> QueueManager:
    qm = QueueManager(Queries(AsyncpgDriver(connection)))
    for spec in discover_jobs().values():

        def factory(
            params: EntrypointExecutorParameters, spec: JobSpec = spec
        ) -> DatabaseRetryEntrypointExecutor:
            return DatabaseRetryEntrypointExecutor(
                parameters=params,
                max_attempts=spec.max_attempts,
                initial_delay=timedelta(seconds=2),
                max_delay=timedelta(hours=1),
            )

        qm.entrypoint(spec.name, concurrency_limit=spec.concurrency_limit, executor_factory=factory)(
            _wrap(spec)
        )
    return qm


def _wrap_periodic(spec: PeriodicSpec) -> Callable[[Schedule], Awaitable[None]]:
    async def run(schedule: Schedule) -> None:
        structlog.contextvars.bind_contextvars(job=spec.name)
        try:
            await spec.handler()
        except Exception:  # logged; the next tick tries again
            log.exception("periodic job failed")
            raise
        finally:
            structlog.contextvars.unbind_contextvars("job")

    return run


def build_scheduler(connection: asyncpg.Connection) -> SchedulerManager:
    """pgqueuer's cron scheduler over every domain's `@periodic` sweeps (discovered with the jobs)."""
    discover_jobs()
    sm = SchedulerManager(Queries(AsyncpgDriver(connection)))
    for spec in PERIODIC.values():
        sm.schedule(spec.name, spec.cron)(_wrap_periodic(spec))
    return sm


async def run_worker(stop: asyncio.Event | None = None) -> None:
    """Process jobs and run the periodic sweeps until `stop` is set (or forever).

    A lost database does not end the worker: it reconnects with back-off (up to 5 s between tries) and
    resumes. A job that was in flight when the connection died was never marked done, so pgqueuer hands
    it out again; every handler is idempotent."""
    delay = 0.5
    set_worker_stop(stop)
    while stop is None or not stop.is_set():
        try:
            await _run_worker_once(stop)
            return
        except CONNECTION_LOST as exc:
            log.warning("database connection lost; reconnecting", error=str(exc), retry_in=delay)
        if stop is None:
            await asyncio.sleep(delay)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
        delay = min(delay * 2, 5.0)


async def _run_worker_once(stop: asyncio.Event | None) -> None:
    connection = await asyncpg.connect(dsn=database_url())
    schedule_connection = await asyncpg.connect(dsn=database_url())
    qm = build_queue_manager(connection)
    sm = build_scheduler(schedule_connection)
    log.info("worker started", jobs=sorted(REGISTRY), periodic=sorted(PERIODIC))

    async def watch() -> None:
        if stop is not None:
            await stop.wait()
            qm.shutdown.set()
            sm.shutdown.set()

    watcher = asyncio.create_task(watch())
    scheduler = asyncio.create_task(sm.run())
    try:
        await qm.run(dequeue_timeout=timedelta(seconds=5), batch_size=10)
    finally:
        watcher.cancel()
        sm.shutdown.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(scheduler, timeout=10)
        for conn in (connection, schedule_connection):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=5)
        log.info("worker stopped")
