"""Removing bytes nothing refers to: blobs of writes that never committed (a crash between
the blob and the row), replaced versions whose delete failed, parts of uploads that are
gone, renditions of deleted versions and stale temporary files.

Only blobs older than ``sweep_grace_seconds`` are considered, so a write in progress (its
blob not yet pointed to by a row) is never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from apprun.core.context import RequestContext
from apprun.modules.storage import store
from apprun.modules.storage.blobs import BlobEntry
from apprun.modules.storage.kernel import StorageKernel

BATCH: Final = 500
TMP_PREFIX: Final = ".tmp/"


@dataclass
class SweepReport:
    blobs_removed: int = 0
    bytes_removed: int = 0
    uploads_expired: int = 0


class Sweeper:
    def __init__(self, kernel: StorageKernel) -> None:
        self.k = kernel

    async def sweep(self, ctx: RequestContext) -> SweepReport:
        """One pass over the project's blob store."""
        report = SweepReport()
        cutoff = self.k.clock.now() - timedelta(seconds=self.k.limits.sweep_grace_seconds)
        blobs = self.k.store_of(ctx)
        by_owner: dict[str, list[BlobEntry]] = {}
        stale_tmp: list[BlobEntry] = []
        for prefix in ("objects/", "derived/", "uploads/", TMP_PREFIX):
            async for entry in blobs.list(prefix):
                if entry.modified >= cutoff:
                    continue
                if prefix == TMP_PREFIX:
                    stale_tmp.append(entry)
                    continue
                owner = entry.key.split("/")[1] if entry.key.count("/") >= 1 else ""
                by_owner.setdefault(f"{prefix}{owner}", []).append(entry)
        doomed = list(stale_tmp)
        keys = list(by_owner)
        for start in range(0, len(keys), BATCH):
            batch = keys[start : start + BATCH]
            versions = [k.split("/", 1)[1] for k in batch if not k.startswith("uploads/")]
            upload_ids = [k.split("/", 1)[1] for k in batch if k.startswith("uploads/")]
            async with (await self.k.db(ctx)).read() as conn:
                live = await store.referenced_versions(conn, versions)
                live_uploads = await store.existing_uploads(conn, upload_ids)
            for key in batch:
                kind, owner = key.split("/", 1)
                alive = owner in live_uploads if kind == "uploads" else owner in live
                if not alive:
                    doomed += by_owner[key]
        if doomed:
            await blobs.delete([entry.key for entry in doomed])
        report.blobs_removed = len(doomed)
        report.bytes_removed = sum(entry.size for entry in doomed)
        return report
