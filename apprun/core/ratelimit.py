"""Rate limiting with token buckets, on three backends.

- ``memory``: a dict in this process; exact for one worker only.
- ``local``: a SQLite file under the data dir that every worker process of this machine shares
  (one short ``BEGIN IMMEDIATE`` transaction per decision), so limits hold across workers with
  no server to install.
- ``redis``: one Lua script per decision; limits hold across machines.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

import anyio
from redis.asyncio import Redis

from apprun.lib.tokenbucket import Decision, take

MEMORY_BUCKETS = 100_000
PRUNE_EVERY = 1000
IDLE_SECONDS = 3600.0
"""A bucket untouched this long has refilled for any limit apprun sets; forgetting it is safe."""


class RateLimiter(Protocol):
    async def hit(self, key: str, rate: float, burst: int, cost: int = 1) -> Decision: ...

    async def close(self) -> None: ...


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    async def hit(self, key: str, rate: float, burst: int, cost: int = 1) -> Decision:
        now = time.monotonic()
        tokens, last = self._buckets.pop(key, (None, None))
        tokens, decision = take(tokens, last, now, rate, burst, cost)
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > MEMORY_BUCKETS:  # forget the least recently used buckets
            self._buckets.popitem(last=False)
        return decision

    async def close(self) -> None:
        self._buckets.clear()


class LocalRateLimiter:
    """Buckets in a SQLite file shared by the worker processes of one machine."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._hits = 0
        self._conn = sqlite3.connect(
            path, timeout=5.0, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode = WAL")
            # Losing a few counters in a power cut is harmless: no fsync per request.
            self._conn.execute("PRAGMA synchronous = OFF")
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS buckets "
                "(key TEXT PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL)"
            )

    def _hit(self, key: str, rate: float, burst: int, cost: int) -> Decision:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                now = time.time()
                row = conn.execute(
                    "SELECT tokens, updated FROM buckets WHERE key = ?", (key,)
                ).fetchone()
                tokens, decision = take(
                    row[0] if row else None, row[1] if row else None, now, rate, burst, cost
                )
                conn.execute(
                    "INSERT INTO buckets (key, tokens, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, "
                    "updated = excluded.updated",
                    (key, tokens, now),
                )
                self._hits += 1
                if self._hits % PRUNE_EVERY == 0:  # keep the file from growing per client
                    conn.execute("DELETE FROM buckets WHERE updated < ?", (now - IDLE_SECONDS,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return decision

    async def hit(self, key: str, rate: float, burst: int, cost: int = 1) -> Decision:
        return await anyio.to_thread.run_sync(self._hit, key, rate, burst, cost)

    async def close(self) -> None:
        with self._lock:
            self._conn.close()


_REDIS_SCRIPT = """
local burst = tonumber(ARGV[2])
local rate = tonumber(ARGV[1])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
if tokens == nil then tokens = burst else
  tokens = math.min(burst, tokens + math.max(0, now - updated) * rate) end
local allowed = 0
if tokens >= cost then tokens = tokens - cost; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, tostring(tokens)}
"""


class RedisRateLimiter:
    def __init__(self, url: str, prefix: str = "apprun:rl:") -> None:
        self._redis = Redis.from_url(url)
        self._prefix = prefix
        self._script = self._redis.register_script(_REDIS_SCRIPT)

    async def hit(self, key: str, rate: float, burst: int, cost: int = 1) -> Decision:
        allowed, tokens_text = await self._script(
            keys=[self._prefix + key], args=[rate, burst, cost]
        )
        tokens = float(tokens_text)
        _, decision = take(tokens + (cost if allowed else 0), 0.0, 0.0, rate, burst, cost)
        return decision

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()
