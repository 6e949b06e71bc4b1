"""Tenancy: which database holds which project.

The control database holds projects and their placements. A project's own data lives in a
SQLite file under ``<data_dir>/projects/`` or in a PostgreSQL schema ``project_<id>`` on the
cluster its placement names (the default backend, or ``APPRUN_CLUSTERS__<name>``). Because each
``Database`` is bound to one project, a query cannot cross projects.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import anyio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from apprun.core.db import (
    Database,
    EngineOptions,
    PoolListener,
    is_postgres,
    postgres_engine,
    sqlite_engines,
)
from apprun.core.errors import BadRequest

DEFAULT_CLUSTER = "default"


class UnknownCluster(BadRequest):
    code = "platform.unknown_cluster"
    message = "No database cluster has this name."


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a project's data lives. ``uid`` changes when a project id is reused."""

    project: str
    uid: str
    cluster: str = DEFAULT_CLUSTER


def project_schema(project: str) -> str:
    # Project ids are lowercase slugs without underscores, so this mapping is one-to-one.
    return "project_" + project.replace("-", "_")


class Tenancy:
    """Opens and caches the engines of the control database and of every project."""

    def __init__(
        self,
        *,
        data_dir: Path,
        database_url: str | None,
        clusters: dict[str, str],
        options: EngineOptions,
        control_schema: str = "apprun",
        pool_listener: PoolListener | None = None,
    ) -> None:
        self.data_dir = data_dir
        self._options = options
        self._listener = pool_listener
        self._cluster_urls = dict(clusters)
        if database_url:
            self._cluster_urls[DEFAULT_CLUSTER] = database_url
        self._pg: dict[str, AsyncEngine] = {}
        self._sqlite: dict[str, tuple[str, Database]] = {}
        if database_url and is_postgres(database_url):
            engine = self._cluster_engine(DEFAULT_CLUSTER)
            self.control = Database("control", engine, engine, schema=control_schema)
        else:
            writer, reader = sqlite_engines(
                data_dir / "control.db", options, "control", pool_listener
            )
            self.control = Database("control", writer, reader)

    @property
    def clusters(self) -> list[str]:
        names = set(self._cluster_urls) | {DEFAULT_CLUSTER}
        return sorted(names)

    def check_cluster(self, name: str) -> None:
        if name != DEFAULT_CLUSTER and name not in self._cluster_urls:
            raise UnknownCluster(
                details={"field": "cluster", "cluster": name, "known": self.clusters}
            )

    def project_db(self, placement: Placement) -> Database:
        """The database of one project (opened on first use, then cached)."""
        self.check_cluster(placement.cluster)
        url = self._cluster_urls.get(placement.cluster)
        if url is not None and is_postgres(url):
            engine = self._cluster_engine(placement.cluster)
            return Database(placement.project, engine, engine, project_schema(placement.project))
        cached = self._sqlite.get(placement.project)
        if cached is not None and cached[0] == placement.uid:
            return cached[1]
        if cached is not None:  # the id was deleted and reused: never touch the old file
            self._sqlite.pop(placement.project)
        writer, reader = sqlite_engines(
            self.sqlite_path(placement.project), self._options, "projects", self._listener
        )
        db = Database(placement.project, writer, reader)
        self._sqlite[placement.project] = (placement.uid, db)
        return db

    def sqlite_path(self, project: str) -> Path:
        return self.data_dir / "projects" / f"{project}.db"

    async def drop_project(self, placement: Placement) -> None:
        """Delete a project's data: its PostgreSQL schema or its SQLite files."""
        db = self.project_db(placement)
        if db.schema is not None:
            async with db.tx() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE'))
            return
        self._sqlite.pop(placement.project, None)
        await db.writer.dispose()
        await db.reader.dispose()
        path = self.sqlite_path(placement.project)
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                await anyio.Path(f"{path}{suffix}").unlink()

    def _cluster_engine(self, name: str) -> AsyncEngine:
        engine = self._pg.get(name)
        if engine is None:
            engine = postgres_engine(
                self._cluster_urls[name], self._options, f"cluster:{name}", self._listener
            )
            self._pg[name] = engine
        return engine

    async def ping_clusters(self) -> dict[str, str | None]:
        """Each configured PostgreSQL cluster → None when it answers, else the error."""
        results: dict[str, str | None] = {}
        for name, url in self._cluster_urls.items():
            if not is_postgres(url):
                continue
            try:
                async with self._cluster_engine(name).connect() as conn:
                    await conn.execute(sa.text("SELECT 1"))
                results[name] = None
            except Exception as exc:
                results[name] = type(exc).__name__
        return results

    async def dispose(self) -> None:
        for _, db in self._sqlite.values():
            await db.writer.dispose()
            await db.reader.dispose()
        self._sqlite.clear()
        for engine in self._pg.values():
            await engine.dispose()
        self._pg.clear()
        if self.control.schema is None:
            await self.control.writer.dispose()
            await self.control.reader.dispose()
