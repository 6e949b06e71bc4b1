"""Compile a parsed rule to a SQLAlchemy boolean expression (PocketBase semantics, adapted).

Fields become columns (or subqueries through relations); ``@auth``, ``@request``, ``@now``,
literals and function results are values known now. A comparison between values is decided
here, in Python, and becomes ``true``/``false``; one with a column becomes SQL, its value a
bound parameter typed like the column. No SQL text is ever built from the rule.

``@path.<path>`` goes to the resolver like a field, as the path ``("@path", *path)``: only a
storage policy's resolver gives it a meaning (``@path.segments[0]``, a key's first folder).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from apprun.lib.rules import (
    And,
    AuthRef,
    Call,
    Compare,
    Expr,
    Field,
    Literal,
    Not,
    Now,
    Or,
    PathRef,
    RequestRef,
    path_text,
)
from apprun.lib.rules import Operand as Node
from apprun.modules.data.rules import py_predicates as py
from apprun.modules.data.rules import sql_predicates as sql
from apprun.modules.data.rules.context import AuthInfo, RequestInfo, RuleCompileError
from apprun.modules.data.rules.operands import (
    BOOLEAN,
    LIST,
    MISMATCH,
    TEXT,
    TIMESTAMP,
    CoercionError,
    Column,
    Operand,
    Value,
    coerce,
    compatible,
    element_text,
    is_textual,
    literal_as,
    runtime,
    show,
)
from apprun.modules.data.rules.resolvers import Resolver
from apprun.modules.data.values import SYSTEM

DIALECTS: Final = ("sqlite", "postgresql")
FUNCTIONS: Final = ("has_role", "has_perm")
AUTH_NAMES: Final = ("id", "role", "email", "aal")
LIKE: Final = ("~", "!~")
_FLIP: Final = {"=": "=", "!=": "!=", ">": "<", ">=": "<=", "<": ">", "<=": ">="}


def compile_rule(
    expr: Expr,
    resolver: Resolver,
    auth: AuthInfo,
    request: RequestInfo,
    *,
    now: datetime,
    has_perm: Callable[[str], bool],
    dialect: str,
) -> ColumnElement[bool]:
    """The rule ``expr`` as a boolean expression for ``select(...).where(...)``.

    ``dialect`` ("sqlite" or "postgresql") picks the JSON array functions; ``now`` is
    ``@now`` (a naive datetime is taken as UTC). Raises RuleCompileError, and only that, for
    a rule that ``validate_rule`` refuses.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; expected one of {DIALECTS}")
    return Compiler(resolver, auth, request, now, has_perm, dialect).condition(expr)


def _bool(value: bool) -> ColumnElement[bool]:
    return sa.true() if value else sa.false()


def _joined(
    join: Callable[..., ColumnElement[bool]],
    parts: list[ColumnElement[bool]],
    absorbing: type[sa.True_ | sa.False_],
) -> ColumnElement[bool]:
    """``&&``/``||`` of ``parts``, folded: a part known now either decides or drops out."""
    if any(isinstance(part, absorbing) for part in parts):
        return sa.false() if absorbing is sa.False_ else sa.true()
    unknown = [part for part in parts if not isinstance(part, sa.True_ | sa.False_)]
    if not unknown:
        return sa.true() if absorbing is sa.False_ else sa.false()
    return unknown[0] if len(unknown) == 1 else join(*unknown)


