"""data: the collection catalogue and the schema migration history

Revision ID: project_data_0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "project_data_0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = ("project_data",)
depends_on: Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "_collections",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "_migrations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("collection", sa.String(63), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("ddl", sa.Text, nullable=False),
        sa.Column("spec_before", sa.Text),
        sa.Column("spec_after", sa.Text),
        sa.Column("actor", sa.String(400), nullable=False),
        sa.Column("applied_at", TS, nullable=False),
    )
    op.create_index("_migrations_collection_idx", "_migrations", ["collection", "id"])


def downgrade() -> None:
    op.drop_table("_migrations")
    op.drop_table("_collections")
