"""``/admin/v1/collections`` and ``/admin/v1/migrations`` (service_role key or admin)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Query, Request
from pydantic import ValidationError
from starlette.responses import Response

from apprun.core.models import field_errors
from apprun.modules.data.collections import CollectionService
from apprun.modules.data.declarative import SchemaDocument, SchemaPlan, SchemaService
from apprun.modules.data.errors import InvalidSchema
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


class _NoAliases(yaml.SafeLoader):
    """YAML without anchors and aliases, which could expand a small body enormously."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases are not allowed")
        return super().compose_node(parent, index)


async def _schema_document(request: Request) -> SchemaDocument:
    raw = await request.body()
    try:
        data = yaml.load(raw, Loader=_NoAliases) if raw.strip() else {}  # noqa: S506
    except yaml.YAMLError as exc:
        raise InvalidSchema(
            "The document is neither JSON nor YAML.", details={"reason": str(exc)[:300]}
        ) from None
    try:
        return SchemaDocument.model_validate(data)
    except ValidationError as exc:
        raise InvalidSchema(details={"fields": field_errors(exc)}) from None


def build_admin_router(collections: CollectionService, schema: SchemaService) -> APIRouter:
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

    @router.get(
        "/schema",
        response_model=SchemaDocument,
        responses={200: {"content": {"application/yaml": {}}}},
    )
    async def schema_export(
        ctx: ServiceCtx,
        format: Annotated[Literal["json", "yaml"], Query()] = "json",
    ) -> Response:
        """Every collection as one document (JSON, or YAML with ``?format=yaml``)."""
        document = (await schema.export(ctx)).model_dump(mode="json")
        if format == "yaml":
            return Response(
                yaml.safe_dump(document, sort_keys=False), media_type="application/yaml"
            )
        return JsonResponse(document)

    @router.post("/schema/apply")
    async def schema_apply(
        ctx: ServiceCtx,
        request: Request,
        confirm: Annotated[bool, Query(description="Required when data is dropped.")] = False,
        dry_run: DryRun = False,
    ) -> SchemaPlan:
        """Make the collections what the document (JSON or YAML) says, in one migration."""
        document = await _schema_document(request)
        return await schema.apply(ctx, document, confirm=confirm, dry_run=dry_run)

    @router.get("/migrations")
    async def migration_list(
        ctx: ServiceCtx,
        collection: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[Migration]:
        """The project's schema migrations, newest first."""
        return await collections.migrations(ctx, collection, limit)

    return router
