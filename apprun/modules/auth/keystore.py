"""SQL for the project's token signing keys and its auth configuration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.modules.auth.tables import auth_config, signing_keys


async def select_keys(conn: AsyncConnection) -> list[Any]:
    # The signing key first, then retired keys newest first.
    query = sa.select(signing_keys).order_by(
        signing_keys.c.retired_at.is_(None).desc(), signing_keys.c.created_at.desc()
    )
    return list((await conn.execute(query)).mappings())


async def insert_key(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(signing_keys.insert().values(**values))


async def retire_keys(conn: AsyncConnection, now: datetime) -> None:
    await conn.execute(
        signing_keys.update().where(signing_keys.c.retired_at.is_(None)).values(retired_at=now)
    )


async def delete_keys_retired_before(conn: AsyncConnection, cutoff: datetime) -> None:
    await conn.execute(signing_keys.delete().where(signing_keys.c.retired_at < cutoff))


async def select_config(conn: AsyncConnection) -> dict[str, str]:
    rows = await conn.execute(sa.select(auth_config.c.key, auth_config.c.value))
    return {row.key: row.value for row in rows}


async def upsert_config(conn: AsyncConnection, values: dict[str, str], now: datetime) -> None:
    for key, value in values.items():
        updated = await conn.execute(
            auth_config.update().where(auth_config.c.key == key).values(value=value, updated_at=now)
        )
        if updated.rowcount == 0:
            await conn.execute(auth_config.insert().values(key=key, value=value, updated_at=now))


async def delete_config(conn: AsyncConnection, keys: list[str]) -> None:
    if keys:
        await conn.execute(auth_config.delete().where(auth_config.c.key.in_(keys)))
