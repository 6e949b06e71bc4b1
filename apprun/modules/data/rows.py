"""Use cases of ``/rest/v1/{collection}``: read, insert, upsert, update and delete rows,
each in one transaction, with hooks emitted after the commit.

Access today: the project's service_role key and platform admins. Grants and policies for
the anon and authenticated roles (RBAC + ABAC) come next; until then other callers are
refused, which is also the default a new collection will have then.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from apprun.core.clock import Clock
from apprun.core.context import RequestContext
from apprun.core.db import Database
from apprun.core.hooks import Hooks
from apprun.core.ids import new_id
from apprun.lib.postgrest.query import ApiRequest
from apprun.modules.data import ddl, hooks, rowstore
from apprun.modules.data.access import AccessControl, Gate, denied
from apprun.modules.data.collections import CollectionService
from apprun.modules.data.embedding import (
    Embedder,
    check_paths,
    embeds,
    inner_filter,
    order_by_embed,
    resolve_link,
    strip_keys,
)
from apprun.modules.data.errors import (
    CollectionNotFound,
    RestBadRequest,
    RestNotAcceptable,
)
from apprun.modules.data.openapi import collections_document
from apprun.modules.data.reading import out_row, read_rows, shown, written_rows
from apprun.modules.data.restsql import Columns, condition, order_by
from apprun.modules.data.schemas import CollectionSpec, Operation
from apprun.modules.data.upsert import Upsert, sent_keys
from apprun.modules.data.values import SYSTEM, from_json

TABLE_CACHE = 256
METHODS: dict[str, str] = {"select": "GET", "insert": "POST", "update": "PATCH", "delete": "DELETE"}
Row = dict[str, Any]


@dataclass
class ReadResult:
    rows: list[Row]
    offset: int
    total: int | None


@dataclass
class WriteResult:
    ids: list[str] = field(default_factory=list)
    """The ids of the rows written, in write order."""
    rows: list[Row] = field(default_factory=list)
    """Those rows as ``select`` shapes them, when the response shows them."""
    inserted: int = 0


class RowService:
    def __init__(
        self,
        collections: CollectionService,
        access: AccessControl,
        hooks_bus: Hooks,
        clock: Clock,
        max_rows: int,
    ) -> None:
        self._collections = collections
        self._access = access
        self._hooks = hooks_bus
        self._clock = clock
        self._max_rows = max_rows
        self._tables: OrderedDict[str, sa.Table] = OrderedDict()

    async def _prepare(
        self, ctx: RequestContext, name: str, operation: Operation, body: Any = None
    ) -> tuple[Database, Columns, Gate, dict[str, CollectionSpec]]:
        """The collection, its table, and what the caller may do on it (or a 401/403)."""
        by_name = {spec.name: spec for spec in await self._collections.specs(ctx)}
        spec = by_name.get(name)
        if spec is None:
            raise CollectionNotFound(
                f"Could not find the table '{name}' in the schema cache",
                details={"collection": name},
            )
        db = await self._collections.database(ctx)
        gate = await self._access.gate(
            ctx,
            spec,
            operation,
            collections=by_name,
            dialect=db.dialect,
            tables=lambda other: self._table(by_name[other]),
            method=METHODS[operation],
            body=body,
        )
        return db, Columns(spec, self._table(spec), gate.visible, db.dialect), gate, by_name

    def _embedder(
        self,
        ctx: RequestContext,
        req: ApiRequest,
        by_name: dict[str, CollectionSpec],
        dialect: str,
    ) -> Embedder:
        async def gate_for(spec: CollectionSpec) -> Gate:
            return await self._access.gate(
                ctx,
                spec,
                "select",
                collections=by_name,
                dialect=dialect,
                method="GET",
                tables=lambda other: self._table(by_name[other]),
            )

        return Embedder(
            req,
            by_name,
            gate_for,
            lambda spec, gate: Columns(spec, self._table(spec), gate.visible, dialect),
            lambda row, gate: out_row(strip_keys(row), gate),
        )

    def _table(self, spec: CollectionSpec) -> sa.Table:
        key = spec.model_dump_json()
        table = self._tables.pop(key, None)
        if table is None:
            table = ddl.build_table(spec)
        self._tables[key] = table
        if len(self._tables) > TABLE_CACHE:
            self._tables.popitem(last=False)
        return table

    async def openapi(self, ctx: RequestContext, *, embedded: bool = False) -> dict[str, Any]:
        """The OpenAPI document of the project's collections (service role, for now)."""
        if not ctx.principal.is_service:
            raise denied(ctx, "permission denied for the schema")
        specs = await self._collections.specs(ctx)
        return collections_document(
            ctx.project, specs, show_hidden=ctx.principal.is_service, embedded=embedded
        )

    async def select(self, ctx: RequestContext, name: str, req: ApiRequest) -> ReadResult:
        db, cols, gate, by_name = await self._prepare(ctx, name, "select")
        check_paths(req)
        embedder = self._embedder(ctx, req, by_name, db.dialect)
        where = sa.and_(
            _where(cols, req),
            gate.filter(cols.table),
            *await self._inner_filters(embedder, cols, req),
        )
        offset, limit = self._window(req)
        async with db.read() as conn:
            order = await self._order(embedder, cols, req)
            rows = await read_rows(conn, embedder, cols, gate, where, order, limit, offset)
            total = None
            if req.preferences.count is not None:
                total = await rowstore.count_rows(conn, cols.table, where)
        return ReadResult(rows, offset, total)

    async def _order(
        self, embedder: Embedder, cols: Columns, req: ApiRequest
    ) -> list[sa.ColumnElement[Any]]:
        clauses: list[sa.ColumnElement[Any]] = []
        for term in req.order_at():
            if term.embed is None:
                clauses += order_by(cols, [term])
            else:
                clauses.append(await order_by_embed(embedder, cols, term))
        return clauses

    async def _inner_filters(
        self, embedder: Embedder, cols: Columns, req: ApiRequest
    ) -> list[sa.ColumnElement[bool]]:
        """Root ``!inner`` embeds narrow the parents in SQL, so limits and counts agree."""
        filters = []
        for embed in embeds(req.select):
            if embed.join != "inner":
                continue
            link = resolve_link(cols.spec, embed, embedder.specs)
            target_gate = await embedder.gate_for(link.target)
            target = embedder.columns_for(link.target, target_gate)
            conditions = [condition(target, c) for c in req.conditions_at((embed.name,))]
            filters.append(inner_filter(cols, link, target, target_gate, conditions))
        return filters

    def _window(self, req: ApiRequest) -> tuple[int, int]:
        paging = req.paging_at()
        offset = paging.offset or 0
        limit = self._max_rows if paging.limit is None else min(paging.limit, self._max_rows)
        if req.range is not None:
            start, end = req.range
            offset = max(offset, start) if paging.offset is None else offset + start
            if end is not None:
                limit = min(limit, end - start + 1)
        return offset, limit

    async def insert(
        self, ctx: RequestContext, name: str, req: ApiRequest, body: Any, singular: bool
    ) -> WriteResult:
        db, cols, gate, by_name = await self._prepare(ctx, name, "insert", body)
        embedder = self._embedder(ctx, req, by_name, db.dialect)
        rows = self._rows_to_insert(cols.spec, req, body)
        resolution = req.preferences.resolution
        merge_gate = None
        if resolution == "merge-duplicates" and not gate.bypass:
            # A merge changes existing rows: it needs the update grant and policy too.
            merge_gate = (await self._prepare(ctx, name, "update", body))[2]
        try:
            async with db.tx() as conn:
                if resolution is None:
                    await gate.check_new_rows(conn, rows)
                    written = await rowstore.insert_rows(conn, cols.table, rows)
                    inserted = len(written)
                else:
                    upsert = Upsert(cols, req, rows, resolution, sent_keys(req, body))
                    written, inserted = await upsert.run(conn, gate, merge_gate)
                _check_singular(written, singular)
                ids = [r["id"] for r in written]
                shaped = await written_rows(conn, embedder, cols, gate, ids, shown(req, singular))
        except DBAPIError as exc:
            raise rowstore.database_error(exc, name) from None
        for row in written:
            await self._emit(ctx, hooks.ROW_INSERTED, name, None, row)
        return WriteResult(ids, shaped, inserted)

    def _rows_to_insert(self, spec: CollectionSpec, req: ApiRequest, body: Any) -> list[Row]:
        items = body if isinstance(body, list) else [body]
        if not items or not all(isinstance(i, dict) for i in items):
            if isinstance(body, list) and not body:
                return []
            raise RestBadRequest("Empty or invalid json", pg_code="PGRST102")
        keys = list(req.columns) if req.columns is not None else list(items[0])
        if req.columns is None and any(list(i) != keys and set(i) != set(keys) for i in items):
            raise RestBadRequest("All object keys must match", pg_code="PGRST102")
        now = self._clock.now()
        defaults = req.preferences.missing == "default" or req.columns is None
        return [self._new_row(spec, item, keys, now, defaults) for item in items]

    def _new_row(
        self, spec: CollectionSpec, item: Row, keys: list[str], now: Any, defaults: bool
    ) -> Row:
        row: Row = {"id": new_id(), "created_at": now, "updated_at": now}
        for key in keys:
            field_spec = _writable(spec, key)
            if key in item:
                row[key] = from_json(field_spec, item[key])
            elif not defaults:
                row[key] = None
            elif field_spec.default is not None:
                row[key] = field_spec.default
        for field_spec in spec.fields:  # defaults of fields the body does not mention
            if field_spec.name not in row and field_spec.default is not None:
                row[field_spec.name] = field_spec.default
        return row

    async def update(
        self, ctx: RequestContext, name: str, req: ApiRequest, body: Any, singular: bool
    ) -> WriteResult:
        db, cols, gate, by_name = await self._prepare(ctx, name, "update", body)
        embedder = self._embedder(ctx, req, by_name, db.dialect)
        if not isinstance(body, dict):
            raise RestBadRequest("Empty or invalid json", pg_code="PGRST102")
        values = {key: from_json(_writable(cols.spec, key), value) for key, value in body.items()}
        values["updated_at"] = self._clock.now()
        where = sa.and_(_where(cols, req, required=True), gate.filter(cols.table))
        try:
            async with db.tx() as conn:
                before = await rowstore.select_for_write(conn, cols.table, where)
                ids = [r["id"] for r in before]
                _check_max_affected(req, len(ids))
                after = await rowstore.update_rows(conn, cols.table, ids, values)
                await gate.check_written(conn, cols.table, ids)
                _check_singular(after, singular)
                shaped = await written_rows(conn, embedder, cols, gate, ids, shown(req, singular))
        except DBAPIError as exc:
            raise rowstore.database_error(exc, name) from None
        old = {r["id"]: r for r in before}
        for row in after:
            await self._emit(ctx, hooks.ROW_UPDATED, name, old.get(row["id"]), row)
        return WriteResult(ids, shaped)

    async def delete(
        self, ctx: RequestContext, name: str, req: ApiRequest, singular: bool
    ) -> WriteResult:
        db, cols, gate, by_name = await self._prepare(ctx, name, "delete")
        embedder = self._embedder(ctx, req, by_name, db.dialect)
        where = sa.and_(_where(cols, req, required=True), gate.filter(cols.table))
        try:
            async with db.tx() as conn:
                before = await rowstore.select_for_write(conn, cols.table, where)
                _check_max_affected(req, len(before))
                _check_singular(before, singular)
                ids = [r["id"] for r in before]
                # Shaped before they go, so that their embeds are still there.
                shaped = await written_rows(conn, embedder, cols, gate, ids, shown(req, singular))
                await rowstore.delete_rows(conn, cols.table, ids)
        except DBAPIError as exc:
            raise rowstore.database_error(exc, name) from None
        for row in before:
            await self._emit(ctx, hooks.ROW_DELETED, name, row, None)
        return WriteResult(ids, shaped)

    async def _emit(
        self, ctx: RequestContext, hook: str, name: str, old: Row | None, new: Row | None
    ) -> None:
        payload = hooks.RowChanged(ctx.project, name, old and out_row(old), new and out_row(new))
        await self._hooks.emit(hook, payload, project=ctx.project)


