"""The platform tests run against an app with a few public, test-only routes, so they do not depend on
whatever login a domain puts in front of real pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Request, Response, get

from portal.lib.errors import Conflict
from portal.server.templating import page


@get("/_test/page", include_in_schema=False, opt={"public": True})
async def shell_page(request: Request[Any, Any, Any]) -> Response[str]:
    return page(request, "home.html")


@get("/_test/boom", include_in_schema=False, opt={"public": True})
async def boom_page() -> str:
    raise RuntimeError("kaboom in a page handler")


@get("/api/_test/boom", include_in_schema=False, opt={"public": True})
async def boom_api() -> str:
    raise RuntimeError("kaboom in an API handler")


@get("/api/_test/conflict", include_in_schema=False, opt={"public": True})
async def conflict_api() -> str:
    raise Conflict("That reference is taken.", code="duplicate_reference")


@pytest.fixture(scope="session")
def platform_app(database: str) -> Any:
    from portal.server.app import create_app

    app = create_app(run_worker=False)
    for handler in (shell_page, boom_page, boom_api, conflict_api):
        app.register(handler)
    return app


@pytest.fixture
async def client(platform_app: Any, db: str) -> AsyncIterator[Any]:
    transport = httpx.ASGITransport(app=platform_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as test_client:
        yield test_client
