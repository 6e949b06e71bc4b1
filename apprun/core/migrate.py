"""Apply apprun's Alembic migrations to the control database and to project databases."""

from __future__ import annotations

from importlib import resources
from typing import Literal

from alembic import command
from alembic.config import Config
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
