"""Jobs on pgqueuer: register handlers with `@job`, enqueue them inside the state change's transaction."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries

from portal.lib.sql import engine

JobHandler = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    handler: JobHandler
    max_attempts: int
    concurrency_limit: int


REGISTRY: dict[str, JobSpec] = {}

PeriodicHandler = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class PeriodicSpec:
    name: str
    cron: str
    handler: PeriodicHandler


PERIODIC: dict[str, PeriodicSpec] = {}

# Set by the worker when it is asked to stop: a long-running sweep checks it and ends early.
_worker_stop: list[Any] = [None]


def set_worker_stop(stop: Any) -> None:
    """The worker's stop event (an asyncio.Event or None), for `worker_stopping()`."""
    _worker_stop[0] = stop


def worker_stopping() -> bool:
    """Whether the job worker of this process has been asked to stop."""
    stop = _worker_stop[0]
    return stop is not None and stop.is_set()


def periodic(cron: str, *, name: str | None = None) -> Callable[[PeriodicHandler], PeriodicHandler]:
    """Register an idempotent sweep the worker runs on a cron expression (UTC), e.g. "*/5 * * * *".

    The worker hands these to pgqueuer's SchedulerManager, whose schedule rows are claimed with row
    locks: with several workers each tick runs once. A sweep must still be safe to run twice (a late
    tick, a manual run) and must not depend on having run at every tick before.
    """

    def register(handler: PeriodicHandler) -> PeriodicHandler:
        key = name or f"{handler.__module__.removeprefix('portal.domains.')}.{handler.__name__}"
        if key in PERIODIC and PERIODIC[key].handler is not handler:
            raise RuntimeError(f"periodic job {key!r} is registered twice")
        PERIODIC[key] = PeriodicSpec(key, cron, handler)
        return handler

    return register


def job(
    name: str, *, max_attempts: int = 8, concurrency_limit: int = 0
) -> Callable[[JobHandler], JobHandler]:
    """Register an idempotent job handler taking the JSON payload as a dict."""

    def register(handler: JobHandler) -> JobHandler:
        if name in REGISTRY and REGISTRY[name].handler is not handler:
            raise RuntimeError(f"job {name!r} is registered twice")
        REGISTRY[name] = JobSpec(name, handler, max_attempts, concurrency_limit)
        return handler

    return register


async def enqueue(
    name: str,
    payload: dict[str, Any],
    *,
    delay: timedelta | None = None,
    priority: int = 0,
    dedupe_key: str | None = None,
) -> None:
    """Enqueue a job on the connection of the current Piccolo transaction.

    Called outside a transaction this refuses: a job enqueued apart from its state change could run for
    a change that rolled back, or be lost for one that committed.
    """
    transaction = engine().current_transaction.get()
    if transaction is None:
        raise RuntimeError(f"enqueue({name!r}) must run inside the transaction of the state change")
    queries = Queries(AsyncpgDriver(transaction.connection))
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()
    await queries.enqueue(name, body, priority, delay, dedupe_key)


async def enqueue_many(name: str, payloads: list[dict[str, Any]], *, priority: int = 0) -> None:
    """Enqueue one job per payload in one statement, on the current transaction's connection (as
    `enqueue`: refused outside a transaction). For set-based work that makes many jobs at once."""
    if not payloads:
        return
    transaction = engine().current_transaction.get()
    if transaction is None:
        raise RuntimeError(f"enqueue_many({name!r}) must run inside the transaction of the state change")
    queries = Queries(AsyncpgDriver(transaction.connection))
    bodies: list[bytes | None] = [
        json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()
        for payload in payloads
    ]
    await queries.enqueue([name] * len(payloads), bodies, [priority] * len(payloads))
