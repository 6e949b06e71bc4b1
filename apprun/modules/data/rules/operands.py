"""The two sides of a comparison, typed: a SQL expression (``Column``) or a value known while
compiling (``Value``: a literal, ``@auth``/``@request``/``@now``, a function's result, a
candidate row's field), and the coercion of values to a field's type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final, Literal

from sqlalchemy.sql.elements import ColumnElement

from apprun.modules.data.errors import RestBadRequest
from apprun.modules.data.rules.context import RuleCompileError
from apprun.modules.data.schemas import NUMBER_TYPES, TEXT_TYPES, FieldSpec
from apprun.modules.data.values import from_json


class _Mismatch:
    """A runtime value that fits no value of the other side (null from ``@auth``/``@request``,
    or a value not of the field's type): ``=`` and orderings are false, ``!=`` is true."""

    def __repr__(self) -> str:
        return "MISMATCH"


MISMATCH: Final = _Mismatch()

Origin = Literal["literal", "macro", "field"]


def _spec(kind: Any) -> FieldSpec:
    return FieldSpec(name="value", type=kind)


TEXT: Final = _spec("text")
BOOLEAN: Final = _spec("boolean")
TIMESTAMP: Final = _spec("timestamp")
LIST: Final = _spec("json")
"""The type of list-valued names such as ``@auth.roles``: only ``?=``-style operators apply."""

# Coercion checks the type only: a comparison value need not match an email field's format or
# a field's pattern, so text-like fields coerce as plain text.
_LOOSE: Final = {kind: _spec(kind) for kind in ("text", *NUMBER_TYPES, "boolean", "timestamp",
                                                "date", "uuid", "json")}  # fmt: skip
_TEXTUAL: Final = frozenset({*TEXT_TYPES, "uuid", "relation"})


@dataclass(frozen=True)
class Column:
    """A SQL expression of the record: a column, or a subquery through relations."""

    expr: ColumnElement[Any]
    spec: FieldSpec
    label: str


@dataclass(frozen=True)
class Value:
    """A value known while compiling; ``spec`` is None when its type is unknown (claims)."""

    value: Any
    spec: FieldSpec | None
    origin: Origin
    label: str

    @property
    def is_null_literal(self) -> bool:
        """Whether this is the literal ``null`` of the rule text."""
        return self.origin == "literal" and self.value is None


Operand = Column | Value


def family(spec: FieldSpec) -> str:
    """The kind of values a field holds, for deciding what may be compared with what."""
    if spec.type in _TEXTUAL:
        return "text"
    if spec.type in NUMBER_TYPES:
        return "number"
    return spec.type


def is_textual(spec: FieldSpec | None) -> bool:
    """Whether ``~`` applies: text-like fields, and values of unknown type."""
    return spec is None or family(spec) == "text"


def compatible(left: Operand, right: Operand) -> bool:
    """Whether the two sides' types may be compared (unknown types always may)."""
    if left.spec is None or right.spec is None:
        return True
    if family(left.spec) == family(right.spec):
        return True
    # A value converts between date and timestamp (``due < @now``); two columns do not.
    kinds = {left.spec.type, right.spec.type}
    return kinds == {"date", "timestamp"} and Value in (type(left), type(right))


class CoercionError(ValueError):
    """A value that is not of the field's type."""


def coerce(spec: FieldSpec, value: Any) -> Any:
    """``value`` as a value of ``spec``'s type, as ``values.from_json`` reads a body value."""
    if value is None:
        return None
    if isinstance(value, datetime) and spec.type in ("timestamp", "date"):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC) if spec.type == "timestamp" else aware.date()
    if isinstance(value, date) and spec.type == "date":
        return value
    loose = _LOOSE.get(spec.type, TEXT)
    try:
        return from_json(loose, value)
    except (RestBadRequest, ValueError, TypeError, ArithmeticError):
        raise CoercionError(value) from None


def literal_as(literal: Value, other: Operand) -> Value:
    """The rule literal ``literal``, compared with ``other``, as a value of its type."""
    spec = other.spec
    if spec is None:
        return literal
    try:
        value = coerce(spec, literal.value)
    except CoercionError:
        raise RuleCompileError(
            f"type mismatch: {other.label} is {spec.type}, "
            f"and {literal.label} is not a valid {spec.type}"
        ) from None
    return Value(value, spec, "literal", literal.label)


def runtime(operand: Value, spec: FieldSpec | None) -> Any:
    """The value of ``operand`` for a comparison with a side of type ``spec``.

    None (SQL NULL) from ``@auth``/``@request`` is MISMATCH, so ``owner = @auth.id`` is false
    for an anonymous caller; a candidate row's null field stays None, as a column's would.
    """
    if operand.value is None:
        return MISMATCH if operand.origin == "macro" else None
    if spec is None:
        return operand.value
    try:
        return coerce(spec, operand.value)
    except CoercionError:
        return MISMATCH


def element_text(value: Any) -> str | None:
    """A JSON array element as the databases show it as text: strings bare, the rest as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool | int | float | list | tuple | dict):
        return json.dumps(value, default=str)
    return str(value)


def show(value: Any) -> str:
    """A literal as it is written in a rule, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
