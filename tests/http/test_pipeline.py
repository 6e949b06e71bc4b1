"""The request pipeline: request ids, CORS, body limits, error rendering, rate limits."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from apprun.app import create_app
from apprun.modules.web import Ctx
from apprun.testing import ScenarioEnv
from apprun.testing.databases import TestDatabase

pytestmark = pytest.mark.anyio


async def test_request_id_is_generated_or_accepted(env: ScenarioEnv) -> None:
    generated = await env.client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 36
    assert generated.headers["x-content-type-options"] == "nosniff"
    given = await env.client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    hostile = await env.client.get(
        "/healthz", headers={"X-Request-Id": "<script>alert(1)</script>"}
    )
    assert hostile.headers["x-request-id"] != "<script>alert(1)</script>"


async def test_error_bodies_carry_code_and_request_id(env: ScenarioEnv) -> None:
    response = await env.client.get("/admin/v1/nothing-here")
    body = response.json()
    assert response.status_code == 404
    assert body["error"]["code"] == "request.not_found"
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    wrong_method = await env.client.put("/admin/v1/projects")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "request.method_not_allowed"


async def test_cors_preflight_and_exposed_headers(env: ScenarioEnv) -> None:
    preflight = await env.client.options(
        "/admin/v1/settings",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "apikey, authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert "apikey" in preflight.headers["access-control-allow-headers"].lower()
    actual = await env.client.get("/healthz", headers={"Origin": "https://app.example"})
    assert actual.headers["access-control-allow-origin"] == "*"
    assert "x-request-id" in actual.headers["access-control-expose-headers"]


async def test_cors_origins_come_from_settings(database: TestDatabase) -> None:
    app = create_app(database.settings(http={"cors_origins": ["https://good.example"]}))
    async with app.router.lifespan_context(app), _client(app) as client:
        good = await client.get("/healthz", headers={"Origin": "https://good.example"})
        bad = await client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert good.headers["access-control-allow-origin"] == "https://good.example"
    assert "access-control-allow-origin" not in bad.headers


async def test_oversize_bodies_are_413_and_change_nothing(database: TestDatabase) -> None:
    app = create_app(database.settings(http={"max_body_bytes": 2048}))
    async with app.router.lifespan_context(app), _client(app) as client:
        env = ScenarioEnv(client, app.state.services)
        headers = await env.admin_headers()
        big = {"id": "big", "name": "x" * 4000}
        declared = await client.post("/admin/v1/projects", headers=headers, json=big)

        async def chunks():  # no Content-Length: counted while read
            for _ in range(5):
                yield b'{"name": "' + b"y" * 1000

        streamed = await client.post("/admin/v1/projects", headers=headers, content=chunks())
        listed = await client.get("/admin/v1/projects", headers=headers)
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "request.body_too_large"
    assert [p["id"] for p in listed.json()] == ["default"]


async def test_unexpected_errors_are_generic_500s(database: TestDatabase) -> None:
    app = create_app(database.settings())

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server.internal_error"
    assert "hunter2" not in response.text
    assert response.json()["error"]["request_id"]


async def test_rate_limit_per_ip_with_headers(database: TestDatabase) -> None:
    app = create_app(database.settings(rate_limit={"ip_per_second": 0.001, "ip_burst": 3}))
    async with app.router.lifespan_context(app), _client(app) as client:
        responses = [await client.get("/admin/v1/settings") for _ in range(4)]
        health = await client.get("/healthz")
    assert [r.headers.get("ratelimit-remaining") for r in responses[:3]] == ["2", "1", "0"]
    assert responses[0].headers["ratelimit-limit"] == "3"
    limited = responses[3]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "request.rate_limited"
    assert health.status_code == 200  # probes are never limited


async def test_rate_limit_per_key(database: TestDatabase) -> None:
    app = create_app(database.settings(rate_limit={"key_per_second": 0.001, "key_burst": 2}))
    async with app.router.lifespan_context(app), _client(app) as client:
        env = ScenarioEnv(client, app.state.services)
        anon = await env.key_headers("default", "anon")
        service = await env.key_headers("default", "service_role")
        by_anon = [
            (await client.get("/admin/v1/settings", headers=anon)).status_code for _ in range(3)
        ]
        by_service = await client.get("/admin/v1/settings", headers=service)
    assert by_anon == [403, 403, 429]
    assert by_service.status_code == 200  # another key, another bucket


async def test_locale_is_negotiated(env: ScenarioEnv) -> None:
    app = env.client._transport.app  # type: ignore[attr-defined]
    assert isinstance(app, FastAPI)

    @app.get("/locale-echo")
    async def echo(ctx: Ctx) -> dict[str, str]:
        return {"locale": ctx.locale}

    for header, expected in [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("fr-FR, en;q=0.5", "en"),
        ("", "en"),
    ]:
        response = await env.client.get("/locale-echo", headers={"Accept-Language": header})
        assert response.json() == {"locale": expected}, header


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("10.0.0.1", 1)), base_url="http://t"
    )


async def test_nul_characters_in_urls_are_refused(env: ScenarioEnv) -> None:
    headers = await env.admin_headers()
    for url in ("/admin/v1/migrations?collection=%00", "/admin/v1/projects/a%00b"):
        response = await env.client.get(url, headers=headers)
        assert response.status_code == 400, url
        assert response.json()["error"]["code"] == "request.invalid_characters"
