"""storage: buckets, objects, previous versions, resumable uploads and the storage config

Revision ID: project_storage_0001
Revises:
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "project_storage_0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = ("project_storage",)
depends_on: Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
ID = sa.String(36)
KEY = sa.String(1024)


def _object_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("bucket_id", sa.String(100), sa.ForeignKey("storage_buckets.id"),
                  nullable=False),
        sa.Column("name", KEY, nullable=False),
        sa.Column("owner", ID),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mime_type", sa.String(255), nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("cache_control", sa.String(255), nullable=False),
        sa.Column("metadata", sa.Text),
        sa.Column("created_at", TS, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "storage_buckets",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("owner", ID),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("file_size_limit", sa.BigInteger),
        sa.Column("allowed_mime_types", sa.Text),
        sa.Column("versioning", sa.Boolean, nullable=False),
        sa.Column("max_versions", sa.Integer),
        sa.Column("allow_inline_html", sa.Boolean, nullable=False),
        sa.Column("policies", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "storage_objects",
        sa.Column("id", ID, primary_key=True),
        *_object_columns(),
        sa.Column("path_tokens", sa.Text, nullable=False),
        sa.Column("version", ID, nullable=False, unique=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("last_accessed_at", TS, nullable=False),
        sa.UniqueConstraint("bucket_id", "name", name="storage_objects_bucket_name_key"),
    )
    op.create_table(
        "storage_versions",
        sa.Column("version", ID, primary_key=True),
        sa.Column("object_id", ID, nullable=False),
        *_object_columns(),
        sa.Column("archived_at", TS, nullable=False),
    )
    op.create_index("storage_versions_key_idx", "storage_versions", ["bucket_id", "name"])
    op.create_table(
        "storage_uploads",
        sa.Column("id", ID, primary_key=True),
        sa.Column("bucket_id", sa.String(100), nullable=False),
        sa.Column("name", KEY, nullable=False),
        sa.Column("owner", ID),
        sa.Column("upsert", sa.Boolean, nullable=False),
        sa.Column("length", sa.BigInteger),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("upload_metadata", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("cache_control", sa.String(255), nullable=False),
        sa.Column("metadata", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_index("storage_uploads_expires_idx", "storage_uploads", ["expires_at"])
    op.create_table(
        "storage_config",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("quota_bytes", sa.BigInteger),
        sa.Column("quota_objects", sa.BigInteger),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("storage_config", "storage_uploads", "storage_versions", "storage_objects",
                  "storage_buckets"):
        op.drop_table(table)
