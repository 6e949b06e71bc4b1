"""The immutable AST of a PostgREST request: select trees, filters, logic trees, orders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

Path: TypeAlias = tuple[str, ...]
"""Embed names or aliases from the root to a nested embed; ``()`` is the root."""

Arrow: TypeAlias = Literal["->", "->>"]
Aggregate: TypeAlias = Literal["sum", "avg", "count", "max", "min"]
Join: TypeAlias = Literal["left", "inner"]
Nulls: TypeAlias = Literal["first", "last"]
Modifier: TypeAlias = Literal["any", "all"]
LogicOperator: TypeAlias = Literal["and", "or"]
IsValue: TypeAlias = Literal["null", "not_null", "true", "false", "unknown"]
Operator: TypeAlias = Literal[
    "eq",
    "neq",
    "gt",
    "gte",
    "lt",
    "lte",
    "like",
    "ilike",
    "match",
    "imatch",
    "in",
    "is",
    "isdistinct",
    "fts",
    "plfts",
    "phfts",
    "wfts",
    "cs",
    "cd",
    "ov",
    "sl",
    "sr",
    "nxr",
    "nxl",
    "adj",
]

QUANTIFIABLE: frozenset[str] = frozenset(
    ("eq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch")
)
"""Operators that take an ``(any)``/``(all)`` modifier."""
FULL_TEXT: frozenset[str] = frozenset(("fts", "plfts", "phfts", "wfts"))
"""Operators that take a ``(config)``."""


@dataclass(frozen=True, slots=True)
class JsonStep:
    """One ``->`` (JSON) or ``->>`` (text) step; an ``int`` operand is an array index."""

    arrow: Arrow
    operand: str | int

    @property
    def is_index(self) -> bool:
        """Whether the operand is an array index rather than a key."""
        return isinstance(self.operand, int)

    @property
    def as_text(self) -> bool:
        """Whether the step yields text (``->>``) rather than JSON (``->``)."""
        return self.arrow == "->>"


JsonPath: TypeAlias = tuple[JsonStep, ...]


def output_key(name: str, json_path: JsonPath) -> str:
    """The response key of ``name`` followed by ``json_path`` when no alias is given.

    It is the last key of the path, or ``name`` when the path holds only indexes:
    ``data->phones->0->>number`` gives ``number``, ``langs->0`` gives ``langs``.
    """
    for step in reversed(json_path):
        if isinstance(step.operand, str):
            return step.operand
    return name


@dataclass(frozen=True, slots=True)
class SelectStar:
    """``*``: every column of the level."""


@dataclass(frozen=True, slots=True)
class SelectColumn:
    """A column, maybe with a JSON path, alias, cast and aggregate.

    ``count()`` is the column ``*`` with the aggregate ``count`` (SQL ``count(*)``).
    ``aggregate_cast`` is the cast after the aggregate (``amount.sum()::int``).
    """

    name: str
    json_path: JsonPath = ()
    alias: str | None = None
    cast: str | None = None
    aggregate: Aggregate | None = None
    aggregate_cast: str | None = None

    @property
    def output_key(self) -> str:
        """The response key: the alias, else the aggregate's name, else the JSON-path rule."""
        if self.alias is not None:
            return self.alias
        if self.aggregate is not None:
            return self.aggregate
        return output_key(self.name, self.json_path)


@dataclass(frozen=True, slots=True)
class SelectEmbed:
    """An embedded resource ``alias:target!hint!inner(items)`` or a spread ``...target(items)``."""

    target: str
    alias: str | None = None
    hint: str | None = None
    join: Join = "left"
    spread: bool = False
    items: tuple[SelectItem, ...] = ()

    @property
    def name(self) -> str:
        """The name filters, orders and limits use for this embed: the alias, else the target."""
        return self.alias if self.alias is not None else self.target


SelectItem: TypeAlias = SelectStar | SelectColumn | SelectEmbed

FilterValue: TypeAlias = str | tuple[str | None, ...]
"""Verbatim text; a tuple for ``in`` lists and for ``(any)``/``(all)`` array literals.

In an array literal an unquoted ``NULL`` is ``None``; ``in`` lists never hold ``None``.
"""


@dataclass(frozen=True, slots=True)
class Filter:
    """``[path.]column[json_path]=[not.]operator[(modifier)|(fts_config)].value``.

    For ``is`` the value is normalised to lower case (``null``, ``not_null``, ``true``,
    ``false``, ``unknown``). Inside a logic tree ``path`` is ``()``: the column belongs to
    the level the tree is attached to.
    """

    path: Path
    column: str
    json_path: JsonPath
    negated: bool
    operator: Operator
    modifier: Modifier | None
    value: FilterValue
    fts_config: str | None = None


@dataclass(frozen=True, slots=True)
class LogicTree:
    """``[path.][not.]and|or=(child,…)``; nested trees carry ``path=()``."""

    path: Path
    operator: LogicOperator
    negated: bool
    children: tuple[Filter | LogicTree, ...]


Condition: TypeAlias = Filter | LogicTree


@dataclass(frozen=True, slots=True)
class OrderTerm:
    """One ``order`` term; ``embed`` is set for ``embed(column).desc`` (ordering by a to-one).

    ``nulls`` is ``None`` when the request did not say; the database default then applies.
    """

    path: Path
    column: str
    json_path: JsonPath = ()
    embed: str | None = None
    descending: bool = False
    nulls: Nulls | None = None
