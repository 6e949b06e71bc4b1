"""The data module: collections (real tables with migrations) and the REST API.

Other layers use only what this facade exports.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.actions import Actions
from apprun.core.clock import Clock
from apprun.core.context import RequestContext
from apprun.core.hooks import Hooks
from apprun.core.tenancy import Tenancy
from apprun.modules.data import rolestore
from apprun.modules.data.access import AccessControl
from apprun.modules.data.actions import register_actions
from apprun.modules.data.collections import AuditRecord, CollectionService, PlacementOf
from apprun.modules.data.declarative import SchemaDocument, SchemaPlan, SchemaService
from apprun.modules.data.roles import RoleService, permits
from apprun.modules.data.rows import RowService
from apprun.modules.data.rules import AuthInfo, RequestInfo, RuleCompileError, compile_rule
from apprun.modules.data.schemas import Collection, CollectionSpec, FieldSpec

if TYPE_CHECKING:
    from fastapi import APIRouter

__all__ = [
    "AuthInfo",
    "Collection",
    "CollectionSpec",
    "DataService",
    "FieldSpec",
    "RequestInfo",
    "RuleCompileError",
    "SchemaDocument",
    "SchemaPlan",
    "compile_rule",
    "permits",
]


class DataService:
    """Facade of the data module."""

    def __init__(
        self,
        tenancy: Tenancy,
        hooks: Hooks,
        clock: Clock,
        placement_of: PlacementOf,
        audit: AuditRecord,
        *,
        max_rows: int,
    ) -> None:
        self.collections = CollectionService(tenancy, hooks, clock, placement_of, audit)
        self.schema = SchemaService(self.collections)
        self.roles = RoleService(self.collections, clock)
        self.access = AccessControl(self.roles, clock)
        self.rows = RowService(self.collections, self.access, hooks, clock, max_rows)

    async def caller_roles(self, ctx: RequestContext) -> tuple[tuple[str, ...], list[str]]:
        """The caller's roles and every permission they grant (for other modules' checks)."""
        return await self.roles.caller(ctx)

    @staticmethod
    async def roles_of_user(conn: AsyncConnection, user_id: str) -> list[str]:
        """A user's roles, inside a transaction of the project's database (for tokens)."""
        return await rolestore.select_user_roles(conn, user_id)

    @staticmethod
    async def assign_user_roles(
        conn: AsyncConnection, user_id: str, names: Sequence[str]
    ) -> list[str]:
        """Replace a user's roles inside a transaction of the project's database (for the auth
        admin API); → the names that are no role of the project, and then nothing changes."""
        known = {row["name"] for row in await rolestore.select_roles(conn)}
        unknown = sorted(set(names) - known)
        if not unknown:
            await rolestore.replace_user_roles(conn, user_id, sorted(set(names)))
        return unknown

    @staticmethod
    async def grant_permissions(
        conn: AsyncConnection, role: str, permissions: Sequence[str]
    ) -> bool:
        """Add permissions to a role inside a project transaction (other modules' grants);
        False, and nothing changes, when the project has no such role."""
        if role not in {row["name"] for row in await rolestore.select_roles(conn)}:
            return False
        await rolestore.add_permissions(conn, role, permissions)
        return True

    @staticmethod
    async def revoke_permissions(conn: AsyncConnection, prefix: str) -> None:
        """Remove every permission starting with ``prefix`` from every role."""
        await rolestore.rename_permissions(conn, prefix, None)

    def register_actions(self, actions: Actions) -> None:
        register_actions(actions, self.collections, self.rows)

    def routers(self) -> list[APIRouter]:
        # Imported here: other modules' services use this facade (the rule compiler, RBAC)
        # and must not depend on the web framework through it.
        from apprun.modules.data.routes.admin import build_admin_router
        from apprun.modules.data.routes.rest import build_rest_router
        from apprun.modules.data.routes.roles import build_roles_router

        return [
            build_admin_router(self.collections, self.schema),
            build_roles_router(self.roles),
            build_rest_router(self.rows),
        ]
