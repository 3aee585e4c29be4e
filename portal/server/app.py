"""create_app(): the one place the application is assembled."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
from collections.abc import AsyncIterator
from typing import Any

import structlog
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.htmx import HTMXPlugin, HTMXRequest
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

import portal
from portal.lib.sql import engine
from portal.server.discovery import domain_modules, domain_names
from portal.server.edge import check_address, check_body
from portal.server.errors import EXCEPTION_HANDLERS, document_problems
from portal.server.logging import configure_logging
from portal.server.middleware import request_context_middleware
from portal.server.routes import ROUTES as PLATFORM_ROUTES
from portal.server.templating import template_engine
from portal.settings import get_settings

log = structlog.get_logger("neraca.app")


def discover_routes() -> list[Any]:
    """Every domain's `api.ROUTES` and `views.ROUTES`, in domain order."""
    handlers: list[Any] = []
    for domain in domain_names():
        for surface in ("api", "views"):
            name = f"portal.domains.{domain}.{surface}"
            if importlib.util.find_spec(name) is not None:
                routes = getattr(importlib.import_module(name), "ROUTES", [])
                if surface == "api":
                    for handler in routes:
                        document_problems(handler)
                handlers.extend(routes)
    return handlers


def discover_startup_hooks() -> list[Any]:
    """Domains may expose a `server_hooks` module (`MIDDLEWARE`, `on_app(app)`): auth, language, …"""
    return domain_modules("server_hooks")


def create_app(*, run_worker: bool | None = None) -> Litestar:
    """Build the Litestar app. `run_worker` runs the job worker in-process (default from settings)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    in_process_worker = settings.worker_in_process if run_worker is None else run_worker

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owns_pool = engine().pool is None  # tests and CLI commands may have opened it already
        if owns_pool:
            from portal.lib.sql import POOL_OPTIONS

            await engine().start_connection_pool(min_size=1, max_size=settings.db_pool_size, **POOL_OPTIONS)
        stop = asyncio.Event()
        worker_task: asyncio.Task[None] | None = None
        if in_process_worker:
            from portal.worker import run_worker as worker_main

            worker_task = asyncio.create_task(worker_main(stop), name="neraca-worker")
        try:
            yield
        finally:
            stop.set()
            if worker_task is not None:
                try:
                    await asyncio.wait_for(worker_task, timeout=10)
                except (TimeoutError, asyncio.CancelledError):
                    worker_task.cancel()
                except Exception:
                    log.exception("worker ended with an error")
            if owns_pool:
                await engine().close_connection_pool()

    hook_modules = discover_startup_hooks()
    middleware: list[Any] = []
    for hook in hook_modules:
        middleware.extend(getattr(hook, "MIDDLEWARE", []))

    app = Litestar(
        route_handlers=[
            *PLATFORM_ROUTES,
            *discover_routes(),
            create_static_files_router(
                path="/static",
                directories=[settings.static_dir],
                include_in_schema=False,
                cache_control=None,
                name="static",
            ),
        ],
        middleware=[check_address, *middleware],  # the query and path checked before anything else
        guards=[check_body],  # JSON bodies checked once, before any handler decodes them
        exception_handlers=EXCEPTION_HANDLERS,
        template_config=TemplateConfig(instance=template_engine()),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="neraca_csrf",
            header_name="x-csrftoken",
            cookie_secure=settings.cookie_secure,
            cookie_httponly=True,
            cookie_samesite="lax",
            exclude=["/api/", "/provider/callbacks/", "/healthz", "/readyz", "/metrics"],
        ),
        openapi_config=OpenAPIConfig(
            title="Neraca API",
            version="1.0.0",
            description="The JSON API of Neraca, the Balance Management System. See docs/api-contract.md.",
            path="/api",
            render_plugins=[JsonRenderPlugin(path="/openapi.json")],
            use_handler_docstrings=True,
        ),
        plugins=[HTMXPlugin()],
        request_class=HTMXRequest,  # request.htmx for views and the form helper
        lifespan=[lifespan],
        state=State({"cookie_secure": settings.cookie_secure, "settings": settings}),
        debug=False,
        logging_config=None,  # structlog owns logging (portal/server/logging.py)
    )
    for hook in hook_modules:
        if hasattr(hook, "on_app"):
            hook.on_app(app)
    app.state.version = portal.__version__
    # Outermost, around routing itself: unmatched routes and middleware errors get the headers too.
    app.asgi_handler = request_context_middleware(app.asgi_handler)
    return app
