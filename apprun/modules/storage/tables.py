"""The storage module's tables in each project database (created by migration ``0005_storage``).

Bytes never live under a user's key: an object row points to an immutable blob named by its
``version`` (a fresh id per write), so a key can hold any text and never becomes a file path.
"""

from __future__ import annotations

import sqlalchemy as sa

from apprun.core.types import UtcDateTime

metadata = sa.MetaData()
ID = sa.String(36)
KEY = sa.String(1024)


def _ts(name: str, *, required: bool = False) -> sa.Column[object]:
    return sa.Column(name, UtcDateTime, nullable=not required)


buckets = sa.Table(
    "storage_buckets",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("owner", ID),
    sa.Column("public", sa.Boolean, nullable=False),
    sa.Column("file_size_limit", sa.BigInteger),
    sa.Column("allowed_mime_types", sa.Text),  # JSON list, or NULL for any type
    sa.Column("versioning", sa.Boolean, nullable=False),
    sa.Column("max_versions", sa.Integer),
    sa.Column("allow_inline_html", sa.Boolean, nullable=False),
    sa.Column("policies", sa.Text, nullable=False),  # JSON {select, insert, update, delete}
    _ts("created_at", required=True),
    _ts("updated_at", required=True),
)

objects = sa.Table(
    "storage_objects",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("bucket_id", sa.String(100), sa.ForeignKey("storage_buckets.id"), nullable=False),
    sa.Column("name", KEY, nullable=False),
    sa.Column("path_tokens", sa.Text, nullable=False),  # JSON list of the key's segments
    sa.Column("owner", ID),
    sa.Column("version", ID, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mime_type", sa.String(255), nullable=False),
    sa.Column("etag", sa.String(64), nullable=False),
    sa.Column("cache_control", sa.String(255), nullable=False),
    sa.Column("metadata", sa.Text),  # user metadata (JSON object) or NULL
    _ts("created_at", required=True),
    _ts("updated_at", required=True),
    _ts("last_accessed_at", required=True),
    sa.UniqueConstraint("bucket_id", "name", name="storage_objects_bucket_name_key"),
)

versions = sa.Table(
    "storage_versions",
    metadata,
    sa.Column("version", ID, primary_key=True),
    sa.Column("object_id", ID, nullable=False),
    sa.Column("bucket_id", sa.String(100), sa.ForeignKey("storage_buckets.id"), nullable=False),
    sa.Column("name", KEY, nullable=False),
    sa.Column("owner", ID),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("mime_type", sa.String(255), nullable=False),
    sa.Column("etag", sa.String(64), nullable=False),
    sa.Column("cache_control", sa.String(255), nullable=False),
    sa.Column("metadata", sa.Text),
    _ts("created_at", required=True),  # when this version was written
    _ts("archived_at", required=True),  # when a newer write replaced it
)

uploads = sa.Table(
    "storage_uploads",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("bucket_id", sa.String(100), nullable=False),
    sa.Column("name", KEY, nullable=False),
    sa.Column("owner", ID),
    sa.Column("upsert", sa.Boolean, nullable=False),
    sa.Column("length", sa.BigInteger),  # NULL while the length is deferred
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column("parts", sa.Integer, nullable=False),
    sa.Column("upload_metadata", sa.Text, nullable=False),  # the raw Upload-Metadata header
    sa.Column("content_type", sa.String(255), nullable=False),
    sa.Column("cache_control", sa.String(255), nullable=False),
    sa.Column("metadata", sa.Text),
    _ts("created_at", required=True),
    _ts("expires_at", required=True),
)

config = sa.Table(
    "storage_config",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("quota_bytes", sa.BigInteger),
    sa.Column("quota_objects", sa.BigInteger),
    _ts("updated_at", required=True),
)
