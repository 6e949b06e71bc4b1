"""SQL for PKCE flow states (email links and OAuth sign-ins in the PKCE flow)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.modules.auth.tables import flow_states


async def insert_flow(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(flow_states.insert().values(**values))


async def select_flow(conn: AsyncConnection, flow_id: str) -> Any:
    query = sa.select(flow_states).where(flow_states.c.id == flow_id)
    return (await conn.execute(query)).mappings().first()


async def select_flow_by_code(conn: AsyncConnection, code_hash: str) -> Any:
    query = sa.select(flow_states).where(flow_states.c.auth_code_hash == code_hash)
    return (await conn.execute(query)).mappings().first()


async def update_flow(conn: AsyncConnection, flow_id: str, values: dict[str, Any]) -> None:
    await conn.execute(flow_states.update().where(flow_states.c.id == flow_id).values(**values))


async def mark_flow_used(conn: AsyncConnection, flow_id: str, now: datetime) -> bool:
    """False when another request used the flow first."""
    result = await conn.execute(
        flow_states.update()
        .where(flow_states.c.id == flow_id, flow_states.c.used_at.is_(None))
        .values(used_at=now)
    )
    return bool(result.rowcount)


async def delete_flows_expired_before(conn: AsyncConnection, cutoff: datetime) -> None:
    await conn.execute(flow_states.delete().where(flow_states.c.expires_at < cutoff))
