"""Comparisons as SQLAlchemy expressions, for SQLite and PostgreSQL alike.

Every predicate here is two-valued: where SQL would answer NULL (a NULL column) it answers
false, so ``!`` in a rule is an exact negation and ``!=``/``!~`` hold for NULL, as in
PocketBase. Values are always bound parameters typed like the column they meet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from apprun.modules.data.rules.operands import MISMATCH
from apprun.modules.data.rules.py_predicates import ORDER
from apprun.modules.data.schemas import FieldSpec


def definite(comparison: ColumnElement[bool], *subjects: ColumnElement[Any]) -> ColumnElement[bool]:
    """``comparison``, false instead of NULL when one of ``subjects`` is NULL."""
    nullable = [s for s in subjects if not (isinstance(s, sa.Column) and not s.nullable)]
    if all(isinstance(s, sa.Column) for s in nullable):
        # `col IS NOT NULL AND col = :v` keeps plain columns usable by their indexes.
        return sa.and_(*[s.is_not(None) for s in nullable], comparison)
    # Subqueries would run twice under IS NOT NULL; COALESCE reads them once.
    return sa.func.coalesce(comparison, sa.false(), type_=sa.Boolean)


def against_value(op: str, expr: ColumnElement[Any], value: Any) -> ColumnElement[bool]:
    """``expr op value``, the value already coerced to the column's type (see ``runtime``)."""
    if value is MISMATCH:
        return sa.true() if op == "!=" else sa.false()
    if value is None:
        # A candidate row's null field: null-safe, as between two columns.
        if op in ("=", "!="):
            return expr.is_(None) if op == "=" else expr.is_not(None)
        return sa.false()
    bound = sa.literal(value, expr.type)
    if op == "!=":
        return expr.is_distinct_from(bound)
    comparison: ColumnElement[bool] = ORDER[op](expr, bound)
    return definite(comparison, expr)


def between_columns(
    op: str, left: ColumnElement[Any], right: ColumnElement[Any]
) -> ColumnElement[bool]:
    """``left op right`` for two expressions: ``=``/``!=`` are null-safe (NULL equals NULL)."""
    if op == "=":
        return left.is_not_distinct_from(right)
    if op == "!=":
        return left.is_distinct_from(right)
    comparison: ColumnElement[bool] = ORDER[op](left, right)
    return definite(comparison, left, right)


def is_null(expr: ColumnElement[Any], spec: FieldSpec, dialect: str) -> ColumnElement[bool]:
    """``expr = null``: SQL NULL, and for json fields also a stored JSON ``null``."""
    if spec.type != "json":
        return expr.is_(None)
    typeof = sa.func.jsonb_typeof if dialect == "postgresql" else sa.func.json_type
    return sa.or_(expr.is_(None), typeof(expr) == "null")


def like(expr: ColumnElement[Any], pattern: Any) -> ColumnElement[bool]:
    """``expr ~ pattern``: a case-insensitive LIKE; NULL and MISMATCH match nothing."""
    if pattern is MISMATCH or pattern is None:
        return sa.false()
    return definite(expr.ilike(sa.literal(pattern, sa.Text()), escape="\\"), expr)


Predicate = Callable[[ColumnElement[str]], ColumnElement[bool]]


def any_element(
    dialect: str, expr: ColumnElement[Any], predicate: Predicate
) -> ColumnElement[bool]:
    """Whether some element of the JSON array ``expr``, as text, satisfies ``predicate``.

    Anything but an array (an object, a scalar, NULL) has no elements, on both databases.
    """
    if dialect == "postgresql":
        array = sa.case((sa.func.jsonb_typeof(expr) == "array", expr))
        rows = sa.func.jsonb_array_elements_text(array).table_valued(sa.column("value", sa.Text))
        elements = rows.alias()
        text: ColumnElement[str] = elements.c.value
    else:
        array = sa.case((sa.func.json_type(expr) == "array", expr))
        rows = sa.func.json_each(array).table_valued(sa.column("value"), sa.column("type"))
        elements = rows.alias()
        # json_each gives true/false as 1/0; PostgreSQL's text is `true`/`false`.
        text = sa.case(
            (elements.c.type.in_(("true", "false")), elements.c.type),
            else_=sa.cast(elements.c.value, sa.Text),
        )
    condition = predicate(text)
    if isinstance(condition, sa.False_):
        return condition
    return sa.exists(sa.select(1).select_from(elements).where(condition))
