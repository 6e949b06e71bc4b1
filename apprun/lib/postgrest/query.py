"""One entry point: query-string parameters and headers to an :class:`ApiRequest`."""

from __future__ import annotations

import re
from collections.abc import Container, Sequence
from dataclasses import dataclass, field

from apprun.lib.postgrest.errors import (
    NEGATIVE_LIMIT,
    InvalidPreferencesError,
    PostgrestSyntaxError,
    RangeNotSatisfiableError,
)
from apprun.lib.postgrest.filters import (
    build_filter,
    parse_filter_value,
    parse_key_path,
    parse_logic_tree,
    parse_tree_path,
)
from apprun.lib.postgrest.headers import Negotiated, bounded_int, negotiate_accept, parse_range
from apprun.lib.postgrest.lexer import Cursor, parse_name, require_end
from apprun.lib.postgrest.nodes import (
    Condition,
    Filter,
    LogicTree,
    OrderTerm,
    Path,
    SelectItem,
    SelectStar,
)
from apprun.lib.postgrest.order import parse_order
from apprun.lib.postgrest.prefer import Preferences, parse_prefer
from apprun.lib.postgrest.select import parse_select

DEFAULT_SELECT: tuple[SelectItem, ...] = (SelectStar(),)
_INTEGER = re.compile(r"\s*(-?[0-9]+)\s*", re.ASCII)
_PAGING = ("limit", "offset")
_LOGIC = ("and", "or")


@dataclass(frozen=True, slots=True)
class Paging:
    """``[path.]limit`` and ``[path.]offset``; ``None`` when absent or not an integer."""

    path: Path
    limit: int | None = None
    offset: int | None = None


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """Everything the query string and headers of a ``/rest/v1`` request say.

    ``conditions`` holds filters and logic trees in query order, each with its embed
    path; the ``*_at`` methods group them by path. ``order`` holds the terms of the first
    ``order`` parameter of each path. ``range`` is the ``Range`` header (GET only).
    ``rpc_args`` holds, for GET/HEAD on a function, the parameters that are not filters.
    """

    method: str
    select: tuple[SelectItem, ...] = DEFAULT_SELECT
    conditions: tuple[Condition, ...] = ()
    order: tuple[OrderTerm, ...] = ()
    paging: tuple[Paging, ...] = ()
    columns: tuple[str, ...] | None = None
    on_conflict: tuple[str, ...] | None = None
    preferences: Preferences = field(default_factory=Preferences)
    range: tuple[int, int | None] | None = None
    representation: Negotiated = field(default_factory=Negotiated)
    rpc_args: tuple[tuple[str, str], ...] = ()

    @property
    def filters(self) -> tuple[Filter, ...]:
        """The filter parameters (not the logic trees), in query order."""
        return tuple(c for c in self.conditions if isinstance(c, Filter))

    @property
    def logic_trees(self) -> tuple[LogicTree, ...]:
        """The ``and``/``or`` parameters, in query order."""
        return tuple(c for c in self.conditions if isinstance(c, LogicTree))

    def conditions_at(self, path: Path = ()) -> tuple[Condition, ...]:
        """The filters and logic trees that apply at the embed ``path``."""
        return tuple(c for c in self.conditions if c.path == path)

    def order_at(self, path: Path = ()) -> tuple[OrderTerm, ...]:
        """The order terms for the embed ``path`` (``()`` when it has none)."""
        return tuple(term for term in self.order if term.path == path)

    def paging_at(self, path: Path = ()) -> Paging:
        """The limit and offset for the embed ``path`` (``None`` each when not given)."""
        return next((p for p in self.paging if p.path == path), Paging(path))

    def conditions_by_path(self) -> dict[Path, tuple[Condition, ...]]:
        """The filters and logic trees grouped by embed path, each group in query order."""
        groups: dict[Path, list[Condition]] = {}
        for condition in self.conditions:
            groups.setdefault(condition.path, []).append(condition)
        return {path: tuple(group) for path, group in groups.items()}

    @property
    def embed_paths(self) -> tuple[Path, ...]:
        """Every non-root path a filter, tree, order or paging parameter names, sorted."""
        paths = {c.path for c in self.conditions} | {t.path for t in self.order}
        paths |= {p.path for p in self.paging}
        return tuple(sorted(paths - {()}))


def parse_column_list(value: str, *, label: str = "columns parameter") -> tuple[str, ...]:
    """``a,"b c",d`` (for ``columns`` and ``on_conflict``), without duplicates."""
    cur = Cursor(value, label)
    names: list[str] = []
    while True:
        cur.skip_ws()
        name = parse_name(cur)
        if name not in names:
            names.append(name)
        cur.skip_ws()
        if not cur.eat(","):
            break
    require_end(cur, '"," or end of input')
    return tuple(names)


@dataclass(slots=True)
class _Groups:
    singles: dict[str, str] = field(default_factory=dict)
    order: list[tuple[str, str]] = field(default_factory=list)
    paging: list[tuple[str, str]] = field(default_factory=list)
    logic: list[tuple[int, str, str]] = field(default_factory=list)
    filters: list[tuple[int, str, str]] = field(default_factory=list)


