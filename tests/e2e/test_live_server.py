"""A real server: `apprun serve --workers 2` on 127.0.0.1, driven over HTTP."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from apprun.testing.databases import TestDatabase
from apprun.testing.live import LiveServer, start_live_server
from apprun.testing.scenario import ADMIN_EMAIL, ADMIN_PASSWORD

pytestmark = pytest.mark.anyio


async def admin_token(client: httpx.AsyncClient) -> str:
    response = await client.post(
        "/admin/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def request_counts(text: str, route: str) -> float:
    families = {f.name: f for f in text_string_to_metric_families(text)}
    return sum(
        s.value
        for s in families["apprun_http_requests"].samples
        if s.name == "apprun_http_requests_total" and s.labels["route"] == route
    )


async def test_two_workers_share_keys_metrics_and_state(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
        headers = {"Authorization": f"Bearer {await admin_token(client)}"}
        created = await client.post(
            "/admin/v1/projects", headers=headers, json={"id": "live", "name": "Live"}
        )
        assert created.status_code == 201
        keys = (await client.get("/admin/v1/projects/live/keys", headers=headers)).json()
        service = next(k["key"] for k in keys if k["name"] == "service_role")

        async def settings_status() -> int:
            # A fresh connection each time, so both workers get requests.
            async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as fresh:
                response = await fresh.get("/admin/v1/settings", headers={"apikey": service})
                return response.status_code

        assert set(await asyncio.gather(*(settings_status() for _ in range(20)))) == {200}
        rotated = await client.post("/admin/v1/projects/live/keys/rotate", headers=headers)
        assert rotated.status_code == 200
        # Whichever worker answers, the rotated key is refused at once.
        assert set(await asyncio.gather(*(settings_status() for _ in range(20)))) == {401}

        metrics = (await client.get("/metrics")).text
        assert request_counts(metrics, "/admin/v1/settings") == 40
        ready = await client.get("/readyz")
        assert ready.status_code == 200


async def test_rate_limits_hold_across_workers(database: TestDatabase) -> None:
    server = start_live_server(
        database,
        workers=2,
        extra_env={
            "APPRUN_RATE_LIMIT__IP_PER_SECOND": "0.001",
            "APPRUN_RATE_LIMIT__IP_BURST": "10",
        },
    )
    try:

        async def status() -> int:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as fresh:
                return (await fresh.get("/admin/v1/settings")).status_code

        statuses = await asyncio.gather(*(status() for _ in range(30)))
    finally:
        server.stop()
    # 30 requests spread over two workers; one shared bucket of 10.
    assert statuses.count(429) == 20
    assert statuses.count(401) == 10
