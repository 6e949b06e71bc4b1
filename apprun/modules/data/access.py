"""Who may do what on a collection's rows: grants (RBAC), then the collection's policy for
the operation (ABAC), compiled to SQL.

- The service role (and platform admins) bypass both.
- Otherwise the caller's roles must hold ``rest:<collection>:<operation>``, and the policy
  must not be null (null = service role only); ``""`` lets every granted caller through.
- A policy filters the rows of select, update and delete; an insert is checked on the
  candidate row; an update is checked again on the rows it produced ("with check").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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

    @property
    def bypass(self) -> bool:
        return self.policy is None

    def visible(self, field: str) -> bool:
        if self.bypass:
            return True
        spec = self.spec.field(field)
        return spec is None or not spec.hidden

    def filter(self, table: sa.Table) -> sa.ColumnElement[bool]:
        """The rows the policy lets this caller see or change."""
        if not self.policy:
            return sa.true()
        resolver = TableResolver(self.spec, table, self.collections, self.tables)
        return self._compile(resolver)

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


class AccessControl:
    def __init__(self, roles: RoleService, clock: Clock) -> None:
        self._roles = roles
        self._clock = clock

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
            return Gate(ctx, spec, None, None, None, lambda _: True, tables, {}, now, dialect)
        roles, granted = await self._roles.caller(ctx)
        policy = getattr(spec.policies, operation)
        if not permits(granted, f"rest:{spec.name}:{operation}") or policy is None:
            raise denied(ctx, f"permission denied for table {spec.name}")
        principal = ctx.principal
        auth = AuthInfo(
            id=principal.subject if principal.role.value == "authenticated" else None,
            role=principal.role.value,
            roles=roles,
            email=principal.email,
            aal=principal.aal,
            claims=principal.claims,
        )
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
        )
