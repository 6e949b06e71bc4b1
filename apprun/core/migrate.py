"""Apply apprun's Alembic migrations to the control database and to project databases."""

from __future__ import annotations

from importlib import resources
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from apprun.core.db import Database

Tree = Literal["control", "project"]


def _config(tree: Tree) -> Config:
    cfg = Config()
    location = resources.files("apprun.migrations").joinpath(tree)
    cfg.set_main_option("script_location", str(location))
    return cfg


async def upgrade(db: Database, tree: Tree) -> None:
    """Bring ``db`` to the newest revision of every branch of ``tree``, in one transaction."""
    cfg = _config(tree)

    def run(conn: Connection) -> None:
        cfg.attributes["connection"] = conn
        cfg.attributes["schema"] = db.schema
        command.upgrade(cfg, "heads")

    async with db.tx() as conn:
        await conn.run_sync(run)


async def pending(db: Database, tree: Tree) -> list[str]:
    """Revisions of ``tree`` not yet applied to ``db`` (empty when up to date)."""
    script = ScriptDirectory.from_config(_config(tree))
    heads = set(script.get_heads())

    def current(conn: Connection) -> set[str]:
        opts = {"version_table_schema": db.schema} if db.schema else {}
        return set(MigrationContext.configure(conn, opts=opts).get_current_heads())

    async with db.read() as conn:
        applied = await conn.run_sync(current)
    if applied >= heads:
        return []
    return [
        rev.revision
        for rev in script.iterate_revisions(list(heads), list(applied) or "base")
    ]
