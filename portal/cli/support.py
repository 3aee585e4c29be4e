"""What every domain's `cli.py` commands share: run one coroutine against a migrated database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from portal.cli.main import _bootstrap, _migrate
from portal.lib.errors import NeracaError
from portal.lib.sql import engine

T = TypeVar("T")


def run_with_database(work: Callable[[], Awaitable[T]]) -> T:
    """Start (or find) the database, apply pending migrations, run `work()` on a small pool; a refusal
    becomes a one-line ClickException instead of a traceback."""
    _bootstrap()
    _migrate()

    async def go() -> T:
        await engine().start_connection_pool(min_size=1, max_size=2)
        try:
            return await work()
        finally:
            await engine().close_connection_pool()

    try:
        return asyncio.run(go())
    except NeracaError as exc:
        details = "; ".join(f"{e.pointer}: {e.detail}" for e in exc.errors)
        raise click.ClickException(f"{exc.detail}{' (' + details + ')' if details else ''}") from None
