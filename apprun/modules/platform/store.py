"""The platform's SQL: every statement on its tables, and nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.modules.platform.tables import (
    api_keys,
    audit_head,
    audit_log,
    platform_admins,
    project_settings,
    projects,
)

Row = RowMapping


class DuplicateKey(Exception):
    """An insert hit a unique constraint."""


# Projects
async def select_projects(conn: AsyncConnection) -> Sequence[Row]:
    result = await conn.execute(sa.select(projects).order_by(projects.c.created_at))
    return result.mappings().all()


async def select_project(conn: AsyncConnection, project_id: str) -> Row | None:
    result = await conn.execute(sa.select(projects).where(projects.c.id == project_id))
    return result.mappings().first()


async def insert_project(conn: AsyncConnection, values: dict[str, Any]) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(sa.insert(projects).values(**values))
    except IntegrityError as exc:
        raise DuplicateKey(values["id"]) from exc


async def update_project(conn: AsyncConnection, project_id: str, values: dict[str, Any]) -> bool:
    result = await conn.execute(
        sa.update(projects).where(projects.c.id == project_id).values(**values)
    )
    return result.rowcount > 0


async def delete_project(conn: AsyncConnection, project_id: str) -> None:
    await conn.execute(sa.delete(api_keys).where(api_keys.c.project_id == project_id))
    await conn.execute(sa.delete(projects).where(projects.c.id == project_id))


# API keys
async def select_active_keys(conn: AsyncConnection, project_id: str) -> Sequence[Row]:
    result = await conn.execute(
        sa.select(api_keys)
        .where(api_keys.c.project_id == project_id, api_keys.c.revoked_at.is_(None))
        .order_by(api_keys.c.name)
    )
    return result.mappings().all()


async def select_key_with_project(conn: AsyncConnection, key_id: str) -> Row | None:
    """An active key and its project's placement and signing secret, in one query."""
    result = await conn.execute(
        sa.select(
            api_keys.c.id,
            api_keys.c.name,
            api_keys.c.project_id,
            projects.c.uid,
            projects.c.cluster,
            projects.c.signing_secret,
        )
        .join(projects, projects.c.id == api_keys.c.project_id)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
    )
    return result.mappings().first()


async def insert_key(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(sa.insert(api_keys).values(**values))


async def revoke_keys(
    conn: AsyncConnection, project_id: str, names: Sequence[str], when: datetime
) -> None:
    await conn.execute(
        sa.update(api_keys)
        .where(
            api_keys.c.project_id == project_id,
            api_keys.c.name.in_(names),
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=when)
    )


# Platform admins
async def select_admin_by_email(conn: AsyncConnection, email: str) -> Row | None:
    result = await conn.execute(sa.select(platform_admins).where(platform_admins.c.email == email))
    return result.mappings().first()


async def select_admin(conn: AsyncConnection, admin_id: str) -> Row | None:
    result = await conn.execute(sa.select(platform_admins).where(platform_admins.c.id == admin_id))
    return result.mappings().first()


async def count_admins(conn: AsyncConnection) -> int:
    result = await conn.execute(sa.select(sa.func.count()).select_from(platform_admins))
    return int(result.scalar_one())


async def insert_admin(conn: AsyncConnection, values: dict[str, Any]) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(sa.insert(platform_admins).values(**values))
    except IntegrityError as exc:
        raise DuplicateKey(values["email"]) from exc


async def touch_admin_login(conn: AsyncConnection, admin_id: str, when: datetime) -> None:
    await conn.execute(
        sa.update(platform_admins)
        .where(platform_admins.c.id == admin_id)
        .values(last_login_at=when)
    )


# Audit log
async def lock_audit_head(conn: AsyncConnection) -> Row:
    """The chain head, locked until the transaction ends so appends are serialised."""
    stmt = sa.select(audit_head).where(audit_head.c.id == 1)
    if conn.dialect.name != "sqlite":  # SQLite's single writer serialises already
        stmt = stmt.with_for_update()
    result = await conn.execute(stmt)
    return result.mappings().one()


async def append_audit(conn: AsyncConnection, entry: dict[str, Any]) -> None:
    await conn.execute(sa.insert(audit_log).values(**entry))
    await conn.execute(
        sa.update(audit_head)
        .where(audit_head.c.id == 1)
        .values(seq=entry["seq"], hash=entry["hash"])
    )


async def select_audit(
    conn: AsyncConnection, filters: dict[str, Any], before: int | None, limit: int
) -> Sequence[Row]:
    stmt = sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)
    for column in ("action", "actor", "project_id"):
        if filters.get(column) is not None:
            stmt = stmt.where(audit_log.c[column] == filters[column])
    if filters.get("since") is not None:
        stmt = stmt.where(audit_log.c.time >= filters["since"])
    if filters.get("until") is not None:
        stmt = stmt.where(audit_log.c.time < filters["until"])
    if before is not None:
        stmt = stmt.where(audit_log.c.seq < before)
    result = await conn.execute(stmt)
    return result.mappings().all()


async def select_audit_chain(conn: AsyncConnection, after: int, limit: int) -> Sequence[Row]:
    result = await conn.execute(
        sa.select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(limit)
    )
    return result.mappings().all()


async def select_audit_head(conn: AsyncConnection) -> Row:
    result = await conn.execute(sa.select(audit_head).where(audit_head.c.id == 1))
    return result.mappings().one()


# Per-project settings (in the project's own database)
async def select_settings(conn: AsyncConnection) -> dict[str, str]:
    result = await conn.execute(sa.select(project_settings.c.key, project_settings.c.value))
    return {row.key: row.value for row in result}


async def delete_settings(conn: AsyncConnection, keys: Sequence[str]) -> None:
    if keys:
        await conn.execute(sa.delete(project_settings).where(project_settings.c.key.in_(keys)))


async def upsert_settings(conn: AsyncConnection, values: dict[str, str], when: datetime) -> None:
    for key, value in values.items():
        updated = await conn.execute(
            sa.update(project_settings)
            .where(project_settings.c.key == key)
            .values(value=value, updated_at=when)
        )
        if updated.rowcount == 0:
            await conn.execute(
                sa.insert(project_settings).values(key=key, value=value, updated_at=when)
            )
