"""SQL of resumable uploads (``storage_uploads``): the only SQL of that table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.modules.storage.tables import uploads

Row = Any


async def insert_upload(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(uploads.insert().values(**values))


async def select_upload(conn: AsyncConnection, upload_id: str) -> Row | None:
    query = sa.select(uploads).where(uploads.c.id == upload_id)
    return (await conn.execute(query)).mappings().first()


async def advance_upload(
    conn: AsyncConnection,
    upload_id: str,
    *,
    offset: int,
    parts: int,
    new_offset: int,
    length: int | None,
) -> bool:
    """Record one more part, if the upload is still at ``offset``/``parts`` (the check that
    serialises concurrent requests) → whether it was."""
    values: dict[str, Any] = {"offset": new_offset, "parts": parts + 1}
    if length is not None:
        values["length"] = length
    result = await conn.execute(
        uploads.update()
        .where(uploads.c.id == upload_id, uploads.c.offset == offset, uploads.c.parts == parts)
        .values(**values)
    )
    return bool(result.rowcount)


async def set_length(conn: AsyncConnection, upload_id: str, length: int) -> bool:
    """Fix a deferred length (once) → whether it was still deferred."""
    result = await conn.execute(
        uploads.update()
        .where(uploads.c.id == upload_id, uploads.c.length.is_(None))
        .values(length=length)
    )
    return bool(result.rowcount)


async def delete_upload(conn: AsyncConnection, upload_id: str) -> bool:
    result = await conn.execute(uploads.delete().where(uploads.c.id == upload_id))
    return bool(result.rowcount)


async def select_expired(conn: AsyncConnection, now: datetime, limit: int) -> list[str]:
    query = sa.select(uploads.c.id).where(uploads.c.expires_at <= now).limit(limit)
    return [row[0] for row in await conn.execute(query)]
