"""The data module's own tables in each project database: the collection catalogue and the
history of schema migrations. Collections themselves are tables built from their definition
(see ``ddl.py``)."""

from __future__ import annotations

import sqlalchemy as sa

from apprun.core.types import UtcDateTime

catalog = sa.MetaData()

collections = sa.Table(
    "_collections",
    catalog,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

migrations = sa.Table(
    "_migrations",
    catalog,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("collection", sa.String(63), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("ddl", sa.Text, nullable=False),
    sa.Column("spec_before", sa.Text),
    sa.Column("spec_after", sa.Text),
    sa.Column("actor", sa.String(400), nullable=False),
    sa.Column("applied_at", UtcDateTime, nullable=False),
)

roles = sa.Table(
    "roles",
    catalog,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("builtin", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

role_permissions = sa.Table(
    "role_permissions",
    catalog,
    sa.Column(
        "role", sa.String(63), sa.ForeignKey("roles.name", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("permission", sa.String(200), primary_key=True),
)

user_roles = sa.Table(
    "user_roles",
    catalog,
    sa.Column("user_id", sa.String(36), primary_key=True),
    sa.Column(
        "role", sa.String(63), sa.ForeignKey("roles.name", ondelete="CASCADE"), primary_key=True
    ),
)
