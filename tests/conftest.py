"""Test harness: one embedded PostgreSQL per run (migrated once), each test isolated by truncation.

The environment is set here, before anything imports the portal, because settings are read once.
Fixtures:
- `database` (session): the DSN of the migrated test database; the Piccolo pool is open.
- `db` (function): `database`, with every table emptied first (tables named `ref_*` keep their rows).
- `app` (session) and `client` (function): the Litestar app and an async test client.
- `live_server` (session): the app under uvicorn on a free 127.0.0.1 port; yields the base URL.
- `browser` (session) / `page` (function): Chromium via Playwright's ASYNC API (write browser tests as
  `async def`); `page.console_errors` collects errors, `await csp_violations(page)` CSP reports.
- `smtp_sink` (function): a real SMTP server on 127.0.0.1; `.messages` holds what arrived.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.database import truncate_all

_DATA_DIR = Path(tempfile.mkdtemp(prefix="neraca-test-"))
os.environ.update(
    {
        "NERACA_DATA_DIR": str(_DATA_DIR),
        "NERACA_SECRET_KEY": "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "NERACA_BASE_URL": "http://127.0.0.1:8000",
        "NERACA_LOG_JSON": "0",
        "NERACA_LOG_LEVEL": "WARNING",
        "NERACA_WORKER_IN_PROCESS": "0",
        "NERACA_ENV": "test",
    }
)
os.environ.pop("DATABASE_URL", None)
os.environ.pop("NERACA_SMTP_HOST", None)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from portal.db import embedded

    embedded.stop_embedded()
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
async def database() -> AsyncIterator[str]:
    from portal.db.bootstrap import RESOLVED_ENV
    from portal.db.embedded import start_embedded

    url = start_embedded(_DATA_DIR, cleanup_mode="stop")
    os.environ[RESOLVED_ENV] = url
    from portal.db.migrate import migrate
    from portal.db.piccolo_conf import DB

    await DB.start_connection_pool(min_size=1, max_size=10)
    await migrate()
    with provider_simulator():
        yield url
    await DB.close_connection_pool()


@contextlib.contextmanager
def provider_simulator() -> Iterator[Any]:
    """The sandbox payment provider for the whole run (top-ups open their virtual accounts there).

    Neraca's settings (in this process and in every live server started after) point at it. Callbacks
    go nowhere until a test points them at a server (`/control/api/callbacks/url`)."""
    from portal.settings import get_settings
    from tests.support.simulator import running_simulator

    with running_simulator(database="neraca_simulator_session") as sim:
        os.environ.update(
            {
                "NERACA_PROVIDER_URL": sim.url,
                "NERACA_PROVIDER_SECRET": sim.secret,
                "NERACA_PROVIDER_CALLBACK_SECRET": sim.callback_secret,
            }
        )
        get_settings.cache_clear()
        yield sim


@pytest.fixture
async def db(database: str) -> AsyncIterator[str]:
    await truncate_all()
    yield database


@pytest.fixture(scope="session")
def app(database: str) -> Any:
    from portal.server.app import create_app

    return create_app(run_worker=False)


@pytest.fixture
async def client(app: Any, db: str) -> AsyncIterator[Any]:
    """httpx over ASGI in the test's own event loop (Litestar's AsyncTestClient runs the app on another
    loop, which cannot share the session's connection pool). Redirects are not followed."""
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_server(database: str) -> Iterator[str]:
    from tests.support.live_server import live_server as start

    with start() as base_url:
        yield base_url


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """Chromium through Playwright's async API (the sync API runs a loop of its own in this thread,
    which cannot coexist with the session event loop the database fixtures use)."""
    from playwright.async_api import async_playwright

    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once per session)
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package.")
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        await instance.close()


_CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture
async def page(browser: Any, db: str) -> AsyncIterator[Any]:
    """A fresh browser context and page; `page.console_errors` collects console errors and page errors."""
    context = await browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800})
    await context.add_init_script(_CSP_RECORDER)
    new_page = await context.new_page()
    errors: list[str] = []
    new_page.console_errors = errors
    new_page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    yield new_page
    await context.close()


@pytest.fixture(scope="session")
def _smtp_controller() -> Iterator[Any]:
    from tests.support.smtp import start_sink

    sink, controller = start_sink()
    yield sink
    controller.stop()


@pytest.fixture
def smtp_sink(_smtp_controller: Any) -> Any:
    _smtp_controller.clear()
    return _smtp_controller