def _where(cols: Columns, req: ApiRequest, *, required: bool = False) -> sa.ColumnElement[bool]:
    conditions = req.conditions_at()
    if required and not conditions:
        raise RestBadRequest(
            "A filter is required: this would change every row of the collection.",
            pg_code="21000",
            hint="Add a filter such as id=eq.<id>; to change every row, filter on a "
            "column every row matches, such as id=not.is.null.",
        )
    return sa.and_(sa.true(), *[condition(cols, c) for c in conditions])


def _writable(spec: CollectionSpec, key: str) -> Any:
    if key in ("created_at", "updated_at"):
        raise RestBadRequest(f"{key} is set by the server", pg_code="PGRST204")
    found = spec.field(key) or (SYSTEM["id"] if key == "id" else None)
    if found is None:
        raise RestBadRequest(
            f"Could not find the '{key}' column of '{spec.name}' in the schema cache",
            pg_code="PGRST204",
        )
    return found


def _check_max_affected(req: ApiRequest, affected: int) -> None:
    prefs = req.preferences
    if prefs.strict and prefs.max_affected is not None and affected > prefs.max_affected:
        raise RestBadRequest(
            "Query result exceeds max-affected preference constraint",
            pg_code="PGRST124",
            details=f"The query affects {affected} rows",
        )


def _check_singular(rows: list[Row], singular: bool) -> None:
    # Raised inside the transaction, so a write that was not exactly one row is undone.
    if singular and len(rows) != 1:
        raise RestNotAcceptable(
            "Cannot coerce the result to a single JSON object",
            details=f"The result contains {len(rows)} rows",
        )
