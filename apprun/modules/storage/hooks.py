"""Hooks the storage module emits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BUCKET_CREATED = "storage.bucket.created"
BUCKET_UPDATED = "storage.bucket.updated"
BUCKET_EMPTIED = "storage.bucket.emptied"
BUCKET_DELETED = "storage.bucket.deleted"
OBJECT_CREATED = "storage.object.created"
OBJECT_UPDATED = "storage.object.updated"
OBJECT_DELETED = "storage.object.deleted"


@dataclass(frozen=True, slots=True)
class BucketChanged:
    project: str
    bucket: str


@dataclass(frozen=True, slots=True)
class ObjectChanged:
    project: str
    bucket: str
    name: str
    object: dict[str, Any]
    """The object's info (``render.object_info``) after the change, or before a delete."""
