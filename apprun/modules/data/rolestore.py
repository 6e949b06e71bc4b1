"""The SQL of roles, their permissions and users' roles."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.modules.data.tables import role_permissions, roles, user_roles


class RoleExists(Exception):
    pass


async def select_roles(conn: AsyncConnection) -> Sequence[RowMapping]:
    result = await conn.execute(sa.select(roles).order_by(roles.c.name))
    return result.mappings().all()


async def select_role(conn: AsyncConnection, name: str) -> RowMapping | None:
    result = await conn.execute(sa.select(roles).where(roles.c.name == name))
    return result.mappings().first()


async def insert_role(conn: AsyncConnection, name: str, description: str, when: datetime) -> None:
    try:
        async with conn.begin_nested():
            await conn.execute(
                sa.insert(roles).values(
                    name=name, description=description, builtin=False, created_at=when
                )
            )
    except IntegrityError as exc:
        raise RoleExists(name) from exc


async def update_role(conn: AsyncConnection, name: str, description: str) -> None:
    await conn.execute(sa.update(roles).where(roles.c.name == name).values(description=description))


async def delete_role(conn: AsyncConnection, name: str) -> None:
    await conn.execute(sa.delete(role_permissions).where(role_permissions.c.role == name))
    await conn.execute(sa.delete(user_roles).where(user_roles.c.role == name))
    await conn.execute(sa.delete(roles).where(roles.c.name == name))


async def select_permissions(
    conn: AsyncConnection, role_names: Sequence[str] | None = None
) -> dict[str, list[str]]:
    """Role → its permissions, sorted (every role, or only those named)."""
    stmt = sa.select(role_permissions).order_by(role_permissions.c.permission)
    if role_names is not None:
        stmt = stmt.where(role_permissions.c.role.in_(role_names))
    found: dict[str, list[str]] = {}
    for row in (await conn.execute(stmt)).mappings():
        found.setdefault(row["role"], []).append(row["permission"])
    return found


async def replace_permissions(conn: AsyncConnection, role: str, permissions: Sequence[str]) -> None:
    await conn.execute(sa.delete(role_permissions).where(role_permissions.c.role == role))
    if permissions:
        await conn.execute(
            sa.insert(role_permissions), [{"role": role, "permission": p} for p in permissions]
        )


async def add_permissions(conn: AsyncConnection, role: str, permissions: Sequence[str]) -> None:
    existing = set((await select_permissions(conn, [role])).get(role, []))
    new = [p for p in dict.fromkeys(permissions) if p not in existing]
    if new:
        await conn.execute(
            sa.insert(role_permissions), [{"role": role, "permission": p} for p in new]
        )


async def rename_permissions(conn: AsyncConnection, prefix: str, new_prefix: str | None) -> None:
    """Rewrite (or, with ``None``, delete) the permissions that start with ``prefix``."""
    matching = role_permissions.c.permission.startswith(prefix, autoescape=True)
    rows = (await conn.execute(sa.select(role_permissions).where(matching))).mappings().all()
    await conn.execute(sa.delete(role_permissions).where(matching))
    if new_prefix is not None and rows:
        renamed = {(r["role"], new_prefix + r["permission"][len(prefix) :]) for r in rows}
        await conn.execute(
            sa.insert(role_permissions),
            [{"role": role, "permission": p} for role, p in sorted(renamed)],
        )


async def select_user_roles(conn: AsyncConnection, user_id: str) -> list[str]:
    result = await conn.execute(
        sa.select(user_roles.c.role)
        .where(user_roles.c.user_id == user_id)
        .order_by(user_roles.c.role)
    )
    return [row[0] for row in result]


async def replace_user_roles(conn: AsyncConnection, user_id: str, names: Sequence[str]) -> None:
    await conn.execute(sa.delete(user_roles).where(user_roles.c.user_id == user_id))
    if names:
        await conn.execute(
            sa.insert(user_roles), [{"user_id": user_id, "role": name} for name in names]
        )
