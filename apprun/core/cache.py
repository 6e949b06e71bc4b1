"""A small shared cache of short-lived markers (``key`` → present for ``ttl`` seconds).

- ``MemoryCache``: this process only; deleting a key is seen by this process at once.
- ``RedisCache``: every process of every machine that shares the Redis server, so deleting
  a key (a session that ended) is seen everywhere at once.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis

MEMORY_ENTRIES = 100_000


class MarkerCache(Protocol):
    async def has(self, key: str) -> bool: ...

    async def put(self, key: str, ttl: float) -> None: ...

    async def delete(self, *keys: str) -> None: ...

    async def close(self) -> None: ...


class MemoryCache:
    def __init__(self) -> None:
        self._expiry: OrderedDict[str, float] = OrderedDict()

    async def has(self, key: str) -> bool:
        expires = self._expiry.get(key)
        if expires is None:
            return False
        if time.monotonic() >= expires:
            self._expiry.pop(key, None)
            return False
        return True

    async def put(self, key: str, ttl: float) -> None:
        self._expiry.pop(key, None)
        self._expiry[key] = time.monotonic() + ttl
        if len(self._expiry) > MEMORY_ENTRIES:  # forget the oldest entries first
            self._expiry.popitem(last=False)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._expiry.pop(key, None)

    async def close(self) -> None:
        self._expiry.clear()


class RedisCache:
    def __init__(self, url: str, prefix: str = "apprun:cache:") -> None:
        self._redis = Redis.from_url(url)
        self._prefix = prefix

    async def has(self, key: str) -> bool:
        return bool(await self._redis.exists(self._prefix + key))

    async def put(self, key: str, ttl: float) -> None:
        await self._redis.set(self._prefix + key, b"1", px=max(1, int(ttl * 1000)))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._redis.delete(*(self._prefix + key for key in keys))

    async def close(self) -> None:
        await self._redis.aclose()
