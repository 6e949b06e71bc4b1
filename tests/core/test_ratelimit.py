"""Rate-limit backends: memory, local (shared by processes), Redis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import redis

from apprun.core.ids import new_id
from apprun.core.ratelimit import LocalRateLimiter, MemoryRateLimiter, RedisRateLimiter

pytestmark = pytest.mark.anyio


async def drain(limiter: object, key: str, attempts: int) -> int:
    hit = limiter.hit
    return sum([(await hit(key, 0.001, 5)).allowed for _ in range(attempts)])


async def test_memory_limiter() -> None:
    limiter = MemoryRateLimiter()
    assert await drain(limiter, "k", 8) == 5
    assert await drain(limiter, "other", 1) == 1


async def test_local_limiter(tmp_path: Path) -> None:
    limiter = LocalRateLimiter(tmp_path / "rl.db")
    try:
        assert await drain(limiter, "k", 8) == 5
    finally:
        await limiter.close()


WORKER = """
import sys, anyio
from pathlib import Path
from apprun.core.ratelimit import LocalRateLimiter

async def run():
    limiter = LocalRateLimiter(Path(sys.argv[1]))
    try:
        return sum([(await limiter.hit("shared", 0.001, 5)).allowed for _ in range(10)])
    finally:
        await limiter.close()

print(anyio.run(run))
"""


def test_local_limiter_is_shared_by_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "rl.db")
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, path], stdout=subprocess.PIPE)
        for _ in range(3)
    ]
    allowed = [int(worker.communicate(timeout=60)[0]) for worker in workers]
    assert sum(allowed) == 5  # 30 attempts from 3 processes, one bucket of 5


async def test_redis_limiter() -> None:
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis must run on 127.0.0.1:6379 for this test: {exc}")
    first, second = RedisRateLimiter(url), RedisRateLimiter(url)
    key = f"test-{new_id()}"
    try:
        allowed = await drain(first, key, 4) + await drain(second, key, 4)
        assert allowed == 5
        decision = await first.hit(key, 0.001, 5)
        assert not decision.allowed and decision.retry_after > 0
    finally:
        await first.close()
        await second.close()


async def test_local_limiter_forgets_idle_buckets(tmp_path: Path) -> None:
    import sqlite3

    from apprun.core import ratelimit

    path = tmp_path / "rl.db"
    limiter = LocalRateLimiter(path)
    try:
        await limiter.hit("old", 1.0, 5)
        with sqlite3.connect(path) as conn:  # as if untouched for two hours
            conn.execute("UPDATE buckets SET updated = updated - 7200 WHERE key = 'old'")
        for i in range(ratelimit.PRUNE_EVERY - 1):
            await limiter.hit(f"fresh-{i % 3}", 1000.0, 5)
        with sqlite3.connect(path) as conn:
            keys = {row[0] for row in conn.execute("SELECT key FROM buckets")}
    finally:
        await limiter.close()
    assert "old" not in keys
    assert {"fresh-0", "fresh-1", "fresh-2"} <= keys
