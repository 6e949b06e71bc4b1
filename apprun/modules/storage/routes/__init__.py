"""The storage module's routes under ``/storage/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from apprun.modules.storage.buckets import BucketService
from apprun.modules.storage.listing import ListingService
from apprun.modules.storage.objects import ObjectService
from apprun.modules.storage.quota import QuotaService
from apprun.modules.storage.routes.admin import build_admin_router
from apprun.modules.storage.routes.buckets import build_bucket_router
from apprun.modules.storage.routes.objects import build_object_router
from apprun.modules.storage.signing import SigningService
from apprun.modules.storage.transfer import TransferService


def build_routers(
    buckets: BucketService,
    objects: ObjectService,
    listing: ListingService,
    transfer: TransferService,
    signing: SigningService,
    quota: QuotaService,
) -> list[APIRouter]:
    return [
        build_bucket_router(buckets, objects),
        build_object_router(objects, listing, transfer, signing),
        build_admin_router(quota),
    ]
