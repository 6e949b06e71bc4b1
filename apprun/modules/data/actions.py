"""Actions the data module registers (for workflows, functions and the CLI): rows through
the same use cases as ``/rest/v1`` — so grants and policies apply to the calling context —
and collection creation. Queries use the PostgREST grammar, as a query string."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, Field

from apprun.core.actions import Actions
from apprun.core.context import RequestContext
from apprun.core.models import Strict
from apprun.lib.postgrest import PostgrestSyntaxError, parse_request
from apprun.lib.postgrest.query import ApiRequest
from apprun.modules.data.collections import CollectionService
from apprun.modules.data.errors import RestBadRequest
from apprun.modules.data.rows import RowService
from apprun.modules.data.schemas import CollectionSpec, MigrationPlan


class RowsQuery(Strict):
    collection: str = Field(max_length=63)
    query: str = Field(
        "", max_length=8192, description="PostgREST query string, e.g. select=id,title&views=gt.5"
    )


class RowsWrite(RowsQuery):
    values: dict[str, Any] | list[dict[str, Any]]


class RowsResult(BaseModel):
    rows: list[dict[str, Any]]


def _request(method: str, query: str) -> ApiRequest:
    try:
        return parse_request(
            parse_qsl(query, keep_blank_values=True),
            method=method,
            prefer=["return=representation"],
        )
    except PostgrestSyntaxError as exc:
        raise RestBadRequest(exc.message, pg_code=exc.code, details=exc.details) from None


def register_actions(actions: Actions, collections: CollectionService, rows: RowService) -> None:
    async def select(ctx: RequestContext, data: RowsQuery) -> RowsResult:
        result = await rows.select(ctx, data.collection, _request("GET", data.query))
        return RowsResult(rows=result.rows)

    async def insert(ctx: RequestContext, data: RowsWrite) -> RowsResult:
        request = _request("POST", data.query)
        result = await rows.insert(ctx, data.collection, request, data.values, False)
        return RowsResult(rows=result.rows)

    async def update(ctx: RequestContext, data: RowsWrite) -> RowsResult:
        request = _request("PATCH", data.query)
        result = await rows.update(ctx, data.collection, request, data.values, False)
        return RowsResult(rows=result.rows)

    async def delete(ctx: RequestContext, data: RowsQuery) -> RowsResult:
        result = await rows.delete(ctx, data.collection, _request("DELETE", data.query), False)
        return RowsResult(rows=result.rows)

    async def create_collection(ctx: RequestContext, data: CollectionSpec) -> MigrationPlan:
        return await collections.create_collection(ctx, data, dry_run=False)

    actions.register(
        "data.select",
        RowsQuery,
        RowsResult,
        select,
        "Read rows of a collection (PostgREST query string).",
    )
    actions.register(
        "data.insert", RowsWrite, RowsResult, insert, "Insert one row or several; returns them."
    )
    actions.register(
        "data.update",
        RowsWrite,
        RowsResult,
        update,
        "Update the rows the query's filters match; returns them.",
    )
    actions.register(
        "data.delete",
        RowsQuery,
        RowsResult,
        delete,
        "Delete the rows the query's filters match; returns them.",
    )
    actions.register(
        "data.create_collection",
        CollectionSpec,
        MigrationPlan,
        create_collection,
        "Create a collection (a table); returns the applied migration.",
    )
