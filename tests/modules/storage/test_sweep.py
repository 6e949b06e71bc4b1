"""The sweep removes bytes no row points to once they are older than the grace period, and
keeps the ones a row refers to and the young ones (a write in progress)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from apprun.core.clock import ManualClock
from apprun.core.context import RequestContext
from apprun.testing import ScenarioEnv
from tests.modules.storage.conftest import Kit

pytestmark = pytest.mark.anyio


async def one(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def blob_keys(env: ScenarioEnv) -> set[str]:
    blobs = env.services.storage.blobs.project("default")
    return {entry.key async for entry in blobs.list("objects/")}


async def test_sweep_removes_old_unreferenced_blobs_only(kit: Kit, clock: ManualClock) -> None:
    storage = kit.env.services.storage
    await kit.bucket("docs")
    response = await kit.put("docs", "kept.txt", b"referenced")
    assert response.status_code == 200, response.text
    (referenced,) = await blob_keys(kit.env)
    stray = f"objects/{uuid.uuid4()}"
    await storage.blobs.project("default").write(stray, one(b"nobody points here"))
    ctx = RequestContext.system("default")

    young = await storage.sweep(ctx)
    assert (young.blobs_removed, await blob_keys(kit.env)) == (0, {referenced, stray})

    # Blob times come from the files' mtime (real time), the cutoff from the app clock: move
    # the app clock past the grace period so both blobs count as old.
    clock.advance(storage.kernel.limits.sweep_grace_seconds + 60)
    old = await storage.sweep(ctx)
    assert (old.blobs_removed, old.bytes_removed) == (1, len(b"nobody points here"))
    assert await blob_keys(kit.env) == {referenced}
    got = await kit.client.get("/storage/v1/object/docs/kept.txt", headers=await kit.service())
    assert got.content == b"referenced"

    again = await storage.sweep(ctx)
    assert again.blobs_removed == 0
