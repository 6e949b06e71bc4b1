"""Comparisons evaluated while compiling, when neither side is a column: the same answers the
SQL of ``sql_predicates`` gives, so a rule means one thing wherever it is evaluated.

Also the ``~`` patterns: LIKE patterns with ``\\`` as the escape character, on both sides.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, Final

from apprun.modules.data.rules.operands import MISMATCH

ORDER: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def literal_pattern(text: str) -> str:
    """A rule literal as a LIKE pattern: PocketBase's "contains" when it has no wildcard."""
    escaped = text.replace("\\", "\\\\")
    return escaped if "%" in text or "_" in text else f"%{escaped}%"


def value_pattern(text: str) -> str:
    """A runtime value as a "contains" pattern: its ``%`` and ``_`` match only themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def compare(op: str, left: Any, right: Any) -> bool:
    """``left op right`` with the SQL's null rules: None equals only None, orders nothing."""
    if left is MISMATCH or right is MISMATCH:
        return op == "!="
    if left is None or right is None:
        both = left is None and right is None
        return {"=": both, "!=": not both}.get(op, False)
    if op in ("=", "!="):
        return (_comparable(left, right) and left == right) == (op == "=")
    if not _comparable(left, right):
        return False
    try:
        return bool(ORDER[op](left, right))
    except TypeError:
        return False


def _kind(value: Any) -> type:
    if isinstance(value, bool):
        return bool
    if isinstance(value, int | float | Decimal):
        return Decimal
    if isinstance(value, date):
        return date
    return type(value)


def _comparable(left: Any, right: Any) -> bool:
    # Python would say true == 1 and order dates with datetimes; SQL columns have one type.
    return _kind(left) is _kind(right)


def like(text: Any, pattern: Any) -> bool:
    """Whether ``text`` matches the case-insensitive LIKE ``pattern`` (None matches nothing)."""
    if pattern is MISMATCH or not isinstance(text, str) or not isinstance(pattern, str):
        return False
    return _match(text.lower(), _tokens(pattern.lower()))


_ANY: Final = object()
_ONE: Final = object()


def _tokens(pattern: str) -> list[object]:
    tokens: list[object] = []
    escaped = False
    for char in pattern:
        if escaped:
            tokens.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            tokens.append(_ANY if char == "%" else _ONE if char == "_" else char)
    if escaped:
        tokens.append("\\")
    return tokens


def _match(text: str, tokens: list[object]) -> bool:
    """Wildcard matching that backtracks only to the last ``%``: O(len(text) * len(tokens)),
    never exponential, whatever the pattern."""
    t = p = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(tokens) and (tokens[p] is _ONE or tokens[p] == text[t]):
            t, p = t + 1, p + 1
        elif p < len(tokens) and tokens[p] is _ANY:
            star, mark, p = p, t, p + 1
        elif star >= 0:
            mark += 1
            t, p = mark, star + 1
        else:
            return False
    while p < len(tokens) and tokens[p] is _ANY:
        p += 1
    return p == len(tokens)
