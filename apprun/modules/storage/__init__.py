"""The storage module: buckets and objects behind Supabase Storage's ``/storage/v1`` API, on
local disk or an S3-compatible store.

Other layers use only what this facade exports.
"""

from __future__ import annotations

from fastapi import APIRouter

from apprun.core.clock import Clock
from apprun.core.context import RequestContext
from apprun.core.hooks import Hooks
from apprun.core.tenancy import Tenancy
from apprun.modules.storage.blobs import BlobStores, open_stores
from apprun.modules.storage.buckets import BucketService, GrantPermissions, RevokePrefix
from apprun.modules.storage.images import ImageService
from apprun.modules.storage.kernel import AuditRecord, Limits, PlacementOf, StorageKernel
from apprun.modules.storage.listing import ListingService
from apprun.modules.storage.objects import ObjectService
from apprun.modules.storage.policies import CallerRoles, StorageAccess
from apprun.modules.storage.quota import QuotaService
from apprun.modules.storage.resumable import ResumableService
from apprun.modules.storage.routes import build_routers
from apprun.modules.storage.signing import SigningService
from apprun.modules.storage.sweep import Sweeper, SweepReport
from apprun.modules.storage.transfer import TransferService
from apprun.modules.storage.versions import VersionService

__all__ = ["BlobStores", "Limits", "StorageService", "SweepReport", "open_stores"]


class StorageService:
    """Facade of the storage module."""

    def __init__(
        self,
        tenancy: Tenancy,
        hooks: Hooks,
        clock: Clock,
        placement_of: PlacementOf,
        audit: AuditRecord,
        caller_roles: CallerRoles,
        grant: GrantPermissions,
        revoke: RevokePrefix,
        *,
        blobs: BlobStores,
        limits: Limits,
        secret_key: str,
    ) -> None:
        access = StorageAccess(caller_roles, clock.now)
        self.kernel = StorageKernel(
            tenancy, hooks, clock, placement_of, audit, blobs, access, limits, secret_key
        )
        self.buckets = BucketService(self.kernel, grant, revoke)
        self.objects = ObjectService(self.kernel)
        self.listing = ListingService(self.kernel)
        self.transfer = TransferService(self.objects)
        self.signing = SigningService(self.kernel, self.objects)
        self.resumable = ResumableService(self.kernel, self.objects, self.signing)
        self.sweeper = Sweeper(self.kernel)
        self.versions = VersionService(self.objects)
        self.images = ImageService(self.kernel)
        self.quota = QuotaService(self.kernel)

    @property
    def blobs(self) -> BlobStores:
        return self.kernel.blobs

    async def sweep(self, ctx: RequestContext) -> SweepReport:
        """Remove the project's expired resumable uploads, then its unreferenced bytes (see
        ``sweep.py``)."""
        expired = await self.resumable.expire(ctx)
        report = await self.sweeper.sweep(ctx)
        report.uploads_expired = expired
        return report

    async def expire_uploads(self, ctx: RequestContext) -> int:
        """Remove the project's expired resumable uploads and their parts → how many."""
        return await self.resumable.expire(ctx)

    async def drop_project(self, project: str) -> None:
        """Remove every byte of a deleted project."""
        await self.kernel.blobs.drop_project(project)

    async def close(self) -> None:
        await self.kernel.blobs.close()

    def routers(self) -> list[APIRouter]:
        return build_routers(
            self.buckets,
            self.objects,
            self.listing,
            self.transfer,
            self.signing,
            self.versions,
            self.images,
            self.resumable,
            self.quota,
        )
