"""Operator expressions ``[not.]op[(any|all)|(config)].value``, ``in`` lists and arrays."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, get_args

from apprun.lib.postgrest.errors import PostgrestSyntaxError
from apprun.lib.postgrest.lexer import Cursor, parse_identifier, parse_quoted, require_end
from apprun.lib.postgrest.nodes import (
    FULL_TEXT,
    QUANTIFIABLE,
    FilterValue,
    Modifier,
    Operator,
)

_OPERATORS: Final[dict[str, Operator]] = {op: op for op in get_args(Operator)}
_OPERATOR_WORD = re.compile(r"[a-z]*")
_IS_VALUE = re.compile(r"null|not_null|true|false|unknown", re.IGNORECASE | re.ASCII)
_LIST_ELEMENT = re.compile(r"[^,)]*")
_PG_SPACE = " \t\n\r\v\f"
OPERATOR_EXPECTED = '"not" or operator (eq, gt, ...)'

ValueParser = Callable[[Cursor], str]


@dataclass(frozen=True, slots=True)
class OpExpr:
    """The value side of a filter, before it is paired with its column."""

    negated: bool
    operator: Operator
    modifier: Modifier | None
    value: FilterValue
    fts_config: str | None


def parse_op_expr(cur: Cursor, single_value: ValueParser) -> OpExpr:
    """``[not.]op…``; ``single_value`` reads a scalar value (to the end, or within a tree)."""
    negated = cur.eat("not.")
    start = cur.pos
    match = _OPERATOR_WORD.match(cur.text, cur.pos)
    operator = _OPERATORS.get(match.group()) if match else None
    if match is None or operator is None:
        raise cur.error(OPERATOR_EXPECTED if not negated else "operator (eq, gt, ...)", pos=start)
    cur.pos = match.end()
    if operator == "in":
        cur.expect(".", "delimiter (.)")
        return OpExpr(negated, operator, None, in_list(cur), None)
    if operator == "is":
        cur.expect(".", "delimiter (.)")
        return OpExpr(negated, operator, None, _is_value(cur), None)
    modifier: Modifier | None = None
    config = None
    if operator in QUANTIFIABLE and cur.peek() == "(":
        modifier = _modifier(cur)
    elif operator in FULL_TEXT and cur.peek() == "(":
        cur.pos += 1
        config = parse_identifier(cur)
        cur.expect(")")
    cur.expect(".", "delimiter (.)")
    raw = single_value(cur)
    if modifier is None:
        return OpExpr(negated, operator, None, raw, config)
    # PostgREST hands the literal to PostgreSQL, whose 22P02 answer parse_array_literal keeps.
    return OpExpr(negated, operator, modifier, parse_array_literal(raw), config)


def _modifier(cur: Cursor) -> Modifier:
    if cur.eat("(any)"):
        return "any"
    if cur.eat("(all)"):
        return "all"
    cur.pos += 1
    raise cur.error('"any" or "all"')


def _is_value(cur: Cursor) -> str:
    match = _IS_VALUE.match(cur.text, cur.pos)
    if match is None:
        raise cur.error("isVal: (null, not_null, true, false, unknown)")
    cur.pos = match.end()
    return match.group().lower()


def rest_of_input(cur: Cursor) -> str:
    """A top-level filter's value: everything after the operator's dot, verbatim."""
    value = cur.text[cur.pos :]
    cur.pos = len(cur.text)
    return value


def in_list(cur: Cursor) -> tuple[str, ...]:
    """``(a,"b,c",d)`` at the cursor; ``()`` is the empty list.

    An element is a double-quoted string (``\\`` escapes) when a ``,`` or ``)`` follows its
    closing quote, else the verbatim text up to the next ``,`` or ``)``.
    """
    cur.skip_ws()
    cur.expect("(")
    cur.skip_ws()
    if cur.eat(")"):
        cur.skip_ws()
        return ()
    elements = [_list_element(cur)]
    while cur.eat(","):
        elements.append(_list_element(cur))
    cur.expect(")", '"," or ")"')
    cur.skip_ws()
    return tuple(elements)


def _list_element(cur: Cursor) -> str:
    start = cur.pos
    if cur.peek() == '"':
        try:
            value = parse_quoted(cur)
        except PostgrestSyntaxError:
            value = None
        if value is not None and cur.peek() in ("", ",", ")"):
            return value
        cur.pos = start
    match = _LIST_ELEMENT.match(cur.text, cur.pos)
    assert match is not None  # the pattern matches the empty string
    cur.pos = match.end()
    return match.group()


def parse_in_list(text: str) -> tuple[str, ...]:
    """Parse an ``in`` operand such as ``(1,"a,b",\\"q\\")`` into its elements."""
    cur = Cursor(text, "filter")
    elements = in_list(cur)
    require_end(cur)
    return elements


def parse_array_literal(text: str) -> tuple[str | None, ...]:
    """Parse a one-dimensional PostgreSQL array literal such as ``{a,"b c",NULL}``.

    Quoted elements keep their text; unquoted ones are trimmed and ``NULL`` (any case)
    becomes ``None``. Errors carry PostgreSQL's code 22P02, as the database would answer.
    """
    cur = Cursor(text, "array literal")
    _skip_pg_space(cur)
    if not cur.eat("{"):
        raise _malformed(text, 'Array value must start with "{" or dimension information.')
    elements: list[str | None] = []
    _skip_pg_space(cur)
    if not cur.eat("}"):
        while True:
            elements.append(_array_element(cur, text))
            _skip_pg_space(cur)
            if cur.eat("}"):
                break
            if not cur.eat(","):
                raise _malformed(text, _unexpected(cur))
    _skip_pg_space(cur)
    if not cur.at_end():
        raise _malformed(text, "Junk after closing right brace.")
    return tuple(elements)


def _array_element(cur: Cursor, text: str) -> str | None:
    _skip_pg_space(cur)
    if cur.eat('"'):
        out: list[str] = []
        while (char := cur.peek()) != '"':
            if not char or (char == "\\" and cur.pos + 1 >= len(cur.text)):
                raise _malformed(text, "Unexpected end of input.")
            cur.pos += 2 if char == "\\" else 1
            out.append(cur.text[cur.pos - 1])
        cur.pos += 1
        return "".join(out)
    out, kept, escaped = [], 0, False
    while (char := cur.peek()) not in ("", ",", "}"):
        if char in '{"':
            raise _malformed(text, _unexpected(cur))
        if char == "\\":
            if cur.pos + 1 >= len(cur.text):
                raise _malformed(text, "Unexpected end of input.")
            cur.pos += 1
            char, escaped = cur.text[cur.pos], True
        elif char in _PG_SPACE:
            # Unescaped trailing spaces are dropped: only count what ends in a non-space.
            out.append(char)
            cur.pos += 1
            continue
        out.append(char)
        kept = len(out)
        cur.pos += 1
    if not cur.peek():
        raise _malformed(text, "Unexpected end of input.")
    if kept == 0 and not escaped:
        raise _malformed(text, _unexpected(cur))
    element = "".join(out[:kept])
    return None if not escaped and element.isascii() and element.upper() == "NULL" else element


def _skip_pg_space(cur: Cursor) -> None:
    while cur.peek() and cur.peek() in _PG_SPACE:
        cur.pos += 1


def _unexpected(cur: Cursor) -> str:
    char = cur.peek()
    return f'Unexpected "{char}" character.' if char else "Unexpected end of input."


def _malformed(text: str, details: str) -> PostgrestSyntaxError:
    return PostgrestSyntaxError(f'malformed array literal: "{text}"', details, code="22P02")
