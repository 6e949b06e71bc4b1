"""data: roles, their permissions, and users' roles (RBAC)

Revision ID: project_data_0002
Revises: project_data_0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "project_data_0002"
down_revision: str | None = "project_data_0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

BUILTIN = {
    "anon": "Requests with the anon key and no signed-in user.",
    "authenticated": "Signed-in end users.",
    "service_role": "The service_role key: bypasses grants and policies.",
}


def upgrade() -> None:
    roles = op.create_table(
        "roles",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("builtin", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "role_permissions",
        sa.Column("role", sa.String(63), sa.ForeignKey("roles.name", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("permission", sa.String(200), primary_key=True),
    )
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.String(36), primary_key=True),
        sa.Column("role", sa.String(63), sa.ForeignKey("roles.name", ondelete="CASCADE"),
                  primary_key=True),
    )
    op.create_index("user_roles_role_idx", "user_roles", ["role"])
    now = datetime.now(UTC)
    op.bulk_insert(roles, [
        {"name": name, "description": text, "builtin": True, "created_at": now}
        for name, text in BUILTIN.items()
    ])


def downgrade() -> None:
    op.drop_table("user_roles")
    op.drop_table("role_permissions")
    op.drop_table("roles")
