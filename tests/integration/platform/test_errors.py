"""Both error renderers: problem+json under /api/, HTML pages (full or htmx fragment) elsewhere."""

from __future__ import annotations

import logging
from typing import Any

import pytest


async def test_unknown_page_gives_the_404_page(client: Any) -> None:
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()
    assert "404" in response.text


async def test_unknown_page_for_htmx_gives_a_fragment_retargeted_to_main(client: Any) -> None:
    response = await client.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert "<html" not in response.text.lower()
    assert response.headers["hx-retarget"] == "#main"
    assert "404" in response.text


async def test_unknown_api_route_gives_problem_json(client: Any) -> None:
    response = await client.get("/api/v1/nothing-here", headers={"Request-Id": "req-123"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 404
    assert body["code"] == "not_found"
    assert body["type"].endswith("/not_found")
    assert body["request_id"] == "req-123"
    assert body["errors"] == []


async def test_domain_error_maps_to_its_status_and_code(client: Any) -> None:
    response = await client.get("/api/_test/conflict")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "duplicate_reference"
    assert body["detail"] == "That reference is taken."


async def test_exception_in_page_handler_gives_500_page_with_request_id(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    response = await client.get("/_test/boom")
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert request_id in response.text
    assert "kaboom" not in response.text  # no stack trace or internals to the user
    assert "Traceback" not in response.text
    logged = "\n".join(record.getMessage() + str(record.exc_info) for record in caplog.records)
    assert "kaboom in a page handler" in logged


async def test_exception_in_api_handler_gives_problem_json_500(client: Any) -> None:
    response = await client.get("/api/_test/boom")
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert "kaboom" not in response.text
