"""Vertical filtering: the ``select`` parameter, parsed into a tree of select items."""

from __future__ import annotations

from typing import Final, get_args

from apprun.lib.postgrest.errors import PostgrestSyntaxError
from apprun.lib.postgrest.lexer import (
    Cursor,
    parse_field,
    parse_identifier,
    parse_name,
    require_end,
)
from apprun.lib.postgrest.nodes import (
    Aggregate,
    Join,
    SelectColumn,
    SelectEmbed,
    SelectItem,
    SelectStar,
)

_AGGREGATES: Final[dict[str, Aggregate]] = {name: name for name in get_args(Aggregate)}
_JOINS: Final[dict[str, Join]] = {name: name for name in get_args(Join)}
_ITEM_END = '",", ")" or end of input'


def parse_select(value: str) -> tuple[SelectItem, ...]:
    """Parse ``select``, e.g. ``id,director:directors!inner(name),...roles(character)``.

    An empty value selects nothing; a missing parameter means ``*`` (the caller's choice).
    """
    cur = Cursor(value, "select parameter")
    items = _forest(cur)
    require_end(cur, '"," or end of input')
    return items


def _forest(cur: Cursor) -> tuple[SelectItem, ...]:
    cur.skip_ws()
    if cur.at_end() or cur.peek() == ")":
        return ()
    items = [_item(cur)]
    cur.skip_ws()
    while cur.eat(","):
        items.append(_item(cur))
        cur.skip_ws()
    return tuple(items)


def _item(cur: Cursor) -> SelectItem:
    cur.skip_ws()
    if cur.eat("..."):
        target = parse_name(cur)
        hint, join = _hints(cur)
        return SelectEmbed(target, None, hint, join, True, _embedded(cur))
    start = cur.pos
    embed = _try_embed(cur)
    if embed is not None:
        return embed
    cur.pos = start
    return _column(cur)


def _try_embed(cur: Cursor) -> SelectEmbed | None:
    """``[alias:]target[!hint][!inner](…)``, or ``None`` (cursor moved) when it is a column."""
    try:
        alias = _alias(cur)
        target = parse_name(cur)
        if target == "count":  # count() is the aggregate, never an embed
            return None
        hint, join = _hints(cur)
    except PostgrestSyntaxError:
        return None
    if cur.peek() != "(":
        return None
    return SelectEmbed(target, alias, hint, join, False, _embedded(cur))


def _hints(cur: Cursor) -> tuple[str | None, Join]:
    # Up to two "!" parameters, a join type or a relationship hint in either order; as in
    # PostgREST the first of each kind wins.
    hint: str | None = None
    join: Join | None = None
    for _ in range(2):
        if not cur.eat("!"):
            break
        quoted = cur.peek() == '"'
        name = parse_name(cur)
        if not quoted and name in _JOINS:
            join = join or _JOINS[name]
        else:
            hint = hint if hint is not None else name
    return hint, join or "left"


def _embedded(cur: Cursor) -> tuple[SelectItem, ...]:
    cur.expect("(")
    cur.enter()
    items = _forest(cur)
    cur.expect(")", _ITEM_END)
    cur.depth -= 1
    return items


def _alias(cur: Cursor) -> str | None:
    start = cur.pos
    cur.skip_ws()
    try:
        name = parse_name(cur)
    except PostgrestSyntaxError:
        cur.pos = start
        return None
    if cur.peek() == ":" and not cur.startswith("::"):
        cur.pos += 1
        return name
    cur.pos = start
    return None


def _column(cur: Cursor) -> SelectStar | SelectColumn:
    if cur.eat("*"):
        _item_end(cur)
        return SelectStar()
    alias = _alias(cur)
    cur.skip_ws()
    if cur.eat("count()"):
        column = SelectColumn("*", (), alias, None, "count", _cast(cur))
        _item_end(cur)
        return column
    name, json_path = parse_field(cur)
    cast = _cast(cur)
    aggregate = _aggregate(cur)
    aggregate_cast = _cast(cur) if aggregate is not None else None
    _item_end(cur)
    return SelectColumn(name, json_path, alias, cast, aggregate, aggregate_cast)


def _cast(cur: Cursor) -> str | None:
    return parse_identifier(cur) if cur.eat("::") else None


def _aggregate(cur: Cursor) -> Aggregate | None:
    if cur.peek() != ".":
        return None
    cur.pos += 1
    for name, aggregate in _AGGREGATES.items():
        if cur.eat(name + "()"):
            return aggregate
    raise cur.error("aggregate (sum(), avg(), count(), max(), min())")


def _item_end(cur: Cursor) -> None:
    cur.skip_ws()
    if not (cur.at_end() or cur.peek() in ",)"):
        raise cur.error(_ITEM_END)
