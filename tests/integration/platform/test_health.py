from __future__ import annotations

from typing import Any


async def test_healthz_answers_without_the_database(client: Any) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_migrated(client: Any) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["pending_migrations"] == []


async def test_readyz_reports_a_missing_migration(client: Any) -> None:
    from portal.db.piccolo_conf import DB

    async with DB.transaction() as transaction:
        row = await transaction.connection.fetchrow("SELECT * FROM migration WHERE app_name = 'core' LIMIT 1")
        await transaction.connection.execute("DELETE FROM migration WHERE id = $1", row["id"])
    try:
        response = await client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert any(row["name"] in item for item in body["pending_migrations"])
    finally:
        async with DB.transaction() as transaction:
            await transaction.connection.execute(
                "INSERT INTO migration (id, name, app_name, ran_on) VALUES ($1, $2, $3, $4)",
                row["id"],
                row["name"],
                row["app_name"],
                row["ran_on"],
            )


async def test_metrics_are_prometheus_text(client: Any) -> None:
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'neraca_http_requests_total{method="GET",route="/healthz",status="200"}' in response.text


async def test_openapi_and_interactive_docs(client: Any) -> None:
    spec = await client.get("/api/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "Neraca API"
    docs = await client.get("/api/docs")
    assert docs.status_code == 200
    assert "swagger-ui-bundle.js" in docs.text
    assert "script-src 'self' 'nonce-" in docs.headers["content-security-policy"]
    assert "unsafe-eval" not in docs.headers["content-security-policy"]


async def test_openapi_documents_problem_json_errors_on_every_api_operation(client: Any) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    operations = [
        (path, method, operation)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
    ]
    assert operations, "no /api/v1 operation in the document"
    for path, method, operation in operations:
        for status in ("401", "404", "422"):
            response = operation["responses"].get(status)
            assert response is not None, (method, path, status)
            assert "application/problem+json" in response["content"], (method, path, status)
    assert "Problem" in spec["components"]["schemas"]


async def test_openapi_schemas_carry_field_examples(client: Any) -> None:
    schemas = (await client.get("/api/openapi.json")).json()["components"]["schemas"]
    transfer_create = next(schema for name, schema in schemas.items() if name.endswith("TransferCreate"))
    properties = transfer_create["properties"]
    for field in ("from_account_id", "to_account_id", "amount", "reference"):
        assert properties[field].get("examples"), field
    account_out = next(schema for name, schema in schemas.items() if name.endswith("AccountOut"))
    assert account_out["properties"]["id"]["examples"] == ["acc_01jd8k2m4n6p8r0s2t4v6w8y0z"]
