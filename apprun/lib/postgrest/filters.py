"""Horizontal filtering: ``[path.]col[jsonpath]=[not.]op.value`` and ``and``/``or`` trees."""

from __future__ import annotations

import re

from apprun.lib.postgrest.errors import PostgrestSyntaxError
from apprun.lib.postgrest.lexer import (
    Cursor,
    parse_field,
    parse_json_path,
    parse_names,
    parse_quoted,
    require_end,
)
from apprun.lib.postgrest.nodes import Filter, JsonPath, LogicOperator, LogicTree, Path
from apprun.lib.postgrest.values import OpExpr, parse_op_expr, rest_of_input

_TREE_START = re.compile(r"(?:not\.)?(?:and|or)[ \t]*\(")
_TREE_VALUE = re.compile(r"[^,)]*")
_NODE_EXPECTED = (
    "field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)"
)


def parse_tree_path(key: str) -> tuple[Path, str, JsonPath]:
    """Split a filter key ``a.b.col->x`` into embed path, column and JSON path."""
    cur = Cursor(key, "tree path")
    names = parse_names(cur)
    json_path = parse_json_path(cur)
    require_end(cur, '".", "->" or end of input')
    return names[:-1], names[-1], json_path


def parse_key_path(key: str) -> tuple[str, ...]:
    """The dot-separated names of a key such as ``actors.limit`` (last one included)."""
    cur = Cursor(key, "tree path")
    names = parse_names(cur)
    require_end(cur, '"." or end of input')
    return names


def parse_filter(key: str, value: str) -> Filter:
    """Parse one filter parameter, such as ``roles.actors.first_name=eq.Tom``."""
    path, column, json_path = parse_tree_path(key)
    return build_filter(path, column, json_path, parse_filter_value(value))


def parse_filter_value(value: str) -> OpExpr:
    """The value side ``[not.]op….value`` of a top-level filter."""
    cur = Cursor(value, "filter")
    expr = parse_op_expr(cur, rest_of_input)
    require_end(cur)
    return expr


def build_filter(path: Path, column: str, json_path: JsonPath, expr: OpExpr) -> Filter:
    """Pair a parsed operator expression with its column."""
    return Filter(
        path=path,
        column=column,
        json_path=json_path,
        negated=expr.negated,
        operator=expr.operator,
        modifier=expr.modifier,
        value=expr.value,
        fts_config=expr.fts_config,
    )


def parse_logic_path(key: str) -> tuple[Path, bool, LogicOperator]:
    """Split ``[path.][not.]or|and`` into embed path, negation and operator."""
    cur = Cursor(key, "logic path")
    names = parse_names(cur)
    require_end(cur, '"." or end of input')
    operator: LogicOperator
    if names[-1] == "and":
        operator = "and"
    elif names[-1] == "or":
        operator = "or"
    else:
        raise cur.error(details="the key must end in and or or")
    negated = len(names) > 1 and names[-2] == "not"
    return names[: -2 if negated else -1], negated, operator


def parse_logic_tree(key: str, value: str) -> LogicTree:
    """Parse ``or=(age.eq.14,not.and(age.gte.11,age.lte.17))`` and its ``[path.][not.]`` keys.

    As in PostgREST the key's operator is put before the value and the whole is parsed,
    so error columns count from the start of ``or(…``.
    """
    path, negated, operator = parse_logic_path(key)
    prefix = ("not." if negated else "") + operator
    cur = Cursor(prefix + value, "logic tree", source=value)
    tree = _tree(cur)
    cur.skip_ws()
    require_end(cur)
    return LogicTree(path, tree.operator, tree.negated, tree.children)


def _tree(cur: Cursor) -> LogicTree:
    negated = cur.eat("not.")
    operator: LogicOperator
    if cur.eat("and"):
        operator = "and"
    elif cur.eat("or"):
        operator = "or"
    else:
        raise cur.error("logic operator (and, or)")
    cur.skip_ws()
    cur.expect("(")
    cur.enter()
    children = [_node(cur)]
    while cur.eat(","):
        children.append(_node(cur))
    cur.expect(")", '"," or ")"')
    cur.depth -= 1
    cur.skip_ws()
    return LogicTree((), operator, negated, tuple(children))


def _node(cur: Cursor) -> Filter | LogicTree:
    cur.skip_ws()
    if _TREE_START.match(cur.text, cur.pos):
        return _tree(cur)
    start = cur.pos
    try:
        column, json_path = parse_field(cur)
    except PostgrestSyntaxError:
        if cur.pos != start:
            raise
        raise cur.error(_NODE_EXPECTED) from None
    cur.expect(".", "delimiter (.)")
    expr = parse_op_expr(cur, _tree_value)
    cur.skip_ws()
    return build_filter((), column, json_path, expr)


def _tree_value(cur: Cursor) -> str:
    """A value inside a tree: quoted (unescaped), a ``{…}`` array, or text up to ``,``/``)``."""
    start = cur.pos
    if cur.peek() == '"':
        try:
            value = parse_quoted(cur)
        except PostgrestSyntaxError:
            value = None
        if value is not None and cur.peek() in ("", ",", ")"):
            return value
        cur.pos = start
    if cur.peek() == "{":
        end = cur.text.find("}", start)
        if end != -1 and "{" not in cur.text[start + 1 : end]:
            cur.pos = end + 1
            return cur.text[start : end + 1]
    match = _TREE_VALUE.match(cur.text, cur.pos)
    assert match is not None  # the pattern matches the empty string
    cur.pos = match.end()
    return match.group()
