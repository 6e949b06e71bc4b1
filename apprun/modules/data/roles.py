"""Roles and permissions (RBAC), per project.

A permission is ``resource:action`` (``rest:posts:select``, ``storage:avatars:write``); ``*``
in a segment matches anything (``rest:*:select``). A caller holds its principal's role
(``anon``, ``authenticated``) plus, for a signed-in user, the roles assigned to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from apprun.core.clock import Clock
from apprun.core.context import RequestContext
from apprun.modules.data import rolestore
from apprun.modules.data.collections import CollectionService
from apprun.modules.data.errors import RoleBuiltin, RoleExists, RoleNotFound
from apprun.modules.data.schemas import BUILTIN_ROLES, Role, RoleCreate, RolePatch, UserRoles


def permits(granted: Iterable[str], wanted: str) -> bool:
    """Whether any granted permission (with ``*`` wildcards per segment) covers ``wanted``."""
    parts = wanted.split(":")
    for permission in granted:
        pattern = permission.split(":")
        if len(pattern) == len(parts) and all(
            fnmatchcase(part, glob) for part, glob in zip(parts, pattern, strict=True)
        ):
            return True
    return False


class RoleService:
    def __init__(self, collections: CollectionService, clock: Clock) -> None:
        self._collections = collections
        self._clock = clock

    async def list_roles(self, ctx: RequestContext) -> list[Role]:
        async with (await self._collections.database(ctx)).read() as conn:
            rows = await rolestore.select_roles(conn)
            permissions = await rolestore.select_permissions(conn)
        return [Role(**row, permissions=permissions.get(row["name"], [])) for row in rows]

    async def get_role(self, ctx: RequestContext, name: str) -> Role:
        async with (await self._collections.database(ctx)).read() as conn:
            row = await rolestore.select_role(conn, name)
            permissions = await rolestore.select_permissions(conn, [name])
        if row is None:
            raise RoleNotFound(details={"role": name})
        return Role(**row, permissions=permissions.get(name, []))

    async def create_role(self, ctx: RequestContext, data: RoleCreate) -> Role:
        async with (await self._collections.database(ctx)).tx() as conn:
            try:
                await rolestore.insert_role(conn, data.name, data.description, self._clock.now())
            except rolestore.RoleExists:
                raise RoleExists(details={"role": data.name}) from None
            await rolestore.replace_permissions(conn, data.name, sorted(set(data.permissions)))
        return await self.get_role(ctx, data.name)

    async def update_role(self, ctx: RequestContext, name: str, patch: RolePatch) -> Role:
        await self.get_role(ctx, name)
        async with (await self._collections.database(ctx)).tx() as conn:
            if patch.description is not None:
                await rolestore.update_role(conn, name, patch.description)
            if patch.permissions is not None:
                await rolestore.replace_permissions(conn, name, sorted(set(patch.permissions)))
        return await self.get_role(ctx, name)

    async def delete_role(self, ctx: RequestContext, name: str) -> None:
        if name in BUILTIN_ROLES:
            raise RoleBuiltin(details={"role": name})
        await self.get_role(ctx, name)
        async with (await self._collections.database(ctx)).tx() as conn:
            await rolestore.delete_role(conn, name)

    async def user_roles(self, ctx: RequestContext, user_id: str) -> list[str]:
        async with (await self._collections.database(ctx)).read() as conn:
            return await rolestore.select_user_roles(conn, user_id)

    async def set_user_roles(self, ctx: RequestContext, user_id: str, data: UserRoles) -> list[str]:
        names = sorted(set(data.roles))
        known = {role.name for role in await self.list_roles(ctx)}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise RoleNotFound(details={"roles": unknown})
        async with (await self._collections.database(ctx)).tx() as conn:
            await rolestore.replace_user_roles(conn, user_id, names)
        return names

    async def caller(self, ctx: RequestContext) -> tuple[tuple[str, ...], list[str]]:
        """The caller's roles and every permission they grant, in one read."""
        roles: list[str] = [ctx.principal.role.value]
        async with (await self._collections.database(ctx)).read() as conn:
            if ctx.principal.subject and ctx.principal.role.value == "authenticated":
                roles += await rolestore.select_user_roles(conn, ctx.principal.subject)
            granted = await rolestore.select_permissions(conn, roles)
        return tuple(roles), [p for role in roles for p in granted.get(role, [])]
