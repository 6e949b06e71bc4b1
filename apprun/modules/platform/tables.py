"""The platform's tables: control database (projects, keys, admins, audit) and per project."""

from __future__ import annotations

import sqlalchemy as sa

from apprun.core.types import UtcDateTime

control = sa.MetaData()
project = sa.MetaData()

projects = sa.Table(
    "projects",
    control,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("uid", sa.String(36), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("cluster", sa.String(63), nullable=False),
    sa.Column("signing_secret", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    control,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("project_id", sa.String(40), sa.ForeignKey("projects.id", ondelete="CASCADE")),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("issued_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Column("revoked_at", UtcDateTime, nullable=True),
)

platform_admins = sa.Table(
    "platform_admins",
    control,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_login_at", UtcDateTime, nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    control,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("time", UtcDateTime, nullable=False),
    sa.Column("actor", sa.String(400), nullable=False),
    sa.Column("action", sa.String(100), nullable=False),
    sa.Column("target", sa.String(400)),
    sa.Column("project_id", sa.String(40)),
    sa.Column("request_id", sa.String(100)),
    sa.Column("ip", sa.String(64)),
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

audit_head = sa.Table(
    "audit_head",
    control,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

project_settings = sa.Table(
    "project_settings",
    project,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
