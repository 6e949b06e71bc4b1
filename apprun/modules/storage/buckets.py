"""Bucket use cases: create, list, get, update, empty, delete."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from apprun.core.context import RequestContext
from apprun.modules.storage import hooks, names, render, store
from apprun.modules.storage.errors import (
    BucketAlreadyExists,
    EntityTooLarge,
    InvalidRequest,
    NoSuchBucket,
    ResourceNotEmpty,
)
from apprun.modules.storage.kernel import StorageKernel, require_service
from apprun.modules.storage.policies import OPERATIONS, PERMISSION, policy_problems

SORT_COLUMNS: Final = ("id", "name", "created_at", "updated_at")
GRANTABLE: Final = ("read", "write", "delete")
UPDATABLE: Final = (
    "public",
    "file_size_limit",
    "allowed_mime_types",
    "versioning",
    "max_versions",
    "allow_inline_html",
    "policies",
)
GrantPermissions = Callable[[AsyncConnection, str, Sequence[str]], Awaitable[bool]]
"""Add permissions to a role inside a transaction; False when the role does not exist."""
RevokePrefix = Callable[[AsyncConnection, str], Awaitable[None]]
"""Remove every permission starting with a prefix (a deleted bucket's grants)."""


class BucketService:
    def __init__(
        self, kernel: StorageKernel, grant: GrantPermissions, revoke: RevokePrefix
    ) -> None:
        self.k = kernel
        self._grant = grant
        self._revoke = revoke

    async def create(self, ctx: RequestContext, body: dict[str, Any]) -> dict[str, Any]:
        require_service(ctx)
        name = names.bucket_name(body.get("name", body.get("id")))
        bucket_id = names.bucket_name(body.get("id") or name)
        values = self._settings(body, create=True)
        grants = _grants(body.get("grants"))
        now = self.k.clock.now()
        row = {
            "id": bucket_id,
            "name": name,
            "owner": ctx.principal.subject if ctx.principal.role.value == "authenticated" else None,
            "created_at": now,
            "updated_at": now,
            **values,
        }
        async with (await self.k.db(ctx)).tx() as conn:
            try:
                await store.insert_bucket(conn, row)
            except store.Duplicate:
                raise BucketAlreadyExists(details={"bucket": bucket_id}) from None
            for role, permissions in grants.items():
                wanted = [f"storage:{bucket_id}:{p}" for p in permissions]
                if not await self._grant(conn, role, wanted):
                    raise InvalidRequest(
                        f"grants: no role named {role!r}", details={"field": "grants"}
                    )
        await self.k.record(ctx, "storage.bucket.create", f"bucket:{bucket_id}")
        await self.k.emit(ctx, hooks.BUCKET_CREATED, hooks.BucketChanged(ctx.project, bucket_id))
        return {"name": bucket_id}

    async def list(self, ctx: RequestContext, query: dict[str, str]) -> list[dict[str, Any]]:
        sort = query.get("sortColumn") or "name"
        order = (query.get("sortOrder") or "asc").lower()
        if sort not in SORT_COLUMNS or order not in ("asc", "desc"):
            raise InvalidRequest(
                "sortColumn must be id, name, created_at or updated_at; sortOrder asc or desc"
            )
        limit = _int(query.get("limit"), "limit", minimum=1)
        offset = _int(query.get("offset"), "offset", minimum=0) or 0
        async with (await self.k.db(ctx)).read() as conn:
            rows = await store.select_buckets(
                conn,
                search=query.get("search"),
                sort=sort,
                descending=order == "desc",
                limit=None if not ctx.principal.is_service else limit,
                offset=0 if not ctx.principal.is_service else offset,
            )
        visible = [dict(row) for row in rows]
        if not ctx.principal.is_service:
            visible = [row for row in visible if await self._visible(ctx, row)]
            visible = visible[offset : None if limit is None else offset + limit]
        return [render.bucket(row) for row in visible]

    async def get(self, ctx: RequestContext, bucket_id: str) -> dict[str, Any]:
        row = await self.k.bucket(ctx, bucket_id)
        if not await self._visible(ctx, row):
            raise NoSuchBucket(details={"bucket": bucket_id})
        return render.bucket(row)

    async def update(self, ctx: RequestContext, bucket_id: str, body: dict[str, Any]) -> None:
        require_service(ctx)
        values = self._settings(body, create=False)
        if not values:
            raise InvalidRequest(
                "body must have at least one of public, file_size_limit, allowed_mime_types"
            )
        values["updated_at"] = self.k.clock.now()
        async with (await self.k.db(ctx)).tx() as conn:
            if not await store.update_bucket(conn, bucket_id, values):
                raise NoSuchBucket(details={"bucket": bucket_id})
        await self.k.record(
            ctx, "storage.bucket.update", f"bucket:{bucket_id}", keys=sorted(values)
        )
        await self.k.emit(ctx, hooks.BUCKET_UPDATED, hooks.BucketChanged(ctx.project, bucket_id))

    async def delete(self, ctx: RequestContext, bucket_id: str) -> None:
        require_service(ctx)
        async with (await self.k.db(ctx)).tx() as conn:
            if await store.select_bucket(conn, bucket_id) is None:
                raise NoSuchBucket(details={"bucket": bucket_id})
            if await store.bucket_has_objects(conn, bucket_id):
                raise ResourceNotEmpty(details={"bucket": bucket_id})
            leftovers = [
                row["version"] for row in await store.select_bucket_versions(conn, bucket_id)
            ]
            await store.delete_versions(conn, leftovers)
            await store.delete_bucket(conn, bucket_id)
            await self._revoke(conn, f"storage:{bucket_id}:")
        await self.k.store_of(ctx).delete([f"objects/{v}" for v in leftovers])
        await self.k.record(ctx, "storage.bucket.delete", f"bucket:{bucket_id}")
        await self.k.emit(ctx, hooks.BUCKET_DELETED, hooks.BucketChanged(ctx.project, bucket_id))

    async def _visible(self, ctx: RequestContext, row: dict[str, Any]) -> bool:
        """A bucket is visible to callers who may read in it, and to everyone when public."""
        if ctx.principal.is_service or row["public"]:
            return True
        return (await self.k.gate(ctx, row, "select")).granted

    def _settings(self, body: dict[str, Any], *, create: bool) -> dict[str, Any]:
        """The columns ``body`` sets (create: every column, with defaults)."""
        values: dict[str, Any] = {}
        defaults: dict[str, Any] = {
            "public": False,
            "file_size_limit": None,
            "allowed_mime_types": None,
            "versioning": False,
            "max_versions": None,
            "allow_inline_html": False,
            "policies": None,
        }
        for key in UPDATABLE:
            if key not in body and not create:
                continue
            value = body.get(key, defaults[key])
            values[key] = self._setting(key, value)
        return values

    def _setting(self, key: str, value: Any) -> Any:
        if key in ("public", "versioning", "allow_inline_html"):
            if value is None:
                return False
            if not isinstance(value, bool):
                raise InvalidRequest(f"body/{key} must be boolean", details={"field": key})
            return value
        if key == "file_size_limit":
            size = names.parse_size(value)
            if size is not None and size > self.k.limits.file_size_limit:
                raise EntityTooLarge(
                    "file_size_limit is above the server's limit "
                    f"({self.k.limits.file_size_limit} bytes)",
                    details={"field": key},
                )
            return size
        if key == "allowed_mime_types":
            allowed = names.mime_types(value)
            return None if allowed is None else orjson.dumps(allowed).decode()
        if key == "max_versions":
            return _int(value, key, minimum=1)
        return orjson.dumps(_policies(value)).decode()


def _policies(value: Any) -> dict[str, str | None]:
    if value is None:
        return dict.fromkeys(OPERATIONS)
    if not isinstance(value, dict) or set(value) - set(OPERATIONS):
        raise InvalidRequest(
            "policies must be an object with select, insert, update and delete",
            details={"field": "policies"},
        )
    policies: dict[str, str | None] = {}
    for operation in OPERATIONS:
        rule = value.get(operation)
        if rule is not None and not isinstance(rule, str):
            raise InvalidRequest(
                f'policies.{operation} must be a rule, "" or null',
                details={"field": f"policies.{operation}"},
            )
        if rule:
            problems = policy_problems(rule)
            if problems:
                raise InvalidRequest(
                    f"policies.{operation}: {problems[0]}",
                    details={"field": f"policies.{operation}", "problems": problems},
                )
        policies[operation] = rule
    return policies


def _grants(value: Any) -> dict[str, list[str]]:
    if value is None:
        return {}
    valid = isinstance(value, dict) and all(
        isinstance(ops, list) and all(op in GRANTABLE for op in ops) for ops in value.values()
    )
    if not valid:
        raise InvalidRequest(
            'grants must map roles to lists of "read", "write", "delete"',
            details={"field": "grants"},
        )
    return {role: sorted(set(ops)) for role, ops in value.items()}


def _int(value: Any, field: str, *, minimum: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = minimum - 1
    if isinstance(value, bool) or number < minimum:
        raise InvalidRequest(f"{field} must be an integer ≥ {minimum}", details={"field": field})
    return number


__all__ = ["PERMISSION", "BucketService"]
