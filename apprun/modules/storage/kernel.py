"""What every storage use case shares: the project's database and blob store, the bucket
lookup, access gates, limits, hooks and the audit log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from apprun.core.clock import Clock
from apprun.core.context import RequestContext
from apprun.core.db import Database
from apprun.core.hooks import Hooks
from apprun.core.tenancy import Placement, Tenancy
from apprun.lib.crypto import derive_key
from apprun.modules.storage import store
from apprun.modules.storage.blobs import BlobStore, BlobStores
from apprun.modules.storage.errors import InvalidRole, NoSuchBucket
from apprun.modules.storage.policies import Gate, Operation, StorageAccess

PlacementOf = Callable[[str], Awaitable[Placement]]
AuditRecord = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class Limits:
    file_size_limit: int
    max_versions: int
    upload_expiry_seconds: int
    sweep_grace_seconds: int
    image_max_dimension: int
    image_max_source_pixels: int


class StorageKernel:
    def __init__(
        self,
        tenancy: Tenancy,
        hooks: Hooks,
        clock: Clock,
        placement_of: PlacementOf,
        audit: AuditRecord,
        blobs: BlobStores,
        access: StorageAccess,
        limits: Limits,
        secret_key: str,
    ) -> None:
        self.tenancy = tenancy
        self.hooks = hooks
        self.clock = clock
        self.placement_of = placement_of
        self.audit = audit
        self.blobs = blobs
        self.access = access
        self.limits = limits
        self._signing_root = secret_key

    async def db(self, ctx: RequestContext) -> Database:
        placement = ctx.placement or await self.placement_of(ctx.project)
        return self.tenancy.project_db(placement)

    def store_of(self, ctx: RequestContext) -> BlobStore:
        return self.blobs.project(ctx.project)

    def signing_key(self, project: str) -> bytes:
        """The key of the project's signed URLs (derived from the master secret)."""
        return derive_key(self._signing_root, f"apprun:storage:signed-url:{project}")

    async def bucket(self, ctx: RequestContext, bucket_id: str) -> dict[str, Any]:
        """The bucket row, or NoSuchBucket."""
        async with (await self.db(ctx)).read() as conn:
            row = await store.select_bucket(conn, bucket_id)
        if row is None:
            raise NoSuchBucket(details={"bucket": bucket_id})
        return dict(row)

    async def gate(self, ctx: RequestContext, bucket: dict[str, Any], operation: Operation) -> Gate:
        db = await self.db(ctx)
        return await self.access.gate(ctx, bucket, operation, db.dialect, policies_of(bucket))

    def file_size_limit(self, bucket: dict[str, Any]) -> int:
        own = bucket.get("file_size_limit")
        return self.limits.file_size_limit if own is None else min(own, self.limits.file_size_limit)

    async def record(self, ctx: RequestContext, action: str, target: str, **details: Any) -> None:
        """An audit entry of the project."""
        await self.audit(ctx, action, target, project_id=ctx.project, **details)

    async def emit(self, ctx: RequestContext, name: str, payload: Any) -> None:
        await self.hooks.emit(name, payload, project=ctx.project)


def policies_of(bucket: dict[str, Any]) -> dict[str, str | None]:
    policies: dict[str, str | None] = orjson.loads(bucket.get("policies") or "{}")
    return policies


def require_service(ctx: RequestContext) -> None:
    if not ctx.principal.is_service:
        raise InvalidRole()
