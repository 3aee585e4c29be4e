"""Decide which PostgreSQL to use and make its DSN known to the rest of the process."""

from __future__ import annotations

import asyncio
import os

import asyncpg

from portal.lib.errors import StartupError
from portal.settings import Settings

RESOLVED_ENV = "NERACA_RESOLVED_DATABASE_URL"
MIN_SERVER_VERSION = 15


def database_url() -> str:
    """The DSN in force for this process (set by `bootstrap_database`, else DATABASE_URL)."""
    url = os.environ.get(RESOLVED_ENV) or os.environ.get("DATABASE_URL")
    if not url:
        raise StartupError("No database: run through `neraca` (embedded PostgreSQL) or set DATABASE_URL.")
    return url


async def check_server(url: str, *, connect_timeout: float = 5.0) -> int:
    """Connect once; return the server's major version or raise StartupError with a clear sentence."""
    try:
        conn = await asyncpg.connect(dsn=url, timeout=connect_timeout)
    except (TimeoutError, OSError, asyncpg.PostgresError, ValueError) as exc:
        raise StartupError(
            f"The database at DATABASE_URL does not answer ({exc.__class__.__name__}: {exc}). "
            "Check that PostgreSQL is running and the URL is right, or unset DATABASE_URL to use the "
            "embedded server."
        ) from None
    try:
        version = conn.get_server_version().major
    finally:
        await conn.close()
    if version < MIN_SERVER_VERSION:
        raise StartupError(f"PostgreSQL {version} is too old: Neraca needs PostgreSQL {MIN_SERVER_VERSION}+.")
    return version


def bootstrap_database(settings: Settings) -> str:
    """Return the DSN to use: DATABASE_URL when set (never starting a server), else the embedded one."""
    if settings.database_url:
        asyncio.run(check_server(settings.database_url))
        url = settings.database_url
    else:
        from portal.db.embedded import start_embedded

        url = start_embedded(settings.data_dir)
    os.environ[RESOLVED_ENV] = url
    return url
