"""``/admin/v1/collections`` and ``/admin/v1/migrations`` (service_role key or admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from apprun.modules.data.collections import CollectionService
from apprun.modules.data.schemas import (
    Collection,
    CollectionCreate,
    CollectionPatch,
    CollectionSpec,
    Migration,
    MigrationPlan,
)
from apprun.modules.web import JsonResponse, ServiceCtx

DryRun = Annotated[bool, Query(description="Return the plan (DDL) without applying it.")]


def build_admin_router(collections: CollectionService) -> APIRouter:
    router = APIRouter(
        prefix="/admin/v1", default_response_class=JsonResponse, tags=["collections"]
    )

    @router.get("/collections")
    async def collection_list(ctx: ServiceCtx) -> list[Collection]:
        return await collections.list_collections(ctx)

    @router.post(
        "/collections",
        status_code=201,
        responses={200: {"model": MigrationPlan, "description": "The dry-run plan"}},
    )
    async def collection_create(
        ctx: ServiceCtx, body: CollectionCreate, response: Response, dry_run: DryRun = False
    ) -> Collection | MigrationPlan:
        """Create a collection: a real table with its constraints and indexes."""
        spec = CollectionSpec.model_validate(body.model_dump(exclude={"grants"}))
        grants = {role: [str(op) for op in ops] for role, ops in body.grants.items()}
        plan = await collections.create_collection(ctx, spec, dry_run, grants)
        if dry_run:
            response.status_code = 200
            return plan
        return await collections.get_collection(ctx, body.name)

    @router.get("/collections/{name}")
    async def collection_get(ctx: ServiceCtx, name: str) -> Collection:
        return await collections.get_collection(ctx, name)

    @router.patch(
        "/collections/{name}",
        responses={200: {"description": "The collection, or the dry-run plan"}},
    )
    async def collection_update(
        ctx: ServiceCtx, name: str, body: CollectionPatch, dry_run: DryRun = False
    ) -> Collection | MigrationPlan:
        """Change a collection; dropping fields needs ``"confirm": true``."""
        plan = await collections.update_collection(ctx, name, body, dry_run=dry_run)
        if dry_run:
            return plan
        return await collections.get_collection(ctx, body.name or name)

    @router.delete(
        "/collections/{name}",
        status_code=204,
        responses={200: {"model": MigrationPlan, "description": "The dry-run plan"}},
    )
    async def collection_delete(
        ctx: ServiceCtx,
        name: str,
        confirm: Annotated[bool, Query(description="Required: the rows are deleted.")] = False,
        dry_run: DryRun = False,
    ) -> Response:
        plan = await collections.delete_collection(ctx, name, confirm=confirm, dry_run=dry_run)
        if dry_run:
            return JsonResponse(plan.model_dump(mode="json"), status_code=200)
        return Response(status_code=204)

    @router.get("/migrations")
    async def migration_list(
        ctx: ServiceCtx,
        collection: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[Migration]:
        """The project's schema migrations, newest first."""
        return await collections.migrations(ctx, collection, limit)

    return router
