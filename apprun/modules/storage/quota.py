"""The project's storage quota: how many bytes and objects it may keep (service role)."""

from __future__ import annotations

from typing import Any, Final

from apprun.core.context import RequestContext
from apprun.modules.storage import render, store
from apprun.modules.storage.errors import InvalidRequest
from apprun.modules.storage.kernel import StorageKernel, require_service

QUOTA_FIELDS: Final = ("quota_bytes", "quota_objects")


class QuotaService:
    def __init__(self, kernel: StorageKernel) -> None:
        self.k = kernel

    async def get(self, ctx: RequestContext) -> dict[str, Any]:
        require_service(ctx)
        async with (await self.k.db(ctx)).read() as conn:
            row = await store.select_config(conn)
        return _render(row)

    async def update(self, ctx: RequestContext, body: dict[str, Any]) -> dict[str, Any]:
        """Set ``quota_bytes`` / ``quota_objects`` (absent = unchanged, null = no quota)."""
        require_service(ctx)
        values: dict[str, Any] = {
            key: _quota(key, body[key]) for key in QUOTA_FIELDS if key in body
        }
        if not values:
            raise InvalidRequest("body must have at least one of quota_bytes, quota_objects")
        async with (await self.k.db(ctx)).tx() as conn:
            await store.upsert_config(conn, {**values, "updated_at": self.k.clock.now()})
            row = await store.select_config(conn)
        await self.k.record(ctx, "storage.config.update", "storage:config", keys=sorted(values))
        return _render(row)


def _quota(field: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRequest(
            f"body/{field} must be an integer ≥ 0 or null", details={"field": field}
        )
    return value


def _render(row: Any) -> dict[str, Any]:
    return {
        "quota_bytes": None if row is None else row["quota_bytes"],
        "quota_objects": None if row is None else row["quota_objects"],
        "updated_at": None if row is None else render.iso(row["updated_at"]),
    }
