"""Projects placed on named PostgreSQL clusters (APPRUN_CLUSTERS__<name>)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from apprun.app import create_app
from apprun.core.db import async_pg_url
from apprun.testing import ScenarioEnv
from apprun.testing.databases import TestDatabase

pytestmark = pytest.mark.anyio


async def schemas_in(url: str) -> set[str]:
    engine = create_async_engine(async_pg_url(url))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text("SELECT schema_name FROM information_schema.schemata")
            )
            return {row[0] for row in rows}
    finally:
        await engine.dispose()


async def test_a_project_on_a_named_cluster_keeps_its_data_there(
    database: TestDatabase, pg_database: Callable[[], str]
) -> None:
    second = pg_database()
    database.clusters = {"eu": second}
    app = create_app(database.settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            env = ScenarioEnv(client, app.state.services)
            admin = await env.admin_headers()
            created = await client.post(
                "/admin/v1/projects",
                headers=admin,
                json={"id": "eu-shop", "name": "EU", "cluster": "eu"},
            )
            assert created.status_code == 201, created.text
            assert created.json()["cluster"] == "eu"
            service = await env.key_headers("eu-shop", "service_role")
            patched = await client.patch(
                "/admin/v1/settings", headers=service, json={"site_url": "https://eu.example"}
            )
            assert patched.status_code == 200
            assert "project_eu_shop" in await schemas_in(second)
            if database.database_url:
                assert "project_eu_shop" not in await schemas_in(database.database_url)
            ready = await client.get("/readyz")
            assert ready.json()["checks"]["clusters"] == "ok"
            deleted = await client.delete("/admin/v1/projects/eu-shop?confirm=true", headers=admin)
            assert deleted.status_code == 204
            assert "project_eu_shop" not in await schemas_in(second)
