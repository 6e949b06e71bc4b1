"""SQL for one-time tokens (email links and codes, reauthentication nonces) and the user
lookups the email flows need beyond ``store``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.modules.auth.tables import one_time_tokens, users


class TokenHashTaken(Exception):
    """Another live token has the same hash (same address and code): draw a new code."""


async def insert_token(conn: AsyncConnection, values: dict[str, Any]) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(one_time_tokens.insert().values(**values))
    except IntegrityError:
        raise TokenHashTaken() from None


async def select_token(conn: AsyncConnection, token_hash: str) -> Any:
    query = sa.select(one_time_tokens).where(one_time_tokens.c.token_hash == token_hash)
    return (await conn.execute(query)).mappings().first()


async def select_user_tokens(
    conn: AsyncConnection, user_id: str, token_types: list[str]
) -> list[Any]:
    query = sa.select(one_time_tokens).where(
        one_time_tokens.c.user_id == user_id, one_time_tokens.c.token_type.in_(token_types)
    )
    return list((await conn.execute(query)).mappings())


async def delete_token(conn: AsyncConnection, token_id: str) -> bool:
    """False when another request consumed the token first."""
    result = await conn.execute(one_time_tokens.delete().where(one_time_tokens.c.id == token_id))
    return bool(result.rowcount)


async def delete_user_tokens(conn: AsyncConnection, user_id: str, token_types: list[str]) -> None:
    await conn.execute(
        one_time_tokens.delete().where(
            one_time_tokens.c.user_id == user_id, one_time_tokens.c.token_type.in_(token_types)
        )
    )


async def select_user_by_new_email(conn: AsyncConnection, new_email: str) -> Any:
    query = sa.select(users).where(users.c.new_email == new_email).order_by(users.c.created_at)
    return (await conn.execute(query)).mappings().first()
