"""The rule language: PocketBase-style access-rule expressions, parsed into a small AST.

>>> parse_rule("owner = @auth.id || published = true")
Or(items=(Compare(op='=', left=Field(path=('owner',)), right=AuthRef(path=('id',)), \
any_of=False), Compare(op='=', left=Field(path=('published',)), right=Literal(value=True), \
any_of=False)))

This package only parses; compiling the AST to queries belongs to its callers.
"""

from __future__ import annotations

from apprun.lib.rules.ast import (
    COMPARISON_OPERATORS,
    And,
    AuthRef,
    Call,
    Compare,
    Expr,
    Field,
    Literal,
    Node,
    Not,
    Now,
    Operand,
    Or,
    PathRef,
    RequestRef,
    calls,
    fields,
    is_index,
    path_text,
    to_text,
    walk,
)
from apprun.lib.rules.parser import MACROS, MAX_DEPTH, MAX_LENGTH, RuleSyntaxError, parse_rule

__all__ = [
    "COMPARISON_OPERATORS",
    "MACROS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "And",
    "AuthRef",
    "Call",
    "Compare",
    "Expr",
    "Field",
    "Literal",
    "Node",
    "Not",
    "Now",
    "Operand",
    "Or",
    "PathRef",
    "RequestRef",
    "RuleSyntaxError",
    "calls",
    "fields",
    "is_index",
    "parse_rule",
    "path_text",
    "to_text",
    "walk",
]