class Compiler:
    """One compilation: the rule's context, and a method per kind of node."""

    def __init__(
        self,
        resolver: Resolver,
        auth: AuthInfo,
        request: RequestInfo,
        now: datetime,
        has_perm: Callable[[str], bool],
        dialect: str,
    ) -> None:
        self.resolver = resolver
        self.auth = auth
        self.request = request
        self.now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        self.has_perm = has_perm
        self.dialect = dialect

    def condition(self, expr: Expr) -> ColumnElement[bool]:
        """A condition: ``&&``, ``||``, ``!``, a comparison, a call or ``true``/``false``."""
        if isinstance(expr, And):
            return _joined(sa.and_, [self.condition(item) for item in expr.items], sa.False_)
        if isinstance(expr, Or):
            return _joined(sa.or_, [self.condition(item) for item in expr.items], sa.True_)
        if isinstance(expr, Not):
            return sa.not_(self.condition(expr.item))
        if isinstance(expr, Compare):
            return self.comparison(expr)
        if isinstance(expr, Call):
            return _bool(self.call(expr))
        if isinstance(expr, Literal) and isinstance(expr.value, bool):
            return _bool(expr.value)
        shown = show(expr.value) if isinstance(expr, Literal) else type(expr).__name__
        raise RuleCompileError(f"{shown} is not a condition")

    def comparison(self, node: Compare) -> ColumnElement[bool]:
        """``left op right``, or its "any element" form."""
        if node.op not in _FLIP and node.op not in LIKE:
            raise RuleCompileError(f"unknown operator {node.op!r}")
        left, right = self.operand(node.left), self.operand(node.right)
        if node.any_of:
            return self.any_of(node.op, left, right)
        if node.op in LIKE:
            found = self.contains(left, right)
            return found if node.op == "~" else sa.not_(found)
        return self.compare(node.op, left, right)

    def operand(self, node: Node) -> Operand:
        """A side of a comparison, typed."""
        if isinstance(node, Literal):
            return Value(node.value, None, "literal", show(node.value))
        if isinstance(node, Field):
            return self.resolved(node.path, f"field '{path_text(node.path)}'")
        if isinstance(node, PathRef):
            path = ("@path", *node.path)
            return self.resolved(path, path_text(path))
        if isinstance(node, AuthRef):
            return self.auth_value(node.path)
        if isinstance(node, RequestRef):
            return self.request_value(node.path)
        if isinstance(node, Now):
            return Value(self.now, TIMESTAMP, "macro", "@now")
        if isinstance(node, Call):
            return Value(self.call(node), BOOLEAN, "macro", f"{node.name}(…)")
        raise RuleCompileError(f"{type(node).__name__} cannot be compared")

    def resolved(self, path: tuple[str, ...], label: str) -> Operand:
        """What the resolver makes of ``path``: a column, or a value it already knows."""
        expr, spec = self.resolver.resolve(path)
        if isinstance(expr, BindParameter):
            return Value(expr.value, spec, "field", label)
        return Column(expr, spec, label)

    def auth_value(self, path: tuple[str, ...]) -> Value:
        """``@auth.<path>``."""
        label = path_text(("@auth", *path))
        name, rest = (path[0], path[1:]) if path else ("", ())
        if name in AUTH_NAMES and not rest:
            return Value(getattr(self.auth, name), TEXT, "macro", label)
        if name == "roles" and not rest:
            return Value(tuple(self.auth.roles), LIST, "macro", label)
        if name == "claims" and rest:
            return Value(self.auth.claim(rest), None, "macro", label)
        raise RuleCompileError(
            f"unknown name '{label}'; expected @auth.id, @auth.role, @auth.roles, "
            "@auth.email, @auth.aal or @auth.claims.<name>"
        )

    def request_value(self, path: tuple[str, ...]) -> Value:
        """``@request.method`` or ``@request.body.<field>``, typed like that field."""
        label = path_text(("@request", *path))
        if path == ("method",):
            return Value(self.request.method, TEXT, "macro", label)
        if len(path) == 2 and path[0] == "body":
            collection = self.resolver.spec
            spec = collection.field(path[1]) or (SYSTEM["id"] if path[1] == "id" else None)
            if spec is None:
                raise RuleCompileError(
                    f"'{label}': collection '{collection.name}' has no field '{path[1]}'"
                )
            return Value(self.request.body_value(path[1]), spec, "macro", label)
        raise RuleCompileError(
            f"unknown name '{label}'; expected @request.method or @request.body.<field>"
        )

    def call(self, node: Call) -> bool:
        """``has_role("r")`` from the caller's roles, ``has_perm("p")`` from the callback."""
        if node.name not in FUNCTIONS:
            raise RuleCompileError(
                f"unknown function '{node.name}'; the functions are has_role and has_perm"
            )
        arg = node.args[0] if len(node.args) == 1 else None
        if not isinstance(arg, Literal) or not isinstance(arg.value, str):
            raise RuleCompileError(
                f'{node.name} takes exactly one string argument, e.g. {node.name}("editor")'
            )
        if node.name == "has_role":
            return arg.value in self.auth.roles
        return bool(self.has_perm(arg.value))

    def compare(self, op: str, left: Operand, right: Operand) -> ColumnElement[bool]:
        """``= != > >= < <=``: SQL when a column is involved, else decided here."""
        if isinstance(right, Column) and not isinstance(left, Column):
            left, right, op = right, left, _FLIP[op]
        if isinstance(left, Value) and left.is_null_literal:
            left, right = right, left
        if isinstance(right, Value) and right.is_null_literal:
            return self.null_check(op, left)
        _single(left)
        _single(right)
        left, right = _typed(left, right)
        if isinstance(left, Column):
            if isinstance(right, Column):
                return sql.between_columns(op, left.expr, right.expr)
            return sql.against_value(op, left.expr, runtime(right, left.spec))
        if not isinstance(right, Value):  # unreachable: a column was swapped to the left
            raise RuleCompileError("a column on the right of a value")
        spec = left.spec or right.spec
        return _bool(py.compare(op, runtime(left, spec), runtime(right, spec)))

    def null_check(self, op: str, subject: Operand) -> ColumnElement[bool]:
        """``x = null`` / ``x != null``: IS NULL / IS NOT NULL."""
        if op not in ("=", "!="):
            raise RuleCompileError(f"null can only be compared with = or !=, not with {op}")
        if isinstance(subject, Column):
            found = sql.is_null(subject.expr, subject.spec, self.dialect)
        else:
            found = _bool(subject.value is None)
        return found if op == "=" else sa.not_(found)

    def contains(self, left: Operand, right: Operand) -> ColumnElement[bool]:
        """``left ~ right``: a case-insensitive LIKE, "contains" when there is no wildcard."""
        if not is_textual(left.spec):
            raise RuleCompileError(
                f"~ applies to text, and {left.label} is {getattr(left.spec, 'type', '')}"
            )
        pattern = self.pattern(right, "~")
        if isinstance(left, Column):
            return sql.like(left.expr, pattern)
        return _bool(py.like(runtime(left, TEXT), pattern))

    def pattern(self, right: Operand, op: str) -> Any:
        """The LIKE pattern of the right side of ``~``: a literal's wildcards work, a runtime
        value's do not (it is searched for as is)."""
        if isinstance(right, Column) or right.is_null_literal or not is_textual(right.spec):
            raise RuleCompileError(
                f'the right side of {op} must be a string or a text value, e.g. title ~ "news", '
                f"not {right.label}"
            )
        if right.origin == "literal":
            try:
                return py.literal_pattern(coerce(TEXT, right.value))
            except CoercionError:
                raise RuleCompileError(
                    f"{op} needs a string on its right, not {right.label}"
                ) from None
        text = runtime(right, TEXT)
        return py.value_pattern(text) if isinstance(text, str) else text

    def any_of(self, op: str, left: Operand, right: Operand) -> ColumnElement[bool]:
        """``list ?op value``: some element of a json array (or ``@auth.roles``) satisfies it."""
        if isinstance(left, Value) and left.origin == "literal":
            raise RuleCompileError(f"?{op} needs a list on its left, not {left.label}")
        if left.spec is not None and left.spec.type != "json":
            raise RuleCompileError(
                f"?{op} compares the elements of a list (a json field, @auth.roles), "
                f"and {left.label} is {left.spec.type}; use {op} instead"
            )
        wanted = self.element_operand(op, right)
        if isinstance(left, Column):
            return sql.any_element(
                self.dialect, left.expr, lambda text: _element_sql(op, text, wanted)
            )
        items = left.value if isinstance(left.value, list | tuple) else ()
        return _bool(any(_element_py(op, element_text(item), wanted) for item in items))

    def element_operand(self, op: str, right: Operand) -> Any:
        """What each element is compared with: text, a pattern, None or MISMATCH."""
        if op in LIKE:
            return self.pattern(right, f"?{op}")
        if isinstance(right, Column):
            raise RuleCompileError(f"the right side of ?{op} must be a value, not {right.label}")
        _single(right)
        if right.is_null_literal and op not in ("=", "!="):
            raise RuleCompileError(f"null can only be compared with ?= or ?!=, not with ?{op}")
        if right.origin == "literal":
            return element_text(right.value)
        value = runtime(right, None)
        return value if value is MISMATCH else element_text(value)


