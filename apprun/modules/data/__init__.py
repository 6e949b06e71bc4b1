"""The data module: collections (real tables with migrations) and the REST API.

Other layers use only what this facade exports.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.actions import Actions
from apprun.core.clock import Clock
from apprun.core.hooks import Hooks
from apprun.core.tenancy import Tenancy
from apprun.modules.data import rolestore
from apprun.modules.data.access import AccessControl
from apprun.modules.data.actions import register_actions
from apprun.modules.data.collections import AuditRecord, CollectionService, PlacementOf
from apprun.modules.data.declarative import SchemaDocument, SchemaPlan, SchemaService
from apprun.modules.data.roles import RoleService
from apprun.modules.data.routes.admin import build_admin_router
from apprun.modules.data.routes.rest import build_rest_router
from apprun.modules.data.routes.roles import build_roles_router
from apprun.modules.data.rows import RowService
from apprun.modules.data.schemas import Collection, CollectionSpec

__all__ = ["Collection", "CollectionSpec", "DataService", "SchemaDocument", "SchemaPlan"]


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

    def register_actions(self, actions: Actions) -> None:
        register_actions(actions, self.collections, self.rows)

    def routers(self) -> list[APIRouter]:
        return [
            build_admin_router(self.collections, self.schema),
            build_roles_router(self.roles),
            build_rest_router(self.rows),
        ]
