"""Hooks the data module emits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

COLLECTION_CREATED = "data.collection.created"
COLLECTION_UPDATED = "data.collection.updated"
COLLECTION_DELETED = "data.collection.deleted"
ROW_INSERTED = "data.row.inserted"
ROW_UPDATED = "data.row.updated"
ROW_DELETED = "data.row.deleted"


@dataclass(frozen=True, slots=True)
class CollectionChanged:
    project: str
    collection: str


@dataclass(frozen=True, slots=True)
class RowChanged:
    project: str
    collection: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
