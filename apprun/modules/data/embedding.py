"""Resource embedding on ``/rest/v1``: ``select=*,category(name),comments(*)``.

A relation field makes two links: many-to-one from the collection that has the field (the
embed is an object or null), one-to-many from its target (an array). Embedded rows go
through the target's grants and select policy like any read, are filtered, ordered and
limited by ``embed.col=…``, ``embed.order=…``, ``embed.limit=…``, and nest to any depth.
``!inner`` keeps only parents whose embed is not empty.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.lib.postgrest.nodes import OrderTerm, Path, SelectEmbed, SelectItem
from apprun.lib.postgrest.query import ApiRequest
from apprun.modules.data.access import Gate
from apprun.modules.data.errors import RestBadRequest, RestError
from apprun.modules.data.restsql import (
    Columns,
    condition,
    order_by,
    ordered,
    selected_columns,
)
from apprun.modules.data.schemas import CollectionSpec

Row = dict[str, Any]
KEY_PREFIX = "__apprun_join_"
GateFor = Callable[[CollectionSpec], Awaitable[Gate]]
ColumnsFor = Callable[[CollectionSpec, Gate], Columns]
Convert = Callable[[Row, Gate], Row]


class Ambiguous(RestError):
    status = 300
    code = "data.rest_ambiguous_embedding"
    message = "More than one relationship was found."
    postgrest_code = "PGRST201"


@dataclass(frozen=True)
class Link:
    kind: Literal["one", "many"]
    target: CollectionSpec
    local: str
    """The parent's column: the relation field (one), or ``id`` (many)."""
    remote: str
    """The target's column: ``id`` (one), or its relation field (many)."""


def embeds(items: tuple[SelectItem, ...]) -> list[SelectEmbed]:
    return [item for item in items if isinstance(item, SelectEmbed)]


def resolve_link(
    parent: CollectionSpec, embed: SelectEmbed, specs: Mapping[str, CollectionSpec]
) -> Link:
    """The relationship ``embed`` names, by target collection or relation field name."""
    candidates = []
    for field in parent.fields:
        target_spec = specs.get(field.collection or "")
        if target_spec is not None and embed.target in (field.name, field.collection):
            candidates.append(Link("one", target_spec, field.name, "id"))
    target = specs.get(embed.target)
    if target is not None:
        candidates += [
            Link("many", target, "id", f.name)
            for f in target.fields
            if f.type == "relation" and f.collection == parent.name
        ]
    if embed.hint is not None:
        candidates = [c for c in candidates if embed.hint in (c.local, c.remote)]
    if not candidates:
        raise RestBadRequest(
            f"Could not find a relationship between '{parent.name}' and '{embed.target}' "
            "in the schema cache",
            pg_code="PGRST200",
        )
    if len(candidates) > 1:
        hints = ", ".join(
            f"'{embed.target}!{c.local if c.kind == 'one' else c.remote}'" for c in candidates
        )
        raise Ambiguous(
            f"Could not embed because more than one relationship was found for "
            f"'{parent.name}' and '{embed.target}'",
            hint=f"Try changing '{embed.target}' to one of the following: {hints}.",
        )
    return candidates[0]


def check_paths(req: ApiRequest) -> None:
    """Filters, orders and limits may only name embeds that are in ``select``."""
    known: set[Path] = set()

    def collect(items: tuple[SelectItem, ...], path: Path) -> None:
        for embed in embeds(items):
            known.add((*path, embed.name))
            collect(embed.items, (*path, embed.name))

    collect(req.select, ())
    for path in req.embed_paths:
        if path not in known:
            raise RestBadRequest(
                f"'{'.'.join(path)}' is not an embedded resource in this request",
                pg_code="PGRST108",
                hint=f"Add '{path[-1]}' to the select parameter.",
            )


