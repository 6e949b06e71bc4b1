"""Database access: one ``Database`` per logical database (the control DB or one project).

SQLite (the embedded default) gets one writer connection, whose transactions begin with
``BEGIN IMMEDIATE`` so that writers queue instead of failing on lock upgrades, and a pool of
readers; WAL lets readers run beside the writer, and ``busy_timeout`` makes writers in other
worker processes wait their turn. PostgreSQL gets one asyncpg pool per cluster, shared by the
projects placed there; each project is a schema, selected per connection with SQLAlchemy's
``schema_translate_map`` so that a connection can only ever see its own project's tables.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

PoolListener = Callable[[str, int], None]
"""Called with (pool label, +1 on checkout / -1 on checkin)."""


@dataclass(frozen=True)
class EngineOptions:
    sqlite_busy_timeout_ms: int = 5000
    sqlite_readers: int = 4
    sqlite_synchronous: str = "full"
    pg_pool_size: int = 10
    pg_max_overflow: int = 10
    echo: bool = False


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql:", "postgresql+asyncpg:", "postgres:"))


def async_pg_url(url: str) -> str:
    """Normalise ``postgres://`` / ``postgresql://`` URLs to the asyncpg driver."""
    return re.sub(r"^(postgres|postgresql)(\+\w+)?://", "postgresql+asyncpg://", url)


class Database:
    """A logical database. ``read()`` gives a read-only snapshot, ``tx()`` a write transaction."""

    def __init__(
        self,
        name: str,
        writer: AsyncEngine,
        reader: AsyncEngine,
        schema: str | None = None,
    ) -> None:
        self.name = name
        self.writer = writer
        self.reader = reader
        self.schema = schema
        self._options: dict[str, Any] = (
            {"schema_translate_map": {None: schema}} if schema is not None else {}
        )

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            if self._options:
                await conn.execution_options(**self._options)
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def tx(self, *, foreign_keys: bool = True) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed when the block exits, rolled back on error.

        ``foreign_keys=False`` (SQLite) suspends foreign-key enforcement for the transaction,
        as a table rebuild needs; the caller checks the keys itself before committing.
        """
        async with self.writer.connect() as conn:
            if self._options:
                await conn.execution_options(**self._options)
            # SQLite ignores this pragma inside a transaction: set it before BEGIN.
            suspend = not foreign_keys and self.dialect == "sqlite"
            if suspend:
                await _driver_execute(conn, "PRAGMA foreign_keys = OFF")
            try:
                async with conn.begin():
                    yield conn
            finally:
                if suspend:
                    await _driver_execute(conn, "PRAGMA foreign_keys = ON")

    async def ping(self) -> None:
        async with self.reader.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))


async def _driver_execute(conn: AsyncConnection, sql: str) -> None:
    raw = await conn.get_raw_connection()
    await raw.driver_connection.execute(sql)  # type: ignore[union-attr]


def sqlite_engines(
    path: Path, options: EngineOptions, label: str, listener: PoolListener | None
) -> tuple[AsyncEngine, AsyncEngine]:
    """The writer (one connection, ``BEGIN IMMEDIATE``) and reader pool of one SQLite file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite+aiosqlite:///{path}"
    writer = create_async_engine(url, pool_size=1, max_overflow=0, echo=options.echo)
    reader = create_async_engine(
        url, pool_size=options.sqlite_readers, max_overflow=0, echo=options.echo
    )
    for engine, begin in ((writer, "BEGIN IMMEDIATE"), (reader, "BEGIN")):
        _configure_sqlite(engine, options, begin)
        if listener is not None:
            observe_pool(engine, label, listener)
    return writer, reader


def postgres_engine(
    url: str, options: EngineOptions, label: str, listener: PoolListener | None
) -> AsyncEngine:
    engine = create_async_engine(
        async_pg_url(url),
        pool_size=options.pg_pool_size,
        max_overflow=options.pg_max_overflow,
        pool_pre_ping=True,
        echo=options.echo,
    )
    if listener is not None:
        observe_pool(engine, label, listener)
    return engine


def _configure_sqlite(engine: AsyncEngine, options: EngineOptions, begin_sql: str) -> None:
    synchronous = "FULL" if options.sqlite_synchronous == "full" else "NORMAL"

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin (see "begin" below).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(options.sqlite_busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # LIKE is case-sensitive on PostgreSQL; ILIKE compiles to lower() LIKE lower().
        cursor.execute("PRAGMA case_sensitive_like = ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin_sql)


def observe_pool(engine: AsyncEngine, label: str, listener: PoolListener) -> None:
    pool = engine.sync_engine.pool
    event.listen(pool, "checkout", lambda *_: listener(label, 1))
    event.listen(pool, "checkin", lambda *_: listener(label, -1))