def _classify(params: Sequence[tuple[str, str | None]]) -> _Groups:
    groups = _Groups()
    for index, (key, value) in enumerate(params):
        if value is None:  # a parameter without "=" is ignored
            continue
        last = key.rsplit(".", 1)[-1]
        if key in ("select", "columns", "on_conflict"):
            groups.singles.setdefault(key, value)  # the first wins, as PostgREST looks it up
        elif last == "order":
            groups.order.append((key, value))
        elif last in _PAGING:
            groups.paging.append((key, value))
        elif last in _LOGIC:
            groups.logic.append((index, key, value))
        else:
            groups.filters.append((index, key, value))
    return groups


def _orders(entries: list[tuple[str, str]]) -> tuple[OrderTerm, ...]:
    by_path: dict[Path, tuple[OrderTerm, ...]] = {}
    for key, value in entries:
        path = parse_key_path(key)[:-1]
        terms = parse_order(value, path=path)
        by_path.setdefault(path, terms)  # the first order of a path wins, as in PostgREST
    return tuple(term for terms in by_path.values() for term in terms)


def _filters(
    entries: list[tuple[int, str, str]], rpc_read: bool
) -> tuple[list[tuple[int, Condition]], list[tuple[str, str]]]:
    filters: list[tuple[int, Condition]] = []
    args: list[tuple[str, str]] = []
    for index, key, value in entries:
        if rpc_read:
            try:
                expr = parse_filter_value(value)
            except PostgrestSyntaxError:
                args.append((key, value))  # not an operator: a function argument
                continue
            path, column, json_path = parse_tree_path(key)
        else:
            path, column, json_path = parse_tree_path(key)
            expr = parse_filter_value(value)
        filters.append((index, build_filter(path, column, json_path, expr)))
    return filters, args


def _paging(entries: list[tuple[str, str]]) -> tuple[Paging, ...]:
    found: dict[Path, dict[str, int | None]] = {}
    for key, value in entries:
        names = parse_key_path(key)
        match = _INTEGER.fullmatch(value)
        # A non-integer is ignored, and the last occurrence wins, as in PostgREST.
        number = bounded_int(match.group(1)) if match else None
        if names[-1] == "limit" and number is not None and number < 0:
            raise RangeNotSatisfiableError(NEGATIVE_LIMIT)
        if names[-1] == "offset" and number is not None and number < 0:
            number = None  # a negative offset is ignored
        found.setdefault(names[:-1], {})[names[-1]] = number
    return tuple(Paging(path, v.get("limit"), v.get("offset")) for path, v in found.items())


def parse_request(
    params: Sequence[tuple[str, str | None]],
    *,
    method: str,
    prefer: Sequence[str] = (),
    range_header: str | None = None,
    accept: str | None = None,
    rpc: bool = False,
    timezones: Container[str] | None = None,
) -> ApiRequest:
    """Parse a ``/rest/v1`` request's URL-decoded query parameters and headers.

    ``params`` are ``(key, value)`` pairs in order; a ``None`` value is a parameter without
    ``=`` (ignored). ``rpc`` marks ``/rpc/`` calls, whose GET/HEAD parameters that are not
    operator expressions become ``rpc_args``. ``timezones`` is passed to :func:`parse_prefer`.
    Raises :class:`PostgrestSyntaxError` (or a subclass) and nothing else.
    """
    try:
        return _parse_request(params, method.upper(), prefer, range_header, accept, rpc, timezones)
    except RecursionError as exc:  # MAX_DEPTH should make this unreachable
        raise PostgrestSyntaxError("request nested too deeply") from exc


def _parse_request(
    params: Sequence[tuple[str, str | None]],
    method: str,
    prefer: Sequence[str],
    range_header: str | None,
    accept: str | None,
    rpc: bool,
    timezones: Container[str] | None,
) -> ApiRequest:
    # Validate in PostgREST's order, so that the first error reported is the same.
    groups = _classify(params)
    order = _orders(groups.order)
    trees: list[tuple[int, Condition]] = [
        (index, parse_logic_tree(key, value)) for index, key, value in groups.logic
    ]
    singles = groups.singles
    columns = _column_list(singles.get("columns"), "columns parameter")
    select = parse_select(singles["select"]) if "select" in singles else DEFAULT_SELECT
    filters, rpc_args = _filters(groups.filters, rpc and method in ("GET", "HEAD"))
    on_conflict = _column_list(singles.get("on_conflict"), "on_conflict parameter")
    paging = _paging(groups.paging)
    range_ = parse_range(range_header) if method == "GET" else None
    preferences = parse_prefer(prefer, timezones=timezones)
    if preferences.strict and preferences.invalid:
        raise InvalidPreferencesError(preferences.invalid)
    conditions = tuple(condition for _, condition in sorted(filters + trees, key=_first))
    return ApiRequest(
        method=method,
        select=select,
        conditions=conditions,
        order=order,
        paging=paging,
        columns=columns,
        on_conflict=on_conflict,
        preferences=preferences,
        range=range_,
        representation=negotiate_accept(accept),
        rpc_args=tuple(rpc_args),
    )


def _column_list(value: str | None, label: str) -> tuple[str, ...] | None:
    return None if value is None else parse_column_list(value, label=label)


def _first(entry: tuple[int, Condition]) -> int:
    return entry[0]