@dataclass
class Embedder:
    """Attaches the embeds of one level to already fetched rows, then recurses."""

    req: ApiRequest
    specs: Mapping[str, CollectionSpec]
    gate_for: GateFor
    columns_for: ColumnsFor
    convert: Convert

    async def attach(
        self,
        conn: AsyncConnection,
        parent: CollectionSpec,
        rows: list[Row],
        items: tuple[SelectItem, ...],
        path: Path,
    ) -> list[Row]:
        for embed in embeds(items):
            link = resolve_link(parent, embed, self.specs)
            rows = await self._attach_one(conn, link, embed, rows, (*path, embed.name))
        return rows

    async def _attach_one(
        self, conn: AsyncConnection, link: Link, embed: SelectEmbed, rows: list[Row], path: Path
    ) -> list[Row]:
        gate = await self.gate_for(link.target)
        cols = self.columns_for(link.target, gate)
        keys = {row[_key(link.local)] for row in rows if row.get(_key(link.local)) is not None}
        children: dict[Any, list[Row]] = {}
        if keys:
            where = sa.and_(
                cols.table.c[link.remote].in_(keys),
                gate.filter(cols.table),
                *[condition(cols, c) for c in self.req.conditions_at(path)],
            )
            found = await _fetch(conn, cols, embed, link, where, self.req, path)
            found = await self.attach(conn, link.target, found, embed.items, path)
            for child in found:
                children.setdefault(child.pop(_key(link.remote)), []).append(child)
        paging = self.req.paging_at(path)
        kept = []
        for row in rows:
            matched = children.get(row.get(_key(link.local)), [])
            if link.kind == "many":
                start = paging.offset or 0
                end = None if paging.limit is None else start + paging.limit
                matched = matched[start:end]
            value: Any = [self.convert(c, gate) for c in matched]
            if link.kind == "one":
                value = value[0] if value else None
            if embed.join == "inner" and not value:
                continue
            if embed.spread:
                _spread(row, value, link, _output_keys(cols, embed))
            elif embed.items:  # `rel()` selects nothing and adds no key
                row[embed.name] = value
            kept.append(row)
        return kept


async def _fetch(
    conn: AsyncConnection,
    cols: Columns,
    embed: SelectEmbed,
    link: Link,
    where: sa.ColumnElement[bool],
    req: ApiRequest,
    path: Path,
) -> list[Row]:
    columns = {c.key: c for c in selected_columns(cols, embed.items)}
    keys: list[sa.ColumnElement[Any]] = [cols.table.c[link.remote].label(_key(link.remote))]
    if embeds(embed.items):
        keys += link_columns(cols.spec, cols.table)
    columns.update({c.key: c for c in keys})
    stmt = sa.select(*columns.values()).where(where)
    result = await conn.execute(stmt.order_by(*order_by(cols, req.order_at(path))))
    return [{str(k): v for k, v in row.items()} for row in result.mappings()]


async def order_by_embed(
    embedder: Embedder, parent: Columns, term: OrderTerm
) -> sa.ColumnElement[Any]:
    """``order=category(name).desc``: parents sorted by a to-one embed's column."""
    embed = next((e for e in embeds(embedder.req.select) if e.name == term.embed), None)
    if embed is None:
        raise RestBadRequest(
            f"'{term.embed}' is not an embedded resource in this request", pg_code="PGRST108"
        )
    link = resolve_link(parent.spec, embed, embedder.specs)
    if link.kind == "many":
        raise RestBadRequest(
            f"A related order on '{term.embed}' is not possible",
            pg_code="PGRST118",
            details="It is a to-many relationship.",
        )
    gate = await embedder.gate_for(link.target)
    target = embedder.columns_for(link.target, gate)
    column, _ = target.field(term.column)
    value = (
        sa.select(column)
        .where(target.table.c.id == parent.table.c[link.local], gate.filter(target.table))
        .scalar_subquery()
    )
    return ordered(value, term)


def _output_keys(cols: Columns, embed: SelectEmbed) -> list[str]:
    keys = [str(c.key) for c in selected_columns(cols, embed.items)]
    return keys + [child.name for child in embeds(embed.items) if not child.spread]


def _spread(row: Row, value: Any, link: Link, keys: list[str]) -> None:
    """``...rel(a,b)``: a to-one's columns join the parent; a to-many's become arrays."""
    if link.kind == "one":
        row.update({key: (value or {}).get(key) for key in keys})
    else:
        row.update({key: [child.get(key) for child in value] for key in keys})


def _key(column: str) -> str:
    # Internal join keys travel in the rows under a prefix that output keys do not use.
    return f"{KEY_PREFIX}{column}"


def inner_filter(
    parent_cols: Columns,
    link: Link,
    target_cols: Columns,
    gate: Gate,
    conditions: list[sa.ColumnElement[bool]],
) -> sa.ColumnElement[bool]:
    """``!inner`` at the root, in SQL, so that limits and counts see it."""
    local = parent_cols.table.c[link.local]
    remote = target_cols.table.c[link.remote]
    return local.in_(sa.select(remote).where(gate.filter(target_cols.table), *conditions))


def link_columns(spec: CollectionSpec, table: sa.Table) -> list[sa.ColumnElement[Any]]:
    """The join keys a level needs for its embeds: its id and its relation fields."""
    names = ["id", *[f.name for f in spec.fields if f.type == "relation"]]
    return [table.c[name].label(_key(name)) for name in names]


def strip_keys(row: Row) -> Row:
    return {k: v for k, v in row.items() if not k.startswith(KEY_PREFIX)}
