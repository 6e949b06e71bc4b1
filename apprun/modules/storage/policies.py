"""Who may do what in a bucket: a grant (RBAC ``storage:<bucket>:read|write|delete``), then
the bucket's policy for the operation (the rule language of collections), compiled to SQL on
``storage_objects`` for reads, updates and deletes and checked on the candidate object for
inserts. The service role bypasses both.

A policy is ``None`` (service role only, the default), ``""`` (every granted caller) or a
rule over the object's fields: ``name``, ``bucket_id``, ``owner``, ``size``, ``mime_type``,
``created_at``, ``updated_at``, ``metadata.<key>`` (user metadata, as text) and
``@path.segments[N]`` (the key's N-th folder, 0-based), e.g.
``@path.segments[0] = @auth.id``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from apprun.core.context import RequestContext
from apprun.lib.rules import RuleSyntaxError, parse_rule
from apprun.modules.data import (
    AuthInfo,
    CollectionSpec,
    FieldSpec,
    RequestInfo,
    RuleCompileError,
    compile_rule,
    permits,
)
from apprun.modules.storage.tables import objects

Operation = Literal["select", "insert", "update", "delete"]
OPERATIONS: Final[tuple[Operation, ...]] = ("select", "insert", "update", "delete")
PERMISSION: Final[dict[Operation, str]] = {
    "select": "read",
    "insert": "write",
    "update": "write",
    "delete": "delete",
}
CallerRoles = Callable[[RequestContext], Awaitable[tuple[tuple[str, ...], list[str]]]]


def _field(name: str, kind: Literal["text", "bigint", "timestamp"]) -> FieldSpec:
    return FieldSpec.model_construct(name=name, type=kind)


_FIELDS: Final = {
    "id": _field("id", "text"),
    "name": _field("name", "text"),
    "bucket_id": _field("bucket_id", "text"),
    "owner": _field("owner", "text"),
    "size": _field("size", "bigint"),
    "mime_type": _field("mime_type", "text"),
    "created_at": _field("created_at", "timestamp"),
    "updated_at": _field("updated_at", "timestamp"),
}
_TEXT: Final = _field("text", "text")
_TYPES: Final[dict[str, sa.types.TypeEngine[Any]]] = {
    "text": sa.Text(),
    "bigint": sa.BigInteger(),
    "timestamp": sa.DateTime(timezone=True),
}
OBJECT_SPEC: Final = CollectionSpec.model_construct(name="objects", fields=[], indexes=[])
FIELD_NAMES: Final = (*_FIELDS, "metadata.<key>", "@path.segments[N]")


class ObjectResolver:
    """Rule paths on an object: columns of ``storage_objects`` (``values`` None) or the
    values of a candidate object (insert checks), or placeholders (validation)."""

    spec = OBJECT_SPEC

    def __init__(
        self, dialect: str, values: Mapping[str, Any] | None = None, *, placeholder: bool = False
    ) -> None:
        self.dialect = dialect
        self.values = values
        self.placeholder = placeholder

    def resolve(self, path: tuple[str, ...]) -> tuple[ColumnElement[Any], FieldSpec]:
        shown = ".".join(path)
        if path[0] == "@path":
            if len(path) != 3 or path[1] != "segments" or not path[2].isdigit():
                raise RuleCompileError(f"unknown name '{shown}'; expected @path.segments[N]")
            return self._segment(int(path[2])), _TEXT
        if path[0] == "metadata" and len(path) == 2:
            return self._metadata(path[1]), _TEXT
        field = _FIELDS.get(path[0]) if len(path) == 1 else None
        if field is None:
            raise RuleCompileError(
                f"unknown field '{shown}' of an object; expected {', '.join(FIELD_NAMES)}"
            )
        if self.placeholder:
            return sa.column(path[0], _TYPES[field.type]), field
        if self.values is not None:
            return sa.literal(self.values.get(path[0]), _TYPES[field.type]), field
        return objects.c[path[0]], field

    def _segment(self, index: int) -> ColumnElement[Any]:
        if self.placeholder:
            return sa.column("segment", sa.Text())
        if self.values is not None:
            parts = str(self.values.get("name") or "").split("/")
            return sa.literal(parts[index] if index < len(parts) else None, sa.Text())
        return self._json_text(objects.c.path_tokens, index)

    def _metadata(self, key: str) -> ColumnElement[Any]:
        if self.placeholder:
            return sa.column("metadata", sa.Text())
        if self.values is not None:
            found = (self.values.get("user_metadata") or {}).get(key)
            text = None if found is None else found if isinstance(found, str) else str(found)
            return sa.literal(text, sa.Text())
        return self._json_text(objects.c.metadata, key)

    def _json_text(self, column: ColumnElement[Any], step: int | str) -> ColumnElement[Any]:
        if self.dialect == "postgresql":
            expr = sa.func.jsonb_extract_path_text(sa.cast(column, JSONB), str(step))
        else:
            pointer = f"$[{step}]" if isinstance(step, int) else '$."' + step.replace('"', "") + '"'
            expr = sa.func.json_extract(column, pointer)
        return sa.type_coerce(expr, sa.Text())


def policy_problems(text: str) -> list[str]:
    """Why ``text`` is not a valid object policy ([] when it is)."""
    try:
        expr = parse_rule(text)
        compile_rule(
            expr,
            ObjectResolver("sqlite", placeholder=True),
            AuthInfo(id=None, role="anon", roles=()),
            RequestInfo("GET"),
            now=datetime(2000, 1, 1, tzinfo=UTC),
            has_perm=lambda _: False,
            dialect="sqlite",
        )
    except (RuleSyntaxError, RuleCompileError) as error:
        return [str(error)]
    return []


@dataclass(frozen=True)
class Gate:
    """One caller's access to one bucket for one operation."""

    granted: bool
    """Whether the operation is allowed at all (grant held and policy not null)."""
    policy: str | None
    """None: no restriction (service role); "": none beyond the grant."""
    auth: AuthInfo | None
    has_perm: Callable[[str], bool]
    now: datetime
    dialect: str

    @property
    def bypass(self) -> bool:
        return self.granted and self.policy is None

    def filter(self) -> ColumnElement[bool]:
        """The objects of the bucket this caller may see/change (SQL on storage_objects)."""
        if not self.granted:
            return sa.false()
        if not self.policy:
            return sa.true()
        return self._compile(ObjectResolver(self.dialect))

    def allows(self, candidate: Mapping[str, Any]) -> bool:
        """Whether an object with these values (``name``, ``owner``, ``size``, ``mime_type``,
        ``user_metadata`` …) satisfies the policy; decided without the database."""
        if not self.granted:
            return False
        if not self.policy:
            return True
        expr = self._compile(ObjectResolver(self.dialect, candidate))
        return isinstance(expr, sa.True_)

    def _compile(self, resolver: ObjectResolver) -> ColumnElement[bool]:
        assert self.policy
        assert self.auth is not None
        return compile_rule(
            parse_rule(self.policy),
            resolver,
            self.auth,
            RequestInfo("POST"),
            now=self.now,
            has_perm=self.has_perm,
            dialect=self.dialect,
        )


class StorageAccess:
    def __init__(self, caller_roles: CallerRoles, now: Callable[[], datetime]) -> None:
        self._caller_roles = caller_roles
        self._now = now

    async def gate(
        self,
        ctx: RequestContext,
        bucket: Mapping[str, Any],
        operation: Operation,
        dialect: str,
        policies: Mapping[str, str | None],
    ) -> Gate:
        now = self._now()
        if ctx.principal.is_service:
            return Gate(True, None, None, lambda _: True, now, dialect)
        roles, granted = await self._caller_roles(ctx)
        policy = policies.get(operation)
        allowed = policy is not None and permits(
            granted, f"storage:{bucket['id']}:{PERMISSION[operation]}"
        )
        auth = AuthInfo.of(ctx.principal, roles)
        return Gate(allowed, policy or "", auth, lambda p: permits(granted, p), now, dialect)
