"""Ended sessions across instances: with Redis, an instance refuses a token at once when
another instance ended its session; without, each process forgets within two seconds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest
import redis
from fastapi import FastAPI

from apprun.app import create_app
from apprun.core.cache import MemoryCache, RedisCache
from apprun.core.clock import ManualClock
from apprun.core.ids import new_id
from apprun.testing.databases import TestDatabase
from tests.modules.auth.conftest import PASSWORD

pytestmark = pytest.mark.anyio
REDIS_URL = "redis://127.0.0.1:6379/0"


async def key(app: FastAPI, name: str) -> str:
    keys = await app.state.services.platform.projects.list_keys("default")
    return str(next(k.key for k in keys if k.name == name))


@asynccontextmanager
async def instance(database: TestDatabase, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    """One apprun instance on the shared database and Redis, with the anon key set."""
    app = create_app(database.settings(redis_url=REDIS_URL), clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://apprun.test") as c:
            c.headers["apikey"] = await key(app, "anon")
            c.headers["x-service-key"] = await key(app, "service_role")
            yield c


async def test_logout_on_one_instance_is_seen_by_another(
    database: TestDatabase, clock: ManualClock
) -> None:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis must run on 127.0.0.1:6379 for this test: {exc}")
    async with instance(database, clock) as first, instance(database, clock) as second:
        service = {"apikey": first.headers["x-service-key"]}
        config = await first.patch(
            "/admin/v1/auth/config", headers=service, json={"mailer_autoconfirm": True}
        )
        assert config.status_code == 200, config.text
        email = f"{new_id()}@example.com"
        session = (
            await first.post("/auth/v1/signup", json={"email": email, "password": PASSWORD})
        ).json()
        user = {"Authorization": f"Bearer {session['access_token']}"}
        assert (await second.get("/auth/v1/user", headers=user)).status_code == 200  # cached now
        assert (await first.post("/auth/v1/logout", headers=user)).status_code == 204
        refused = await second.get("/auth/v1/user", headers=user)
        assert refused.status_code == 403, refused.text


async def test_memory_cache_forgets() -> None:
    cache = MemoryCache()
    await cache.put("a", 60)
    assert await cache.has("a")
    await cache.delete("a")
    assert not await cache.has("a")
    await cache.put("b", 0.001)
    await anyio.sleep(0.01)
    assert not await cache.has("b")


async def test_redis_cache_is_shared() -> None:
    first, second = RedisCache(REDIS_URL, f"t-{new_id()}:"), None
    try:
        second = RedisCache(REDIS_URL, first._prefix)
        await first.put("s", 60)
        assert await second.has("s")
        await second.delete("s")
        assert not await first.has("s")
    finally:
        await first.close()
        if second is not None:
            await second.close()
