"""SQL the admin users API needs beyond ``store.py``: phone look-ups and deletions."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.modules.auth.tables import identities, mfa_factors, users


class UserReferenced(Exception):
    """A foreign key (a collection's relation to auth.users) refused the user's deletion."""


async def select_user_by_phone(conn: AsyncConnection, phone: str) -> Any:
    query = sa.select(users).where(users.c.phone == phone)
    return (await conn.execute(query)).mappings().first()


async def delete_user(conn: AsyncConnection, user_id: str) -> int:
    """Delete the user; identities, sessions, factors and tokens go with it (ON DELETE
    CASCADE), and so do collection rows whose relation says so."""
    try:
        # A savepoint: on PostgreSQL a refused statement would otherwise abort the transaction.
        async with conn.begin_nested():
            result = await conn.execute(users.delete().where(users.c.id == user_id))
    except IntegrityError as exc:
        raise UserReferenced(str(exc.orig)) from None
    return result.rowcount


async def delete_user_credentials(conn: AsyncConnection, user_id: str) -> None:
    """Every way to sign in as the user: identities and MFA factors."""
    await conn.execute(identities.delete().where(identities.c.user_id == user_id))
    await conn.execute(mfa_factors.delete().where(mfa_factors.c.user_id == user_id))
