"""The storage module's routes under ``/storage/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from apprun.modules.storage.buckets import BucketService
from apprun.modules.storage.images import ImageService
from apprun.modules.storage.listing import ListingService
from apprun.modules.storage.objects import ObjectService
from apprun.modules.storage.quota import QuotaService
from apprun.modules.storage.resumable import ResumableService
from apprun.modules.storage.routes.admin import build_admin_router
from apprun.modules.storage.routes.buckets import build_bucket_router
from apprun.modules.storage.routes.objects import build_object_router
from apprun.modules.storage.routes.render import build_render_router
from apprun.modules.storage.routes.tus import build_tus_router
from apprun.modules.storage.signing import SigningService
from apprun.modules.storage.transfer import TransferService
from apprun.modules.storage.versions import VersionService


def build_routers(
    buckets: BucketService,
    objects: ObjectService,
    listing: ListingService,
    transfer: TransferService,
    signing: SigningService,
    versions: VersionService,
    images: ImageService,
    resumable: ResumableService,
    quota: QuotaService,
) -> list[APIRouter]:
    return [
        build_bucket_router(buckets, objects),
        build_object_router(objects, listing, transfer, signing, versions),
        build_render_router(objects, images, signing),
        build_tus_router(resumable),
        build_admin_router(quota),
    ]
