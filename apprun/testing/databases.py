"""Test databases: a migrated template per engine, copied for every test.

SQLite: the template data dir is copied file by file. PostgreSQL: ``CREATE DATABASE … TEMPLATE``
copies a migrated database in a few tens of milliseconds, and ``DROP … WITH (FORCE)`` removes
it. Both are much faster than migrating per test.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import asyncpg

from apprun.app import build_services
from apprun.config import Settings
from apprun.testing.scenario import ADMIN_EMAIL, ADMIN_PASSWORD

TEST_SECRET = "apprun-test-secret-0123456789abcdef0123456789"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def pg_base_url() -> str:
    return os.environ.get("APPRUN_TEST_PG_URL", DEFAULT_PG_URL)


def pg_url_for(database: str) -> str:
    parts = urlsplit(pg_base_url())
    return urlunsplit(parts._replace(path="/" + database))


@dataclass
class TestDatabase:
    """The database a test runs on: ``kind`` is ``sqlite`` or ``postgres``."""

    __test__ = False  # not a test class, whatever its name says

    kind: str
    data_dir: Path
    database_url: str | None = None
    clusters: dict[str, str] = field(default_factory=dict)

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": self.data_dir,
            "database_url": self.database_url,
            "clusters": self.clusters,
            "secret_key": TEST_SECRET,
            "server": {"workers": 1},
            "http": {"access_log": False},
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(values.get(key), dict):
                values[key] = {**values[key], **value}
            else:
                values[key] = value
        return Settings(**values)


async def _pg_execute(*statements: str) -> None:
    conn = await asyncpg.connect(pg_base_url(), timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def pg_execute(*statements: str) -> None:
    """Run admin statements; usable from sync code and from inside a running event loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, _pg_execute, *statements).result()


def pg_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        pg_execute("SELECT 1")
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def build_template(db: TestDatabase) -> None:
    """Migrate and bootstrap (default project, one admin) a template."""
    db.data_dir.mkdir(parents=True, exist_ok=True)

    async def work() -> None:
        services = build_services(
            db.settings(admin_email=ADMIN_EMAIL, admin_password=ADMIN_PASSWORD)
        )
        try:
            await services.platform.migrate()
            await services.platform.bootstrap(ADMIN_EMAIL, ADMIN_PASSWORD)
        finally:
            await services.limiter.close()
            await services.tenancy.dispose()

    anyio.run(work)


def copy_data_dir(template: Path, target: Path) -> None:
    shutil.copytree(template, target)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
