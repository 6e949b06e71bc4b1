"""The data module's SQL on its catalogue tables (collections and their migration history)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.modules.data.tables import collections, migrations


async def select_collections(conn: AsyncConnection) -> Sequence[RowMapping]:
    result = await conn.execute(sa.select(collections).order_by(collections.c.name))
    return result.mappings().all()


async def select_collection(conn: AsyncConnection, name: str) -> RowMapping | None:
    result = await conn.execute(sa.select(collections).where(collections.c.name == name))
    return result.mappings().first()


async def insert_collection(conn: AsyncConnection, name: str, spec: str, when: datetime) -> None:
    await conn.execute(
        sa.insert(collections).values(
            name=name, spec=spec, version=1, created_at=when, updated_at=when
        )
    )


async def update_collection(
    conn: AsyncConnection, old_name: str, name: str, spec: str, when: datetime
) -> None:
    await conn.execute(
        sa.update(collections)
        .where(collections.c.name == old_name)
        .values(name=name, spec=spec, version=collections.c.version + 1, updated_at=when)
    )


async def delete_collection(conn: AsyncConnection, name: str) -> None:
    await conn.execute(sa.delete(collections).where(collections.c.name == name))


async def insert_migration(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(sa.insert(migrations).values(**values))


async def select_migrations(
    conn: AsyncConnection, collection: str | None, limit: int
) -> Sequence[RowMapping]:
    stmt = sa.select(migrations).order_by(migrations.c.id.desc()).limit(limit)
    if collection is not None:
        stmt = stmt.where(migrations.c.collection == collection)
    result = await conn.execute(stmt)
    return result.mappings().all()
