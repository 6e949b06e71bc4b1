"""SQL of OAuth sign-in: the project's providers (``auth_providers``), and the one-time claim
of an OAuth flow state by its callback."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.modules.auth.tables import auth_providers, flow_states


async def select_providers(conn: AsyncConnection) -> list[Any]:
    query = sa.select(auth_providers).order_by(auth_providers.c.name)
    return list((await conn.execute(query)).mappings())


async def select_provider(conn: AsyncConnection, name: str) -> Any:
    query = sa.select(auth_providers).where(auth_providers.c.name == name)
    return (await conn.execute(query)).mappings().first()


async def insert_provider(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """False when a provider of that name exists."""
    try:
        async with conn.begin_nested():
            await conn.execute(auth_providers.insert().values(**values))
    except IntegrityError:
        return False
    return True


async def update_provider(conn: AsyncConnection, name: str, values: dict[str, Any]) -> None:
    await conn.execute(
        auth_providers.update().where(auth_providers.c.name == name).values(**values)
    )


async def delete_provider(conn: AsyncConnection, name: str) -> bool:
    result = await conn.execute(auth_providers.delete().where(auth_providers.c.name == name))
    return bool(result.rowcount)


async def claim_oauth_flow(
    conn: AsyncConnection, flow_id: str, provider: str, marker: str, now: datetime
) -> bool:
    """Mark an OAuth flow as reached by its callback, once: False if another callback claimed it
    first, or it is no OAuth flow of ``provider``, or it has expired.

    The marker goes where the auth code's hash will be (``Flows.issue_code`` overwrites it), so
    that the flow's ``used_at`` stays free for the PKCE exchange that may follow."""
    result = await conn.execute(
        flow_states.update()
        .where(
            flow_states.c.id == flow_id,
            flow_states.c.provider == provider,
            flow_states.c.authentication_method == "oauth",
            flow_states.c.auth_code_hash.is_(None),
            flow_states.c.used_at.is_(None),
            flow_states.c.expires_at > now,
        )
        .values(auth_code_hash=marker)
    )
    return bool(result.rowcount)
