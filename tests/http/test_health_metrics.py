"""/healthz, /readyz, /metrics and /openapi.json."""

from __future__ import annotations

import httpx
import pytest
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families

from apprun.app import create_app
from apprun.testing import ScenarioEnv
from apprun.testing.databases import TestDatabase
from apprun.testing.live import free_port

pytestmark = pytest.mark.anyio


async def test_healthz(env: ScenarioEnv) -> None:
    response = await env.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_each_backend(env: ScenarioEnv) -> None:
    response = await env.client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


async def test_readyz_checks_redis_and_broker_when_configured(database: TestDatabase) -> None:
    app = create_app(
        database.settings(
            redis_url="redis://127.0.0.1:6379/0", broker_url="amqp://guest:guest@127.0.0.1:5672/"
        )
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            response = await c.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {
        "database": "ok",
        "clusters": "ok",
        "redis": "ok",
        "broker": "ok",
    }


async def test_readyz_names_a_failing_backend(database: TestDatabase) -> None:
    dead = free_port()  # nothing listens there
    app = create_app(
        database.settings(
            redis_url=f"redis://127.0.0.1:{dead}/0",
            broker_url=f"amqp://guest:guest@127.0.0.1:{dead}/",
        )
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            response = await c.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failing"] == ["broker", "redis"]
    assert body["checks"]["database"] == "ok"


async def test_metrics_parse_and_count_by_route_template(
    env: ScenarioEnv, as_admin: dict[str, str]
) -> None:
    for project in ("default", "missing-1", "missing-2"):
        await env.client.get(f"/admin/v1/projects/{project}", headers=as_admin)
    response = await env.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    requests = families["apprun_http_requests"]
    counts = {
        (s.labels["route"], s.labels["status"]): s.value
        for s in requests.samples
        if s.name == "apprun_http_requests_total"
    }
    assert counts[("/admin/v1/projects/{project_id}", "200")] == 1
    assert counts[("/admin/v1/projects/{project_id}", "404")] == 2
    assert not any("missing-1" in route for route, _ in counts)
    latency = families["apprun_http_request_duration_seconds"]
    count_samples = [
        s
        for s in latency.samples
        if s.name.endswith("_count") and s.labels["route"] == "/admin/v1/projects/{project_id}"
    ]
    assert count_samples[0].value == 3
    assert "apprun_http_requests_in_flight" in families
    assert "apprun_db_connections_in_use" in families


async def test_openapi_document_lists_every_route(env: ScenarioEnv) -> None:
    response = await env.client.get("/openapi.json")
    document = response.json()
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]
    for path in (
        "/admin/v1/projects",
        "/admin/v1/projects/{project_id}/keys/rotate",
        "/admin/v1/auth/token",
        "/admin/v1/audit",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    validate(document)


async def test_openapi_includes_the_callers_collections(env: ScenarioEnv) -> None:
    service = await env.key_headers("default", "service_role")
    created = await env.client.post(
        "/admin/v1/collections",
        headers=service,
        json={"name": "notes", "fields": [{"name": "text", "type": "text"}]},
    )
    assert created.status_code == 201
    with_key = (await env.client.get("/openapi.json", headers=service)).json()
    validate(with_key)
    assert "/rest/v1/notes" in with_key["paths"]
    assert "rest_notes" in with_key["components"]["schemas"]
    anonymous = (await env.client.get("/openapi.json")).json()
    assert "/rest/v1/notes" not in anonymous["paths"]
    assert "/admin/v1/projects" in anonymous["paths"]
    assert (await env.client.get("/docs")).status_code == 200
