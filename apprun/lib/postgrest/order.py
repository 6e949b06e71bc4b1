"""Ordering: ``order=col.desc.nullslast,embed(col).asc``."""

from __future__ import annotations

from apprun.lib.postgrest.errors import PostgrestSyntaxError
from apprun.lib.postgrest.lexer import Cursor, parse_field, parse_name
from apprun.lib.postgrest.nodes import Nulls, OrderTerm, Path

_TERM_END = '"," or end of input'
_NULLS = '"nullsfirst" or "nullslast"'


def parse_order(value: str, *, path: Path = ()) -> tuple[OrderTerm, ...]:
    """Parse an ``order`` value; ``path`` is the embed path its key named (``actors.order``)."""
    cur = Cursor(value, "order")
    terms = [_term(cur, path)]
    while cur.eat(","):
        terms.append(_term(cur, path))
    return tuple(terms)


def _term(cur: Cursor, path: Path) -> OrderTerm:
    cur.skip_ws()
    start = cur.pos
    embed: str | None = None
    try:
        name: str | None = parse_name(cur)
    except PostgrestSyntaxError:
        name = None  # the field parse below reports it
    if name is not None and cur.eat("("):
        embed = name
        column, json_path = parse_field(cur)
        cur.expect(")", '"->", "->>" or ")"')
    else:
        cur.pos = start
        column, json_path = parse_field(cur)
    descending = cur.eat(".desc")
    directed = descending or cur.eat(".asc")
    nulls: Nulls | None = None
    if cur.eat(".nullsfirst"):
        nulls = "first"
    elif cur.eat(".nullslast"):
        nulls = "last"
    cur.skip_ws()
    if not cur.at_end() and cur.peek() != ",":
        if cur.peek() == "." and nulls is None:
            expected = _NULLS if directed else '"asc", "desc", ' + _NULLS
            raise cur.error(expected, pos=cur.pos + 1)
        raise cur.error(_TERM_END)
    return OrderTerm(path, column, json_path, embed, descending, nulls)
