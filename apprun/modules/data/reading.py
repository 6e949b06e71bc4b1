"""Reading rows the way ``select`` shapes them, for reads and for the answers of writes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from apprun.lib.postgrest.query import ApiRequest
from apprun.modules.data import rowstore
from apprun.modules.data.access import Gate
from apprun.modules.data.embedding import Embedder, embeds, link_columns, strip_keys
from apprun.modules.data.restsql import Columns, selected_columns
from apprun.modules.data.values import to_json

Row = dict[str, Any]


async def read_rows(
    conn: Any,
    embedder: Embedder,
    cols: Columns,
    gate: Gate,
    where: sa.ColumnElement[bool],
    order: list[sa.ColumnElement[Any]],
    limit: int,
    offset: int,
) -> list[Row]:
    """Rows shaped by ``select``: columns, JSON paths, casts, and the embeds attached."""
    items = embedder.req.select
    columns = {c.key: c for c in selected_columns(cols, items)}
    # The join keys of embeds; with an empty select, at least one column for SQL.
    columns.update(
        {c.key: c for c in link_columns(cols.spec, cols.table) if embeds(items) or not columns}
    )
    rows = await rowstore.select_rows(
        conn, cols.table, list(columns.values()), where, order, limit, offset
    )
    rows = await embedder.attach(conn, cols.spec, rows, items, ())
    return [out_row(strip_keys(row), gate) for row in rows]


def shown(req: ApiRequest, singular: bool) -> bool:
    """Whether a write's response carries its rows."""
    return singular or req.preferences.returning == "representation"


async def written_rows(
    conn: Any, embedder: Embedder, cols: Columns, gate: Gate, ids: list[str], needed: bool
) -> list[Row]:
    """The written rows as ``select`` shapes them (embeds included), in write order; only
    when the response shows them."""
    if not ids or not needed:
        return []
    where = cols.table.c.id.in_(ids)
    shaped = await read_rows(conn, embedder, cols, gate, where, [cols.table.c.id], len(ids), 0)
    position = {row_id: index for index, row_id in enumerate(ids)}
    keyed = await rowstore.select_rows(
        conn, cols.table, [cols.table.c.id], where, [cols.table.c.id], len(ids), 0
    )
    pairs = sorted(
        zip([r["id"] for r in keyed], shaped, strict=True), key=lambda pair: position[pair[0]]
    )
    return [row for _, row in pairs]


def out_row(row: Row, gate: Gate | None = None) -> Row:
    """A row as JSON; hidden fields only for the service role."""
    return {k: to_json(v) for k, v in row.items() if gate is None or gate.visible(k)}
