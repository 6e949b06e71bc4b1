"""SQL for users, identities, sessions and refresh tokens: the only SQL of these tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.modules.auth.tables import identities, mfa_factors, refresh_tokens, sessions, users


class DuplicateKey(Exception):
    """A unique index refused the row (email, phone or provider identity taken)."""


# Users
async def insert_user(conn: AsyncConnection, values: dict[str, Any]) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(users.insert().values(**values))
    except IntegrityError as exc:
        raise DuplicateKey(str(exc.orig)) from None


async def select_user(conn: AsyncConnection, user_id: str) -> Any:
    return (await conn.execute(sa.select(users).where(users.c.id == user_id))).mappings().first()


async def select_user_by_email(conn: AsyncConnection, email: str) -> Any:
    query = sa.select(users).where(users.c.email == email)
    return (await conn.execute(query)).mappings().first()


async def update_user(conn: AsyncConnection, user_id: str, values: dict[str, Any]) -> int:
    try:
        async with conn.begin_nested():
            result = await conn.execute(
                users.update().where(users.c.id == user_id).values(**values)
            )
    except IntegrityError as exc:
        raise DuplicateKey(str(exc.orig)) from None
    return result.rowcount


async def delete_user(conn: AsyncConnection, user_id: str) -> int:
    return (await conn.execute(users.delete().where(users.c.id == user_id))).rowcount


async def select_users(
    conn: AsyncConnection, offset: int, limit: int, search: str | None = None
) -> tuple[list[Any], int]:
    where = sa.true() if not search else users.c.email.contains(search.lower(), autoescape=True)
    total = await conn.scalar(sa.select(sa.func.count()).select_from(users).where(where))
    query = (
        sa.select(users)
        .where(where)
        .order_by(users.c.created_at.desc(), users.c.id)
        .offset(offset)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings()), int(total or 0)


# Identities and factors (for the user's shape)
async def insert_identity(conn: AsyncConnection, values: dict[str, Any]) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(identities.insert().values(**values))
    except IntegrityError as exc:
        raise DuplicateKey(str(exc.orig)) from None


async def select_identities(conn: AsyncConnection, user_ids: list[str]) -> list[Any]:
    query = (
        sa.select(identities)
        .where(identities.c.user_id.in_(user_ids))
        .order_by(identities.c.created_at)
    )
    return list((await conn.execute(query)).mappings())


async def select_identity(conn: AsyncConnection, provider: str, provider_id: str) -> Any:
    query = sa.select(identities).where(
        identities.c.provider == provider, identities.c.provider_id == provider_id
    )
    return (await conn.execute(query)).mappings().first()


async def update_identity(conn: AsyncConnection, identity_id: str, values: dict[str, Any]) -> None:
    await conn.execute(identities.update().where(identities.c.id == identity_id).values(**values))


async def delete_identity(conn: AsyncConnection, identity_id: str) -> int:
    return (await conn.execute(identities.delete().where(identities.c.id == identity_id))).rowcount


async def select_factors(conn: AsyncConnection, user_ids: list[str]) -> list[Any]:
    query = (
        sa.select(mfa_factors)
        .where(mfa_factors.c.user_id.in_(user_ids))
        .order_by(mfa_factors.c.created_at)
    )
    return list((await conn.execute(query)).mappings())


# Sessions
async def insert_session(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(sessions.insert().values(**values))


async def select_session(conn: AsyncConnection, session_id: str) -> Any:
    query = sa.select(sessions).where(sessions.c.id == session_id)
    return (await conn.execute(query)).mappings().first()


async def update_session(conn: AsyncConnection, session_id: str, values: dict[str, Any]) -> None:
    await conn.execute(sessions.update().where(sessions.c.id == session_id).values(**values))


async def delete_sessions(
    conn: AsyncConnection,
    user_id: str,
    *,
    only: str | None = None,
    keep: str | None = None,
    aal: str | None = None,
) -> list[str]:
    """Delete the user's sessions (one, all, all but one, or those at one ``aal``)."""
    where = [sessions.c.user_id == user_id]
    if only is not None:
        where.append(sessions.c.id == only)
    if keep is not None:
        where.append(sessions.c.id != keep)
    if aal is not None:
        where.append(sessions.c.aal == aal)
    ids = list((await conn.execute(sa.select(sessions.c.id).where(*where))).scalars())
    if ids:
        await conn.execute(sessions.delete().where(sessions.c.id.in_(ids)))
    return ids


async def select_user_sessions(conn: AsyncConnection, user_id: str) -> list[Any]:
    query = (
        sa.select(sessions)
        .where(sessions.c.user_id == user_id)
        .order_by(sessions.c.created_at.desc())
    )
    return list((await conn.execute(query)).mappings())


# Refresh tokens
async def insert_refresh_token(
    conn: AsyncConnection, token_hash: str, session_id: str, now: datetime
) -> None:
    await conn.execute(
        refresh_tokens.insert().values(
            token_hash=token_hash, session_id=session_id, revoked=False, created_at=now
        )
    )


async def select_refresh_token(conn: AsyncConnection, token_hash: str) -> Any:
    query = sa.select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash)
    return (await conn.execute(query)).mappings().first()


async def revoke_refresh_token(conn: AsyncConnection, token_id: int, now: datetime) -> bool:
    """Mark a token used; False when another request used it first."""
    result = await conn.execute(
        refresh_tokens.update()
        .where(refresh_tokens.c.id == token_id, refresh_tokens.c.revoked.is_(False))
        .values(revoked=True, revoked_at=now)
    )
    return bool(result.rowcount)


async def revoke_session_tokens(conn: AsyncConnection, session_id: str, now: datetime) -> None:
    await conn.execute(
        refresh_tokens.update()
        .where(refresh_tokens.c.session_id == session_id, refresh_tokens.c.revoked.is_(False))
        .values(revoked=True, revoked_at=now)
    )
