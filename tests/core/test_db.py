"""core.db and tenancy: SQLite writer/readers, PostgreSQL schemas per project."""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
import sqlalchemy as sa

from apprun.core.db import EngineOptions, async_pg_url
from apprun.core.tenancy import Placement, Tenancy, project_schema
from apprun.testing import ScenarioEnv

pytestmark = pytest.mark.anyio


async def test_sqlite_uses_wal_and_serialises_writers(tmp_path: Path) -> None:
    tenancy = Tenancy(data_dir=tmp_path, database_url=None, clusters={}, options=EngineOptions())
    db = tenancy.project_db(Placement("p", "uid-1"))
    try:
        async with db.tx() as conn:
            await conn.execute(sa.text("CREATE TABLE counter (n INTEGER NOT NULL)"))
            await conn.execute(sa.text("INSERT INTO counter VALUES (0)"))
        async with db.read() as conn:
            mode = (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar_one()
            fks = (await conn.execute(sa.text("PRAGMA foreign_keys"))).scalar_one()
        assert mode == "wal"
        assert fks == 1

        async def increment() -> None:
            async with db.tx() as conn:
                value = (await conn.execute(sa.text("SELECT n FROM counter"))).scalar_one()
                await anyio.lowlevel.checkpoint()
                await conn.execute(sa.text("UPDATE counter SET n = :n"), {"n": value + 1})

        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(increment)
        async with db.read() as conn:
            assert (await conn.execute(sa.text("SELECT n FROM counter"))).scalar_one() == 50
    finally:
        await tenancy.dispose()


async def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    tenancy = Tenancy(data_dir=tmp_path, database_url=None, clusters={}, options=EngineOptions())
    db = tenancy.control
    try:
        async with db.tx() as conn:
            await conn.execute(sa.text("CREATE TABLE t (v TEXT)"))
        with pytest.raises(RuntimeError):
            async with db.tx() as conn:
                await conn.execute(sa.text("INSERT INTO t VALUES ('half')"))
                raise RuntimeError("crash mid-way")
        async with db.read() as conn:
            assert (await conn.execute(sa.text("SELECT count(*) FROM t"))).scalar_one() == 0
    finally:
        await tenancy.dispose()


async def test_project_connections_see_only_their_schema(env: ScenarioEnv) -> None:
    tenancy = env.services.tenancy
    default = tenancy.project_db(await env.services.platform.placement("default"))
    if default.schema is None:
        # SQLite: one file per project, so another project's tables are not even attached.
        assert tenancy.sqlite_path("default").exists()
        return
    assert default.schema == project_schema("default")
    async with default.read() as conn:
        path = (await conn.execute(sa.text("SELECT current_schemas(false)"))).scalar_one()
        tables = await conn.execute(
            sa.text(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = "
                "'project_settings'"
            )
        )
    assert "project_default" in {row[0] for row in tables}
    assert "apprun" not in path  # the control schema is not on a project's search path


def test_pg_urls_are_normalised() -> None:
    assert async_pg_url("postgres://u@h/d") == "postgresql+asyncpg://u@h/d"
    assert async_pg_url("postgresql://u@h/d") == "postgresql+asyncpg://u@h/d"
    assert async_pg_url("postgresql+psycopg://u@h/d") == "postgresql+asyncpg://u@h/d"
