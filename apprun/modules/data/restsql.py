"""Compile the PostgREST AST (``apprun.lib.postgrest``) to SQLAlchemy expressions on a
collection's table. Every value is coerced to the field's type and bound; names are only
ever looked up among the collection's columns."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from apprun.lib.postgrest.nodes import (
    Filter,
    JsonPath,
    LogicTree,
    OrderTerm,
    SelectColumn,
    SelectItem,
)
from apprun.lib.postgrest.nodes import SelectStar as Star
from apprun.modules.data.errors import RestBadRequest
from apprun.modules.data.schemas import CollectionSpec, FieldSpec
from apprun.modules.data.values import SYSTEM, from_text

Compare = Callable[[ColumnElement[Any], Any], ColumnElement[bool]]
COMPARE: dict[str, Compare] = {
    "eq": lambda c, v: c == v,
    "neq": lambda c, v: c != v,
    "gt": lambda c, v: c > v,
    "gte": lambda c, v: c >= v,
    "lt": lambda c, v: c < v,
    "lte": lambda c, v: c <= v,
    "isdistinct": lambda c, v: c.is_distinct_from(v),
}
PATTERN = {"like", "ilike", "match", "imatch"}
JSON_SETS = {"cs", "cd", "ov"}
TEXTUAL = {"text", "varchar", "email", "url", "select"}


class Columns:
    """The columns of one collection, with their field definitions, for one request."""

    def __init__(
        self,
        spec: CollectionSpec,
        table: sa.Table,
        visible: Callable[[str], bool],
        dialect: str,
    ) -> None:
        self.spec = spec
        self.table = table
        self.visible = visible
        self.dialect = dialect

    def field(self, name: str) -> tuple[ColumnElement[Any], FieldSpec]:
        spec = self.spec.field(name) or SYSTEM.get(name)
        if spec is None or not self.visible(name):
            raise RestBadRequest(
                f"column {self.spec.name}.{name} does not exist",
                pg_code="42703",
                hint="Check the spelling, or the collection's fields in /admin/v1/collections.",
            )
        return self.table.c[name], spec


def selected_columns(cols: Columns, items: Sequence[SelectItem]) -> list[ColumnElement[Any]]:
    """The columns of a ``select`` level, labelled with their output keys."""
    result: list[ColumnElement[Any]] = []
    for item in items:
        if isinstance(item, Star):
            result.extend(c for c in cols.table.c if cols.visible(c.name))
        elif isinstance(item, SelectColumn):
            if item.aggregate:
                # As PostgREST's default configuration (db-aggregates-enabled = false).
                raise RestBadRequest(
                    "Use of aggregate functions is not allowed", pg_code="PGRST123"
                )
            column, spec = cols.field(item.name)
            if item.json_path:
                column = json_path(column, spec, item.json_path)
            if item.cast:
                column = sa.cast(column, _cast_type(item.cast))
            result.append(column.label(item.output_key))
        # Embeds are fetched and attached by embedding.Embedder.
    return result


def condition(cols: Columns, node: Filter | LogicTree) -> ColumnElement[bool]:
    if isinstance(node, LogicTree):
        parts = [condition(cols, child) for child in node.children]
        joined = sa.and_(*parts) if node.operator == "and" else sa.or_(*parts)
        return sa.not_(joined) if node.negated else joined
    column, spec = cols.field(node.column)
    if node.json_path:
        expression = _json_filter(cols, column, spec, node)
    else:
        expression = _operator(cols, column, spec, node)
    return sa.not_(expression) if node.negated else expression


def _operator(
    cols: Columns, column: ColumnElement[Any], spec: FieldSpec, node: Filter
) -> ColumnElement[bool]:
    op, value = node.operator, node.value
    if node.modifier is not None:
        values = value if isinstance(value, tuple) else (value,)
        parts = [_single(cols, column, spec, op, v) for v in values if v is not None]
        return sa.or_(*parts) if node.modifier == "any" else sa.and_(*parts)
    if op == "in":
        items = value if isinstance(value, tuple) else (value,)
        return column.in_([from_text(spec, v) for v in items if v is not None])
    if op == "is":
        return _is(column, str(value))
    if op in JSON_SETS:
        return _json_set(cols.dialect, column, spec, op, str(value))
    if isinstance(value, tuple):
        raise RestBadRequest(f'operator "{op}" takes one value', pg_code="PGRST100")
    return _single(cols, column, spec, op, value)


def _single(
    cols: Columns, column: ColumnElement[Any], spec: FieldSpec, op: str, value: str
) -> ColumnElement[bool]:
    if op in COMPARE:
        return COMPARE[op](column, from_text(spec, value))
    if op not in PATTERN:
        raise _unsupported(f'the operator "{op}"')
    text = column if spec.type in TEXTUAL else sa.cast(column, sa.Text)
    if op == "like":
        return text.like(value.replace("*", "%"))
    if op == "ilike":
        return text.ilike(value.replace("*", "%"))
    if op == "imatch" and cols.dialect != "postgresql":
        # SQLite's REGEXP is Python's re.search, which ignores SQLAlchemy's flags argument.
        return text.regexp_match("(?i)" + value)
    return text.regexp_match(value, flags="i" if op == "imatch" else None)


def _is(column: ColumnElement[Any], value: str) -> ColumnElement[bool]:
    if value in ("null", "unknown"):
        return column.is_(None)
    if value == "not_null":
        return column.is_not(None)
    return column.is_(sa.true() if value == "true" else sa.false())


def _json_set(
    dialect: str, column: ColumnElement[Any], spec: FieldSpec, op: str, text: str
) -> ColumnElement[bool]:
    """``cs``/``cd``/``ov`` on JSON arrays of scalars, compared as text on both databases."""
    if spec.type != "json":
        raise _unsupported(f'"{op}" on a {spec.type} field (only json arrays)')
    wanted = _array_items(text)
    each = sa.func.jsonb_array_elements_text if dialect == "postgresql" else sa.func.json_each
    elements = each(column).table_valued("value").alias("element")
    element_text = sa.cast(elements.c.value, sa.Text)
    if op == "cs":  # every wanted item is in the column
        return (
            sa.and_(
                *[
                    sa.exists(sa.select(1).select_from(elements).where(element_text == item))
                    for item in wanted
                ]
            )
            if wanted
            else sa.true()
        )
    if op == "ov":
        return sa.exists(sa.select(1).select_from(elements).where(element_text.in_(wanted)))
    return ~sa.exists(sa.select(1).select_from(elements).where(element_text.not_in(wanted)))


def _array_items(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            raise RestBadRequest(
                f'invalid input syntax for type json: "{text}"', pg_code="22P02"
            ) from None
        return [
            json.dumps(i)
            if isinstance(i, dict | list)
            else str(i).lower()
            if isinstance(i, bool)
            else str(i)
            for i in items
        ]
    if text.startswith("{") and text.endswith("}"):
        return [part.strip().strip('"') for part in text[1:-1].split(",") if part.strip()]
    raise RestBadRequest(f'malformed array literal: "{text}"', pg_code="22P02")


def order_by(cols: Columns, terms: Sequence[OrderTerm]) -> list[ColumnElement[Any]]:
    clauses: list[ColumnElement[Any]] = []
    for term in terms:
        if term.embed is not None:
            raise _unsupported("ordering by an embedded column here")
        column, spec = cols.field(term.column)
        if term.json_path:
            column = json_value(cols, column, spec, term.json_path)
        clauses.append(ordered(column, term))
    return clauses


def ordered(column: ColumnElement[Any], term: OrderTerm) -> ColumnElement[Any]:
    """``column`` sorted as ``term`` says, NULLs placed explicitly (PostgreSQL's defaults,
    made explicit so SQLite orders the same way)."""
    direction = column.desc() if term.descending else column.asc()
    nulls = term.nulls or ("first" if term.descending else "last")
    return direction.nulls_first() if nulls == "first" else direction.nulls_last()


CASTS: dict[str, sa.types.TypeEngine[Any]] = {
    "text": sa.Text(), "varchar": sa.Text(), "int": sa.Integer(), "int4": sa.Integer(),
    "integer": sa.Integer(), "bigint": sa.BigInteger(), "int8": sa.BigInteger(),
    "numeric": sa.Numeric(), "float": sa.Float(), "float8": sa.Float(),
    "double precision": sa.Float(), "real": sa.Float(), "bool": sa.Boolean(),
    "boolean": sa.Boolean(), "date": sa.Date(),
}  # fmt: skip


def _cast_type(name: str) -> sa.types.TypeEngine[Any]:
    try:
        return CASTS[name.lower()]
    except KeyError:
        raise RestBadRequest(
            f'type "{name}" does not exist',
            pg_code="42704",
            hint="Casts to: " + ", ".join(sorted(CASTS)),
        ) from None


def json_path(column: ColumnElement[Any], spec: FieldSpec, path: JsonPath) -> ColumnElement[Any]:
    """``data->a->0->>b``: JSON (``->``) or text (``->>``, last step) inside a json field."""
    if spec.type != "json":
        raise RestBadRequest(
            f"operator does not exist: {spec.type} -> unknown",
            pg_code="42883",
            hint="JSON paths apply to json fields.",
        )
    keys = tuple(step.operand for step in path)
    inner = column[keys if len(keys) > 1 else keys[0]]
    return inner.as_string() if path[-1].as_text else inner


def json_value(
    cols: Columns, column: ColumnElement[Any], spec: FieldSpec, path: JsonPath
) -> ColumnElement[Any]:
    """A JSON path as a value SQL can order and test for NULL: numbers stay numbers, a
    missing key is NULL (SQLite's JSON_QUOTE would turn it into the text 'null')."""
    if path[-1].as_text or cols.dialect == "postgresql":
        return json_path(column, spec, path)
    json_path(column, spec, path)  # the same checks
    if any('"' in str(step.operand) or "\\" in str(step.operand) for step in path):
        raise _unsupported("quotes and backslashes in JSON keys")
    steps = "".join(f"[{s.operand}]" if s.is_index else f'."{s.operand}"' for s in path)
    return sa.func.json_extract(column, "$" + steps)


def _json_filter(
    cols: Columns, column: ColumnElement[Any], spec: FieldSpec, node: Filter
) -> ColumnElement[bool]:
    """Filters on JSON paths: ``->>`` compares text; ``->`` compares JSON values."""
    inner = json_path(column, spec, node.json_path)
    text_result = node.json_path[-1].as_text
    op, value = node.operator, node.value
    if op == "is":
        return _is(json_value(cols, column, spec, node.json_path), str(value))
    if text_result:
        if op == "in" and isinstance(value, tuple):
            return inner.in_([v for v in value if v is not None])
        if isinstance(value, str) and op in COMPARE:
            return COMPARE[op](inner, value)
        if isinstance(value, str) and op in ("like", "ilike"):
            pattern = value.replace("*", "%")
            return inner.like(pattern) if op == "like" else inner.ilike(pattern)
    elif op in ("eq", "neq") and isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise RestBadRequest(
                f'invalid input syntax for type json: "{value}"', pg_code="22P02"
            ) from None
        target: ColumnElement[Any] = (
            sa.bindparam(None, parsed, type_=JSONB)
            if cols.dialect == "postgresql"
            else sa.func.json(sa.literal(json.dumps(parsed, separators=(",", ":"))))
        )
        return inner == target if op == "eq" else inner != target
    raise _unsupported(f'the operator "{op}" on a JSON path')


def _unsupported(what: str) -> RestBadRequest:
    return RestBadRequest(
        f"{what} is not supported yet",
        pg_code="PGRST100",
        hint="See docs/data.md for what /rest/v1 serves today.",
    )
