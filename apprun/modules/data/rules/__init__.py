"""Access rules of collections: compile a parsed rule (``apprun.lib.rules``) to a SQLAlchemy
boolean expression, and validate rule text against a collection.

Usage::

    resolver = TableResolver(spec, table, collections, tables_by_name)
    condition = compile_rule(parse_rule(spec.policies.select), resolver, auth,
                             RequestInfo("GET"), now=now, has_perm=perms.__contains__,
                             dialect="postgresql")
    rows = await conn.execute(sa.select(table).where(condition))

Semantics follow PocketBase: ``!=`` and ``!~`` hold for NULL, ``~`` is a case-insensitive
"contains" unless the literal has a ``%`` or ``_``, ``?=``-style operators test the elements
of a json array or of ``@auth.roles``, and ``a.b`` reads ``b`` through the relation ``a``.
A null ``@auth``/``@request`` value equals nothing (``owner = @auth.id`` is false for an
anonymous caller), while the literal ``null`` tests for NULL.
"""

from __future__ import annotations

from apprun.modules.data.rules.compiler import DIALECTS, FUNCTIONS, compile_rule
from apprun.modules.data.rules.context import AuthInfo, RequestInfo, RuleCompileError
from apprun.modules.data.rules.resolvers import (
    MAX_RELATION_DEPTH,
    Resolver,
    TableResolver,
    ValuesResolver,
)
from apprun.modules.data.rules.validate import validate_rule

__all__ = [
    "DIALECTS",
    "FUNCTIONS",
    "MAX_RELATION_DEPTH",
    "AuthInfo",
    "RequestInfo",
    "Resolver",
    "RuleCompileError",
    "TableResolver",
    "ValuesResolver",
    "compile_rule",
    "validate_rule",
]
