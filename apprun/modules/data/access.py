"""Who may do what on a collection's rows: grants (RBAC), then the collection's policy for
the operation (ABAC), compiled to SQL.

- The service role (and platform admins) bypass both.
- Otherwise the caller's roles must hold ``rest:<collection>:<operation>``, and the policy
  must not be null (null = service role only); ``""`` lets every granted caller through.
- A policy filters the rows of select, update and delete; an insert is checked on the
  candidate row; an update is checked again on the rows it produced ("with check").
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.clock import Clock
from apprun.core.context import RequestContext
from apprun.lib.rules import parse_rule
from apprun.modules.data.errors import RestError, RestForbidden, RestUnauthorized
from apprun.modules.data.roles import RoleService, permits
from apprun.modules.data.rules import (
    AuthInfo,
    RequestInfo,
    TableResolver,
    ValuesResolver,
    compile_rule,
)
from apprun.modules.data.schemas import CollectionSpec, Operation

Tables = Callable[[str], sa.Table]


def denied(ctx: RequestContext, message: str) -> RestError:
    """PostgREST's answer to a privilege error: 401 for anonymous callers, 403 otherwise."""
    anonymous = not ctx.principal.key_verified or ctx.principal.role.value == "anon"
    kind = RestUnauthorized if anonymous else RestForbidden
    return kind(message, hint="Grants and policies of the collection decide; see docs/rules.md.")


@dataclass
class Gate:
    """The outcome for one request: ``None`` policy means no restriction (service role)."""

    ctx: RequestContext
    spec: CollectionSpec
    policy: str | None
    auth: AuthInfo | None
    request: RequestInfo | None
    has_perm: Callable[[str], bool]
    tables: Tables
    collections: Mapping[str, CollectionSpec]
    now: Any
    dialect: str
    compiled: CompiledPolicies
    granted: tuple[str, ...] = ()

    @property
    def bypass(self) -> bool:
        return self.policy is None

    def visible(self, field: str) -> bool:
        if self.bypass:
            return True
        spec = self.spec.field(field)
        return spec is None or not spec.hidden

    def filter(self, table: sa.Table) -> sa.ColumnElement[bool]:
        """The rows the policy lets this caller see or change (compiled once per policy,
        tables and caller values, then reused; see ``CompiledPolicies``)."""
        if not self.policy:
            return sa.true()
        key = self.compiled.key(self, table)
        if key is not None:
            cached = self.compiled.get(key, self.tables)
            if cached is not None:
                return cached
        touched: list[tuple[str, sa.Table]] = []

        def recording(name: str) -> sa.Table:
            found = self.tables(name)
            touched.append((name, found))
            return found

        expr = self._compile(TableResolver(self.spec, table, self.collections, recording))
        if key is not None:
            self.compiled.put(key, expr, tuple(touched))
        return expr

    async def check_new_rows(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        """Refuse an insert whose candidate rows the policy does not allow."""
        if not self.policy:
            return
        for row in rows:
            resolver = ValuesResolver(self.spec, row, self.collections, self.tables)
            allowed = await conn.scalar(sa.select(sa.case((self._compile(resolver), 1), else_=0)))
            if allowed != 1:
                raise self.violation()

    async def check_written(self, conn: AsyncConnection, table: sa.Table, ids: list[str]) -> None:
        """Refuse an update that moved rows out of the policy (PostgreSQL's WITH CHECK)."""
        if not self.policy or not ids:
            return
        outside = (
            sa.select(sa.func.count())
            .select_from(table)
            .where(table.c.id.in_(ids), sa.not_(self.filter(table)))
        )
        if await conn.scalar(outside):
            raise self.violation()

    def violation(self) -> RestError:
        return denied(
            self.ctx, f'new row violates row-level security policy for table "{self.spec.name}"'
        )

    def _compile(self, resolver: Any) -> sa.ColumnElement[bool]:
        if not (self.policy and self.auth and self.request):
            raise RuntimeError("the service role has no policy to compile")
        return compile_rule(
            parse_rule(self.policy),
            resolver,
            self.auth,
            self.request,
            now=self.now,
            has_perm=self.has_perm,
            dialect=self.dialect,
        )


POLICY_CACHE_SIZE = 4096
UNCACHEABLE = ("@now", "@request.body")
"""Policies whose compiled form depends on the moment or on the request body."""
Entry = tuple["sa.ColumnElement[bool]", tuple[tuple[str, sa.Table], ...]]
"""A compiled filter and the tables (by collection name) it was compiled against."""


class CompiledPolicies:
    """Select/update/delete filters, compiled once and reused while the policy, the tables it
    reads (each a different object once its collection changes) and the caller's values are
    the same. Policies reading ``@now`` or ``@request.body`` are compiled every time."""

    def __init__(self, size: int = POLICY_CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()
        self.compilations = 0
        """How many filters were compiled (not found in the cache); for tests."""

    def key(self, gate: Gate, table: sa.Table) -> tuple[Any, ...] | None:
        policy, auth = gate.policy or "", gate.auth
        if auth is None or gate.request is None or any(m in policy for m in UNCACHEABLE):
            return None
        claims = (
            orjson.dumps(dict(auth.claims), option=orjson.OPT_SORT_KEYS, default=str)
            if "@auth.claims" in policy
            else None
        )
        granted = gate.granted if "has_perm" in policy else ()
        caller = (auth.id, auth.role, auth.roles, auth.email, auth.aal, claims, granted)
        return (policy, gate.dialect, table, gate.request.method, caller)

    def get(self, key: tuple[Any, ...], tables: Tables) -> sa.ColumnElement[bool] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expr, touched = entry
        if any(tables(name) is not table for name, table in touched):
            del self._entries[key]  # a collection it reads through has changed
            return None
        self._entries.move_to_end(key)
        return expr

    def put(
        self,
        key: tuple[Any, ...],
        expr: sa.ColumnElement[bool],
        touched: tuple[tuple[str, sa.Table], ...],
    ) -> None:
        self.compilations += 1
        self._entries[key] = (expr, touched)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)


class AccessControl:
    def __init__(self, roles: RoleService, clock: Clock) -> None:
        self._roles = roles
        self._clock = clock
        self.compiled = CompiledPolicies()

    async def gate(
        self,
        ctx: RequestContext,
        spec: CollectionSpec,
        operation: Operation,
        *,
        collections: Mapping[str, CollectionSpec],
        tables: Tables,
        dialect: str,
        method: str,
        body: Any = None,
    ) -> Gate:
        """Decide, or raise the PostgREST privilege error."""
        now = self._clock.now()
        if ctx.principal.is_service:
            return Gate(
                ctx, spec, None, None, None, lambda _: True, tables, {}, now, dialect,
                self.compiled,
            )  # fmt: skip
        roles, granted = await self._roles.caller(ctx)
        policy = getattr(spec.policies, operation)
        if not permits(granted, f"rest:{spec.name}:{operation}") or policy is None:
            raise denied(ctx, f"permission denied for table {spec.name}")
        auth = AuthInfo.of(ctx.principal, roles)
        known = dict(collections)
        request = RequestInfo(method, body if isinstance(body, dict) else None)
        return Gate(
            ctx,
            spec,
            policy,
            auth,
            request,
            lambda p: permits(granted, p),
            tables,
            known,
            now,
            dialect,
            self.compiled,
            tuple(sorted(set(granted))),
        )
