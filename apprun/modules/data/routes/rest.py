"""``/rest/v1/{collection}``: PostgREST's grammar, parsed here, served by ``RowService``."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from apprun.lib.postgrest import PostgrestSyntaxError, parse_request
from apprun.lib.postgrest.headers import Representation
from apprun.lib.postgrest.query import ApiRequest
from apprun.modules.data.errors import (
    RestBadRequest,
    RestError,
    RestNotAcceptable,
    RestNotFound,
    RestRangeNotSatisfiable,
)
from apprun.modules.data.rows import ReadResult, RowService, WriteResult
from apprun.modules.web import Ctx

PARSE_ERRORS: dict[int, type[RestError]] = {
    406: RestNotAcceptable,
    416: RestRangeNotSatisfiable,
}
JSON = "application/json; charset=utf-8"
OBJECT = "application/vnd.pgrst.object+json; charset=utf-8"


def build_rest_router(rows: RowService) -> APIRouter:
    router = APIRouter(prefix="/rest/v1", tags=["rest"])

    @router.get("/", response_class=Response)
    async def rest_openapi(ctx: Ctx) -> Response:
        """OpenAPI 3.1 of the project's collections."""
        document = await rows.openapi(ctx)
        return Response(orjson.dumps(document), media_type="application/openapi+json")

    @router.api_route("/rpc/{function}", methods=["GET", "POST"], include_in_schema=False)
    async def rpc(function: str, ctx: Ctx) -> Response:
        """``supabase.rpc()``: functions are not served yet; say so as PostgREST would."""
        raise RestNotFound(
            f"Could not find the function public.{function} in the schema cache",
            pg_code="PGRST202",
            hint="Functions arrive with apprun's functions module.",
        )

    @router.get("/{collection}")
    @router.head("/{collection}", include_in_schema=False)
    async def rows_select(collection: str, request: Request, ctx: Ctx) -> Response:
        """Read rows (PostgREST grammar: select, filters, order, limit/offset, Range)."""
        query = _parse(request)
        result = await rows.select(ctx, collection, query)
        return _read_response(result, query, request.method == "HEAD")

    @router.post("/{collection}", status_code=201)
    async def rows_insert(collection: str, request: Request, ctx: Ctx) -> Response:
        """Insert one row or an array of rows; upsert with Prefer: resolution=…."""
        query = _parse(request)
        result = await rows.insert(ctx, collection, query, await _body(request), _single(query))
        status = 201 if result.inserted or not result.ids else 200
        return _write_response(result, query, status, collection)

    @router.patch("/{collection}")
    async def rows_update(collection: str, request: Request, ctx: Ctx) -> Response:
        """Update the rows the filters match (a filter is required)."""
        query = _parse(request)
        result = await rows.update(ctx, collection, query, await _body(request), _single(query))
        return _write_response(result, query, 200, collection)

    @router.delete("/{collection}")
    async def rows_delete(collection: str, request: Request, ctx: Ctx) -> Response:
        """Delete the rows the filters match (a filter is required)."""
        query = _parse(request)
        result = await rows.delete(ctx, collection, query, _single(query))
        return _write_response(result, query, 200, collection)

    return router


def _parse(request: Request) -> ApiRequest:
    try:
        return parse_request(
            request.query_params.multi_items(),
            method=request.method,
            prefer=request.headers.getlist("prefer"),
            range_header=request.headers.get("range"),
            accept=request.headers.get("accept"),
        )
    except PostgrestSyntaxError as exc:
        kind = PARSE_ERRORS.get(exc.status, RestBadRequest)
        raise kind(exc.message, pg_code=exc.code, details=exc.details, hint=exc.hint) from None


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        raise RestBadRequest("Empty or invalid json", pg_code="PGRST102") from None


def _single(query: ApiRequest) -> bool:
    return query.representation.representation is Representation.OBJECT


def _read_response(result: ReadResult, query: ApiRequest, head: bool) -> Response:
    count = len(result.rows)
    total = result.total
    if total is not None and result.offset > total and not (total == 0 and result.offset == 0):
        raise RestRangeNotSatisfiable(
            f"An offset of {result.offset} was requested, but there are only {total} rows."
        )
    first = f"{result.offset}-{result.offset + count - 1}" if count else "*"
    headers = {"Content-Range": f"{first}/{'*' if total is None else total}"}
    status = 206 if total is not None and count < total else 200
    body, media = _render(result.rows, query)
    return Response(b"" if head else body, status_code=status, media_type=media, headers=headers)


def _write_response(
    result: WriteResult, query: ApiRequest, status: int, collection: str
) -> Response:
    prefs = query.preferences
    returning = prefs.returning or "minimal"
    headers = {"Content-Range": f"*/{len(result.ids)}" if prefs.count else "*/*"}
    applied = [f"return={returning}"] if prefs.returning else []
    if prefs.resolution:
        applied.append(f"resolution={prefs.resolution}")
    if prefs.missing:
        applied.append(f"missing={prefs.missing}")
    if applied:
        headers["Preference-Applied"] = ", ".join(applied)
    if returning == "representation" or _single(query):
        body, media = _render(result.rows, query)
        return Response(body, status_code=status, media_type=media, headers=headers)
    if returning == "headers-only" and len(result.ids) == 1:
        headers["Location"] = f"/{collection}?id=eq.{result.ids[0]}"
    return Response(status_code=201 if status == 201 else 204, headers=headers)


def _render(rows: list[dict[str, Any]], query: ApiRequest) -> tuple[bytes, str]:
    negotiated = query.representation
    if negotiated.nulls_stripped:
        rows = [{k: v for k, v in row.items() if v is not None} for row in rows]
    if negotiated.representation is Representation.CSV:
        return _csv(rows), "text/csv; charset=utf-8"
    if negotiated.representation is Representation.OBJECT:
        if len(rows) != 1:
            raise RestNotAcceptable(
                "Cannot coerce the result to a single JSON object",
                pg_code="PGRST116",
                details=f"The result contains {len(rows)} rows",
            )
        return orjson.dumps(rows[0]), OBJECT
    return orjson.dumps(rows), JSON


def _csv(rows: list[dict[str, Any]]) -> bytes:
    if not rows:
        return b""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0].keys())
    for row in rows:
        writer.writerow(
            "" if v is None else orjson.dumps(v).decode() if isinstance(v, dict | list) else v
            for v in row.values()
        )
    return out.getvalue().rstrip("\n").encode()
