"""The PostgREST request grammar, parsed into an immutable AST.

Generic code: it knows nothing of tables or columns and imports only the standard library.
:func:`parse_request` is the entry point; the individual parsers are exported too.
"""

from __future__ import annotations

from apprun.lib.postgrest.errors import (
    InvalidPreferencesError,
    NotAcceptableError,
    PostgrestSyntaxError,
    RangeNotSatisfiableError,
)
from apprun.lib.postgrest.filters import parse_filter, parse_logic_tree
from apprun.lib.postgrest.headers import (
    Negotiated,
    Representation,
    negotiate_accept,
    parse_range,
)
from apprun.lib.postgrest.lexer import MAX_DEPTH
from apprun.lib.postgrest.nodes import (
    Condition,
    Filter,
    FilterValue,
    JsonPath,
    JsonStep,
    LogicTree,
    Operator,
    OrderTerm,
    Path,
    SelectColumn,
    SelectEmbed,
    SelectItem,
    SelectStar,
    output_key,
)
from apprun.lib.postgrest.order import parse_order
from apprun.lib.postgrest.prefer import Preferences, parse_prefer
from apprun.lib.postgrest.query import ApiRequest, Paging, parse_column_list, parse_request
from apprun.lib.postgrest.select import parse_select
from apprun.lib.postgrest.values import parse_array_literal, parse_in_list

__all__ = [
    "MAX_DEPTH",
    "ApiRequest",
    "Condition",
    "Filter",
    "FilterValue",
    "InvalidPreferencesError",
    "JsonPath",
    "JsonStep",
    "LogicTree",
    "Negotiated",
    "NotAcceptableError",
    "Operator",
    "OrderTerm",
    "Paging",
    "Path",
    "PostgrestSyntaxError",
    "Preferences",
    "RangeNotSatisfiableError",
    "Representation",
    "SelectColumn",
    "SelectEmbed",
    "SelectItem",
    "SelectStar",
    "negotiate_accept",
    "output_key",
    "parse_array_literal",
    "parse_column_list",
    "parse_filter",
    "parse_in_list",
    "parse_logic_tree",
    "parse_order",
    "parse_prefer",
    "parse_range",
    "parse_request",
    "parse_select",
]
