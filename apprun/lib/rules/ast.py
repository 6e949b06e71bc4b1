"""The syntax tree of the rule language, and helpers that read or re-render it.

Nodes are frozen, slotted dataclasses holding only tuples, so a parsed rule is hashable
and can be cached or used as a dictionary key.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

COMPARISON_OPERATORS = frozenset({"=", "!=", ">", ">=", "<", "<=", "~", "!~"})
"""The values of :attr:`Compare.op`; the ``?`` of the "any of" forms lives in ``any_of``."""


@dataclass(frozen=True, slots=True, eq=False)
class Literal:
    """A string, integer, decimal, ``true``, ``false`` or ``null``."""

    value: str | int | float | bool | None

    # The generated __eq__ would make 1 == 1.0 == true, and a compiler must tell them apart.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Literal):
            return NotImplemented
        return type(self.value) is type(other.value) and self.value == other.value

    def __hash__(self) -> int:
        return hash((type(self.value).__name__, self.value))


@dataclass(frozen=True, slots=True)
class Field:
    """A field of the record, possibly through relations: ``category.name``.

    An index ``[N]`` is a part holding N's decimal digits: ``a.b[0]`` is ``("a", "b", "0")``
    (a name never is all digits). The same holds for the paths of the macros below.
    """

    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuthRef:
    """``@auth.<path>``: the authenticated caller; ``@auth.id`` has the path ``("id",)``."""

    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RequestRef:
    """``@request.<path>``: the current request, e.g. ``@request.body.owner``."""

    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PathRef:
    """``@path.<path>``: the object key of a storage policy, e.g. ``@path.segments[0]``."""

    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Now:
    """``@now``: the current time."""


@dataclass(frozen=True, slots=True)
class Call:
    """A function call such as ``has_role("editor")``; its arguments are literals."""

    name: str
    args: tuple[Literal, ...] = ()


@dataclass(frozen=True, slots=True)
class Compare:
    """``left op right``; ``any_of`` is true for the ``?`` forms (``tags ?= "news"``)."""

    op: str
    left: Operand
    right: Operand
    any_of: bool = False


@dataclass(frozen=True, slots=True)
class And:
    """Every item holds (``&&``); the parser always gives it two or more items."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Some item holds (``||``); the parser always gives it two or more items."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The item does not hold (``!``)."""

    item: Expr


Operand: TypeAlias = Literal | Field | AuthRef | RequestRef | PathRef | Now | Call
"""What may stand on either side of a comparison."""

Expr: TypeAlias = Compare | And | Or | Not | Call | Literal
"""A condition; a :class:`Literal` here is always ``true`` or ``false``."""

Node: TypeAlias = Expr | Field | AuthRef | RequestRef | PathRef | Now


def _children(node: Node) -> tuple[Node, ...]:
    match node:
        case And(items) | Or(items):
            return items
        case Not(item):
            return (item,)
        case Compare(_, left, right, _):
            return (left, right)
        case Call(_, args):
            return args
    return ()


def walk(expr: Node) -> Iterator[Node]:
    """Yield ``expr`` and every node below it, depth first, parents before children."""
    # An explicit stack, so a hand-built tree of any depth cannot exhaust the recursion limit.
    stack: list[Node] = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(_children(node)))


def fields(expr: Node) -> set[tuple[str, ...]]:
    """Return the path of every record field the rule reads."""
    return {node.path for node in walk(expr) if isinstance(node, Field)}


def calls(expr: Node) -> set[str]:
    """Return the name of every function the rule calls."""
    return {node.name for node in walk(expr) if isinstance(node, Call)}


def is_index(part: str) -> bool:
    """Whether a path part is an index ``[N]`` rather than a name."""
    return part.isascii() and part.isdigit()


def path_text(path: tuple[str, ...]) -> str:
    """Render a path as rules write it: ``("@path", "segments", "0")`` is ``@path.segments[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if is_index(part) else f".{part}" if text else part
    return text


_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"})


def _number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"{value} cannot be written in a rule")
    # The grammar has no exponents, so write repr's shortest digits out positionally;
    # the trailing ".0" keeps an integral float a float when parsed back.
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else f"{text}.0"


def _operand(node: Operand) -> str:
    match node:
        case Literal(value) if isinstance(value, str):
            return f'"{value.translate(_ESCAPES)}"'
        case Literal(value) if isinstance(value, bool):
            return "true" if value else "false"
        case Literal(None):
            return "null"
        case Literal(value) if isinstance(value, int | float):
            return _number(value)
        case Field(path):
            return path_text(path)
        case AuthRef(path):
            return path_text(("@auth", *path))
        case RequestRef(path):
            return path_text(("@request", *path))
        case PathRef(path):
            return path_text(("@path", *path))
        case Now():
            return "@now"
        case Call(name, args):
            return f"{name}({', '.join(_operand(arg) for arg in args)})"
    raise TypeError(f"not a rule operand: {node!r}")


def _grouped(expr: Node) -> str:
    """Render ``expr`` as an item of ``&&``, ``||`` or ``!``, in parentheses if it needs them."""
    text = to_text(expr)
    return f"({text})" if isinstance(expr, And | Or) else text


def to_text(expr: Node) -> str:
    """Render ``expr`` canonically: ``parse_rule(to_text(e)) == e`` for every parsed ``e``.

    Strings are double quoted, operators spaced, and parentheses written only where the
    tree needs them, plus around a negated comparison for the reader's sake.
    """
    match expr:
        case Or(items):
            return " || ".join(_grouped(item) for item in items)
        case And(items):
            return " && ".join(_grouped(item) for item in items)
        case Not(Compare() as item):
            return f"!({to_text(item)})"
        case Not(item):
            return f"!{_grouped(item)}"
        case Compare(op, left, right, any_of):
            return f"{_operand(left)} {'?' if any_of else ''}{op} {_operand(right)}"
    return _operand(expr)
