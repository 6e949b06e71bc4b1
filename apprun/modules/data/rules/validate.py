"""Check a rule against a collection before it is saved, reporting every problem at once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from apprun.lib.rules import Call, Compare, RuleSyntaxError, parse_rule, walk
from apprun.modules.data.rules.compiler import Compiler
from apprun.modules.data.rules.context import AuthInfo, RequestInfo, RuleCompileError
from apprun.modules.data.rules.resolvers import SpecResolver
from apprun.modules.data.schemas import CollectionSpec

# Validation compiles against placeholders: no problem a rule can have depends on who asks.
_NOBODY: Final = AuthInfo(id=None, role="anon", roles=())
_REQUEST: Final = RequestInfo(method="GET")
_EPOCH: Final = datetime(2000, 1, 1, tzinfo=UTC)


def validate_rule(
    text: str, spec: CollectionSpec, collections: Mapping[str, CollectionSpec]
) -> list[str]:
    """The problems of the rule ``text`` for collection ``spec``, or [] when it is valid.

    A syntax error is the only problem reported for text that does not parse (its message
    gives the column). Otherwise each comparison and call is checked on its own, so the list
    names every unknown field, function or ``@`` name and every type mismatch, in rule order.
    ``compile_rule`` succeeds exactly for the rules this accepts.
    """
    try:
        expr = parse_rule(text)
    except RuleSyntaxError as error:
        return [str(error)]
    compiler = Compiler(
        SpecResolver(spec, collections), _NOBODY, _REQUEST, _EPOCH, _no_perm, "sqlite"
    )
    problems: list[str] = []
    for node in walk(expr):
        if not isinstance(node, Compare | Call):
            continue
        try:
            compiler.condition(node)
        except RuleCompileError as error:
            if str(error) not in problems:
                problems.append(str(error))
    return problems


def _no_perm(permission: str) -> bool:
    return False
