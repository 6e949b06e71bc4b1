"""Buckets and objects in the JSON shapes Supabase Storage's clients parse."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson


def iso(value: datetime | None) -> str | None:
    """``2024-05-01T10:00:00.000Z``."""
    if value is None:
        return None
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def json_or_none(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def bucket(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "owner": row["owner"] or "",
        "public": bool(row["public"]),
        "type": "STANDARD",
        "file_size_limit": row["file_size_limit"],
        "allowed_mime_types": json_or_none(row["allowed_mime_types"]),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        # apprun's own settings (both SDKs ignore unknown keys)
        "versioning": bool(row["versioning"]),
        "max_versions": row["max_versions"],
        "allow_inline_html": bool(row["allow_inline_html"]),
        "policies": orjson.loads(row["policies"]),
    }


def system_metadata(row: dict[str, Any]) -> dict[str, Any]:
    """storage-js's ``FileMetadata``."""
    return {
        "eTag": f'"{row["etag"]}"',
        "size": row["size"],
        "mimetype": row["mime_type"],
        "cacheControl": row["cache_control"],
        "lastModified": iso(row["updated_at"]),
        "contentLength": row["size"],
        "httpStatusCode": 200,
    }


def object_row(row: dict[str, Any]) -> dict[str, Any]:
    """An object as the delete and copy routes return it."""
    return {
        "name": row["name"],
        "bucket_id": row["bucket_id"],
        "owner": row["owner"] or "",
        "owner_id": row["owner"] or "",
        "version": row["version"],
        "id": row["id"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "last_accessed_at": iso(row["last_accessed_at"]),
        "metadata": system_metadata(row),
        "user_metadata": json_or_none(row["metadata"]),
    }


def object_info(row: dict[str, Any]) -> dict[str, Any]:
    """``GET /object/info/{bucket}/{key}``."""
    return {
        "id": row["id"],
        "name": row["name"],
        "version": row["version"],
        "bucket_id": row["bucket_id"],
        "size": row["size"],
        "content_type": row["mime_type"],
        "cache_control": row["cache_control"],
        "etag": f'"{row["etag"]}"',
        "metadata": json_or_none(row["metadata"]),
        "last_modified": iso(row["updated_at"]),
        "created_at": iso(row["created_at"]),
    }


def listed_file(row: dict[str, Any], name: str) -> dict[str, Any]:
    return {
        "name": name,
        "id": row["id"],
        "updated_at": iso(row["updated_at"]),
        "created_at": iso(row["created_at"]),
        "last_accessed_at": iso(row["last_accessed_at"]),
        "metadata": system_metadata(row),
    }


def listed_folder(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "id": None,
        "updated_at": None,
        "created_at": None,
        "last_accessed_at": None,
        "metadata": None,
    }


def version(row: dict[str, Any], current: bool) -> dict[str, Any]:
    return {
        "version": row["version"],
        "name": row["name"],
        "bucket_id": row["bucket_id"],
        "size": row["size"],
        "content_type": row["mime_type"],
        "etag": f'"{row["etag"]}"',
        "metadata": json_or_none(row["metadata"]),
        "created_at": iso(row["created_at"]),
        "archived_at": None if current else iso(row.get("archived_at")),
        "is_latest": current,
    }
