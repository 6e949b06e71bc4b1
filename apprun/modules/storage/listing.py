"""Listing a bucket one folder level at a time: Storage's list v1 (names relative to the
prefix) and list v2 (full keys, a cursor)."""

from __future__ import annotations

import base64
from typing import Any, Final

import orjson

from apprun.core.context import RequestContext
from apprun.modules.storage import render, store
from apprun.modules.storage.errors import InvalidParameter, InvalidRequest
from apprun.modules.storage.kernel import StorageKernel

MAX_V1: Final = 1500
MAX_V2: Final = 1000
V1_COLUMNS: Final = ("name", "updated_at", "created_at", "last_accessed_at")
V2_COLUMNS: Final = ("name", "updated_at", "created_at")


class ListingService:
    def __init__(self, kernel: StorageKernel) -> None:
        self.k = kernel

    async def _rows(self, ctx: RequestContext, bucket_id: str, prefix: str) -> list[dict[str, Any]]:
        bucket = await self.k.bucket(ctx, bucket_id)
        where = (await self.k.gate(ctx, bucket, "select")).filter()
        async with (await self.k.db(ctx)).read() as conn:
            rows = await store.select_under_prefix(conn, bucket_id, prefix, where)
        return [dict(row) for row in rows]

    async def list_v1(
        self, ctx: RequestContext, bucket_id: str, body: dict[str, Any]
    ) -> list[dict[str, Any]]:
        prefix = body.get("prefix")
        if not isinstance(prefix, str):
            raise InvalidRequest("body must have required property 'prefix'")
        limit = _number(body.get("limit", 100), "limit", 1, MAX_V1)
        offset = _number(body.get("offset", 0), "offset", 0, None)
        column, descending = _sort(body.get("sortBy"), V1_COLUMNS)
        search = body.get("search") or ""
        if not isinstance(search, str):
            raise InvalidRequest("body/search must be string")
        base = prefix + "/" if prefix and not prefix.endswith("/") else prefix
        level = base + search[: search.rfind("/") + 1]
        files: list[tuple[str, dict[str, Any]]] = []
        folders: dict[str, None] = {}
        for row in await self._rows(ctx, bucket_id, level):
            rest = row["name"][len(level) :]
            if search and not (row["name"][len(base) :].lower().startswith(search.lower())):
                continue
            relative = row["name"][len(base) :]
            if "/" in rest:
                folders[relative[: len(relative) - len(rest) + rest.index("/")]] = None
            else:
                files.append((relative, row))
        entries: list[tuple[str, dict[str, Any] | None]] = [
            *((name, None) for name in folders),
            *files,
        ]
        if column == "name":
            entries.sort(key=lambda e: e[0].lower().encode(), reverse=descending)
        else:
            dirs = sorted((e for e in entries if e[1] is None), key=lambda e: e[0])
            objs = sorted(
                (e for e in entries if e[1] is not None),
                key=lambda e: (e[1][column], e[0]),  # type: ignore[index]
                reverse=descending,
            )
            entries = dirs + objs
        page = entries[offset : offset + limit]
        return [
            render.listed_folder(name) if row is None else render.listed_file(row, name)
            for name, row in page
        ]

    async def list_v2(
        self, ctx: RequestContext, bucket_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        prefix = body.get("prefix") or ""
        if not isinstance(prefix, str):
            raise InvalidRequest("body/prefix must be string")
        limit = _number(body.get("limit", MAX_V2), "limit", 1, MAX_V2)
        column, descending = _sort(body.get("sortBy"), V2_COLUMNS)
        offset = _cursor(body.get("cursor"))
        delimiter = bool(body.get("with_delimiter"))
        folders: dict[str, None] = {}
        files: list[dict[str, Any]] = []
        for row in await self._rows(ctx, bucket_id, prefix):
            rest = row["name"][len(prefix) :]
            if delimiter and "/" in rest:
                folders[prefix + rest[: rest.index("/") + 1]] = None
            else:
                files.append(row)
        if column == "name":
            files.sort(key=lambda r: r["name"].encode(), reverse=descending)
        else:
            files.sort(key=lambda r: (r[column], r["name"]), reverse=descending)
        entries: list[tuple[str, dict[str, Any] | None]] = [
            *((name, None) for name in sorted(folders, key=str.encode)),
            *((row["name"], row) for row in files),
        ]
        page = entries[offset : offset + limit]
        has_next = offset + limit < len(entries)
        result: dict[str, Any] = {
            "hasNext": has_next,
            "folders": [
                {**render.listed_folder(name), "key": name.rstrip("/").rsplit("/", 1)[-1]}
                for name, row in page
                if row is None
            ],
            "objects": [
                {**render.listed_file(row, name), "key": name.rsplit("/", 1)[-1]}
                for name, row in page
                if row is not None
            ],
        }
        if has_next:
            result["nextCursor"] = base64.urlsafe_b64encode(
                orjson.dumps({"offset": offset + limit})
            ).decode()
        return result


def _number(value: Any, field: str, minimum: int, maximum: int | None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidRequest(f"body/{field} must be integer", details={"field": field}) from None
    if number < minimum:
        raise InvalidRequest(f"body/{field} must be >= {minimum}", details={"field": field})
    return number if maximum is None else min(number, maximum)


def _sort(value: Any, columns: tuple[str, ...]) -> tuple[str, bool]:
    if value is None:
        return "name", False
    if not isinstance(value, dict):
        raise InvalidRequest("body/sortBy must be object", details={"field": "sortBy"})
    column = value.get("column") or "name"
    order = str(value.get("order") or "asc").lower()
    if column not in columns or order not in ("asc", "desc"):
        raise InvalidRequest(
            f"sortBy.column must be one of {', '.join(columns)}; order asc or desc",
            details={"field": "sortBy"},
        )
    return column, order == "desc"


def _cursor(value: Any) -> int:
    if value in (None, ""):
        return 0
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(str(value).encode()))
        offset = int(decoded["offset"])
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        raise InvalidParameter("Invalid Parameter cursor", details={"field": "cursor"}) from None
    if offset < 0:
        raise InvalidParameter("Invalid Parameter cursor", details={"field": "cursor"})
    return offset
