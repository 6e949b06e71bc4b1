"""Where a rule's field paths come from: a table's columns (filters on stored rows), a
candidate row's values (insert checks), or bare field types (validation).

A path such as ``category.owner.email`` follows relation fields: each hop is a correlated
scalar subquery on the target table (``SELECT email FROM users WHERE users.id = …``). Paths
with an index (``tags[0]``) and ``@path.*`` (storage policies only) are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from apprun.lib.rules import is_index, path_text
from apprun.modules.data.ddl import column_type
from apprun.modules.data.rules.context import RuleCompileError
from apprun.modules.data.schemas import CollectionSpec, FieldSpec
from apprun.modules.data.values import SYSTEM

MAX_RELATION_DEPTH: Final = 4
"""How many relations one path may follow (``a.b.c.d.e`` follows four)."""

Tables = Callable[[str], sa.Table]


class Resolver(Protocol):
    """Turns a rule's field path into an expression and the field it ends on.

    A resolver that returns a ``BindParameter`` says the value is known (a candidate row's
    field): the compiler then compares it in Python where it can.
    """

    @property
    def spec(self) -> CollectionSpec:
        """The collection the rule belongs to (``@request.body.*`` names its fields)."""
        ...

    def resolve(self, path: tuple[str, ...]) -> tuple[ColumnElement[Any], FieldSpec]:
        """The expression of ``path`` and its field; RuleCompileError when there is none.

        ``path`` is a field's (``("category", "name")``), or ``("@path", *rest)`` for
        ``@path.<rest>``; an index ``[N]`` is the part ``"N"``.
        """
        ...


@dataclass(frozen=True)
class Hop:
    """One step of a path: the field ``name`` of ``collection``."""

    collection: CollectionSpec
    name: str
    field: FieldSpec


def walk_path(
    spec: CollectionSpec, path: tuple[str, ...], collections: Mapping[str, CollectionSpec]
) -> list[Hop]:
    """Check ``path`` against the collections and return its steps, first to last."""
    shown = path_text(path)
    if not path:
        raise RuleCompileError("an empty field path")
    if path[0] == "@path":
        raise RuleCompileError(f"'{shown}': @path is only available in storage policies")
    if any(is_index(part) for part in path):
        raise RuleCompileError(f"'{shown}': indexes are not supported on collection fields")
    if len(path) - 1 > MAX_RELATION_DEPTH:
        raise RuleCompileError(
            f"'{shown}' follows {len(path) - 1} relations; at most {MAX_RELATION_DEPTH} are allowed"
        )
    hops: list[Hop] = []
    current = spec
    for name in path:
        if hops:
            current = _target(spec, hops[-1], shown, collections)
        found = current.field(name) or SYSTEM.get(name)
        if found is None:
            raise RuleCompileError(f"unknown field '{name}' in collection '{current.name}'")
        hops.append(Hop(current, name, found))
    return hops


def _target(
    root: CollectionSpec, hop: Hop, shown: str, collections: Mapping[str, CollectionSpec]
) -> CollectionSpec:
    """The collection the relation ``hop`` points to."""
    target = hop.field.collection
    if hop.field.type != "relation" or target is None:
        raise RuleCompileError(
            f"'{hop.name}' in '{shown}' is not a relation field of collection "
            f"'{hop.collection.name}' ({hop.field.type}), so it has no fields"
        )
    # A collection may relate to itself before it is in the catalogue (while being created).
    found = collections.get(target) or (root if target == root.name else None)
    if found is None:
        raise RuleCompileError(
            f"relation field '{hop.name}' of collection '{hop.collection.name}' "
            f"points to unknown collection '{target}'"
        )
    return found


def follow(key: ColumnElement[Any], hops: Sequence[Hop], tables: Tables) -> ColumnElement[Any]:
    """From ``key`` (the id held by a relation field), read ``hops`` through their tables."""
    for hop in hops:
        # Aliased, so a relation to the rule's own collection is not correlated to itself.
        target = _table(tables, hop.collection.name).alias()
        column = _column(target, hop.name)
        key = (
            sa.select(column)
            .where(_column(target, "id") == key)
            .correlate_except(target)
            .scalar_subquery()
        )
    return key


def _table(tables: Tables, name: str) -> sa.Table:
    try:
        return tables(name)
    except LookupError:
        raise RuleCompileError(f"collection '{name}' has no table") from None


def _column(table: sa.FromClause, name: str) -> ColumnElement[Any]:
    try:
        return table.c[name]
    except LookupError:
        raise RuleCompileError(
            f"the table of '{table.description}' has no column '{name}'"
        ) from None


class TableResolver:
    """Fields of a collection's table, for filters on stored rows (select, update, delete)."""

    def __init__(
        self,
        spec: CollectionSpec,
        table: sa.Table,
        collections: Mapping[str, CollectionSpec],
        tables: Tables,
    ) -> None:
        self.spec = spec
        self.table = table
        self.collections = collections
        self.tables = tables

    def resolve(self, path: tuple[str, ...]) -> tuple[ColumnElement[Any], FieldSpec]:
        """The column of ``path``, or a subquery through its relations."""
        hops = walk_path(self.spec, path, self.collections)
        return follow(_column(self.table, path[0]), hops[1:], self.tables), hops[-1].field


class ValuesResolver:
    """Fields of a candidate row that is not in the database yet (insert checks).

    The row's own fields are bound values; relation paths start from the id the row holds.
    """

    def __init__(
        self,
        spec: CollectionSpec,
        row: Mapping[str, Any],
        collections: Mapping[str, CollectionSpec],
        tables: Tables,
    ) -> None:
        self.spec = spec
        self.row = row
        self.collections = collections
        self.tables = tables

    def resolve(self, path: tuple[str, ...]) -> tuple[ColumnElement[Any], FieldSpec]:
        """The row's value of ``path`` as a bound value, or a subquery through its relations."""
        hops = walk_path(self.spec, path, self.collections)
        value = self.row.get(path[0])
        if len(hops) == 1:
            return sa.literal(value, column_type(hops[0].field)), hops[0].field
        # A relation holds a string id; anything else points nowhere.
        key = sa.literal(value if isinstance(value, str) else None, sa.String(36))
        return follow(key, hops[1:], self.tables), hops[-1].field


class SpecResolver:
    """Field types only, for validation: placeholder columns that are never executed."""

    def __init__(self, spec: CollectionSpec, collections: Mapping[str, CollectionSpec]) -> None:
        self.spec = spec
        self.collections = collections

    def resolve(self, path: tuple[str, ...]) -> tuple[ColumnElement[Any], FieldSpec]:
        """A placeholder column typed like the field ``path`` ends on."""
        last = walk_path(self.spec, path, self.collections)[-1].field
        return sa.column(".".join(path), column_type(last)), last
