"""SQL of buckets, objects, versions and the storage config: the only SQL of those tables
(resumable uploads have theirs in ``uploadstore``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.modules.storage.tables import buckets, config, objects, uploads, versions

Row = Any


class Duplicate(Exception):
    """A unique key refused the row."""


# Buckets
async def insert_bucket(conn: AsyncConnection, values: dict[str, Any]) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(buckets.insert().values(**values))
    except IntegrityError:
        raise Duplicate(values["id"]) from None


async def select_bucket(conn: AsyncConnection, bucket_id: str) -> Row | None:
    query = sa.select(buckets).where(buckets.c.id == bucket_id)
    return (await conn.execute(query)).mappings().first()


async def select_buckets(
    conn: AsyncConnection,
    *,
    search: str | None,
    sort: str,
    descending: bool,
    limit: int | None,
    offset: int,
) -> list[Row]:
    column = buckets.c[sort]
    query = sa.select(buckets).order_by(column.desc() if descending else column, buckets.c.id)
    if search:
        query = query.where(sa.func.lower(buckets.c.name).contains(search.lower(), autoescape=True))
    if limit is not None:
        query = query.limit(limit)
    return list((await conn.execute(query.offset(offset))).mappings())


async def update_bucket(conn: AsyncConnection, bucket_id: str, values: dict[str, Any]) -> int:
    result = await conn.execute(buckets.update().where(buckets.c.id == bucket_id).values(**values))
    return result.rowcount


async def delete_bucket(conn: AsyncConnection, bucket_id: str) -> int:
    return (await conn.execute(buckets.delete().where(buckets.c.id == bucket_id))).rowcount


async def bucket_has_objects(conn: AsyncConnection, bucket_id: str) -> bool:
    query = sa.select(objects.c.id).where(objects.c.bucket_id == bucket_id).limit(1)
    return (await conn.scalar(query)) is not None


# Objects
async def select_object(
    conn: AsyncConnection, bucket_id: str, name: str, where: sa.ColumnElement[bool] | None = None
) -> Row | None:
    query = sa.select(objects).where(objects.c.bucket_id == bucket_id, objects.c.name == name)
    if where is not None:
        query = query.where(where)
    return (await conn.execute(query)).mappings().first()


async def select_objects_by_names(
    conn: AsyncConnection, bucket_id: str, names: Sequence[str], where: sa.ColumnElement[bool]
) -> list[Row]:
    query = sa.select(objects).where(
        objects.c.bucket_id == bucket_id, objects.c.name.in_(list(names)), where
    )
    return list((await conn.execute(query)).mappings())


async def insert_object(conn: AsyncConnection, values: dict[str, Any]) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(objects.insert().values(**values))
    except IntegrityError:
        raise Duplicate(values["name"]) from None


async def update_object(conn: AsyncConnection, object_id: str, values: dict[str, Any]) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(objects.update().where(objects.c.id == object_id).values(**values))
    except IntegrityError:
        raise Duplicate(values.get("name", object_id)) from None


async def delete_objects(conn: AsyncConnection, ids: Sequence[str]) -> None:
    if ids:
        await conn.execute(objects.delete().where(objects.c.id.in_(list(ids))))


async def touch_object(conn: AsyncConnection, object_id: str, now: datetime) -> None:
    await conn.execute(
        objects.update().where(objects.c.id == object_id).values(last_accessed_at=now)
    )


async def select_bucket_objects(conn: AsyncConnection, bucket_id: str, limit: int) -> list[Row]:
    query = (
        sa.select(objects)
        .where(objects.c.bucket_id == bucket_id)
        .order_by(objects.c.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings())


async def select_under_prefix(
    conn: AsyncConnection,
    bucket_id: str,
    prefix: str,
    where: sa.ColumnElement[bool],
    *,
    after: str | None = None,
    limit: int | None = None,
) -> list[Row]:
    """Objects whose key starts with ``prefix`` (byte order), visible through ``where``."""
    query = sa.select(objects).where(objects.c.bucket_id == bucket_id, where)
    if prefix:
        query = query.where(objects.c.name.startswith(prefix, autoescape=True))
    if after is not None:
        query = query.where(objects.c.name > after)
    query = query.order_by(objects.c.name)
    if limit is not None:
        query = query.limit(limit)
    return list((await conn.execute(query)).mappings())


async def usage(conn: AsyncConnection) -> tuple[int, int]:
    """(bytes, objects) the project stores, previous versions included."""
    current = (
        await conn.execute(
            sa.select(
                sa.func.coalesce(sa.func.sum(objects.c.size), 0), sa.func.count()
            ).select_from(objects)
        )
    ).one()
    old = await conn.scalar(sa.select(sa.func.coalesce(sa.func.sum(versions.c.size), 0)))
    return int(current[0]) + int(old or 0), int(current[1])


async def referenced_versions(conn: AsyncConnection, candidates: Sequence[str]) -> set[str]:
    """Which of ``candidates`` a current object or a kept version still points to."""
    if not candidates:
        return set()
    ids = list(candidates)
    found = await conn.execute(
        sa.union(
            sa.select(objects.c.version).where(objects.c.version.in_(ids)),
            sa.select(versions.c.version).where(versions.c.version.in_(ids)),
        )
    )
    return {row[0] for row in found}


# Versions
async def insert_version(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(versions.insert().values(**values))


async def select_versions(conn: AsyncConnection, bucket_id: str, name: str) -> list[Row]:
    query = (
        sa.select(versions)
        .where(versions.c.bucket_id == bucket_id, versions.c.name == name)
        .order_by(versions.c.archived_at.desc(), versions.c.version.desc())
    )
    return list((await conn.execute(query)).mappings())


async def select_version(conn: AsyncConnection, bucket_id: str, version: str) -> Row | None:
    query = sa.select(versions).where(
        versions.c.bucket_id == bucket_id, versions.c.version == version
    )
    return (await conn.execute(query)).mappings().first()


async def delete_versions(conn: AsyncConnection, ids: Sequence[str]) -> None:
    if ids:
        await conn.execute(versions.delete().where(versions.c.version.in_(list(ids))))


async def select_bucket_versions(conn: AsyncConnection, bucket_id: str) -> list[Row]:
    query = sa.select(versions.c.version).where(versions.c.bucket_id == bucket_id)
    return list((await conn.execute(query)).mappings())


# Config
async def select_config(conn: AsyncConnection) -> Row | None:
    return (await conn.execute(sa.select(config).where(config.c.id == 1))).mappings().first()


async def upsert_config(conn: AsyncConnection, values: dict[str, Any]) -> None:
    updated = await conn.execute(config.update().where(config.c.id == 1).values(**values))
    if not updated.rowcount:
        await conn.execute(config.insert().values(id=1, **values))


async def existing_uploads(conn: AsyncConnection, candidates: Sequence[str]) -> set[str]:
    """Which of ``candidates`` are resumable uploads still in progress."""
    if not candidates:
        return set()
    query = sa.select(uploads.c.id).where(uploads.c.id.in_(list(candidates)))
    return {row[0] for row in await conn.execute(query)}