def _single(side: Operand) -> None:
    """Refuse a list or json operand where a single value is compared."""
    if side.spec is not None and side.spec.type == "json":
        raise RuleCompileError(
            f"{side.label} holds json (a list): compare it with null, "
            "or its elements with ?=, ?!=, ?>, ?~ …"
        )


def _typed(left: Operand, right: Operand) -> tuple[Operand, Operand]:
    """Coerce a rule literal to the other side's type, and refuse incomparable types."""
    if isinstance(right, Value) and right.origin == "literal":
        return left, literal_as(right, left)
    if isinstance(left, Value) and left.origin == "literal":
        return literal_as(left, right), right
    if not compatible(left, right):
        raise RuleCompileError(
            f"type mismatch: {left.label} is {getattr(left.spec, 'type', '')} "
            f"and {right.label} is {getattr(right.spec, 'type', '')}"
        )
    return left, right


def _element_sql(op: str, text: ColumnElement[str], wanted: Any) -> ColumnElement[bool]:
    if op in LIKE:
        found = sql.like(text, wanted)
        return found if op == "~" else sa.not_(found)
    return sql.against_value(op, text, wanted)


def _element_py(op: str, text: str | None, wanted: Any) -> bool:
    if op in LIKE:
        return py.like(text, wanted) == (op == "~")
    return py.compare(op, text, wanted)
