"""The pytest plugin: ``database`` (SQLite and PostgreSQL), ``settings``, ``app``, ``client``,
``services``, ``env``, ``as_admin``, ``as_service``, ``as_anon``, ``live_server``, ``pg_database``,
``oidc_provider`` (a real OpenID Provider, ``apprun.testing.oidc``), ``seaweed`` (a real S3
server, ``apprun.testing.seaweed``).

Every test that uses ``database`` (directly or through ``app``/``client``) runs twice: on
SQLite and on PostgreSQL (``APPRUN_TEST_PG_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``). When PostgreSQL does not answer, its half is
skipped with the reason, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from apprun.app import Services, create_app
from apprun.config import Settings
from apprun.core.clock import ManualClock
from apprun.core.ids import new_id
from apprun.testing.databases import (
    TestDatabase,
    build_template,
    copy_data_dir,
    pg_available,
    pg_execute,
    pg_url_for,
    quote_ident,
)
from apprun.testing.live import LiveServer, start_live_server
from apprun.testing.oidc import _oidc_process, oidc_provider  # noqa: F401 (fixtures)
from apprun.testing.scenario import ScenarioEnv
from apprun.testing.seaweed import seaweed  # noqa: F401 - a fixture of this plugin
from apprun.testing.smtp import smtp_server, smtp_tls_server  # noqa: F401 - fixtures of this plugin

Headers = dict[str, str]


@pytest.fixture(scope="session", autouse=True)
def _hermetic_environment() -> Iterator[None]:
    """Tests never read the developer's APPRUN_* variables or ./apprun.toml."""
    saved = {
        k: v
        for k, v in os.environ.items()
        if k.startswith("APPRUN_") and not k.startswith("APPRUN_TEST_")
    }
    for key in saved:
        del os.environ[key]
    os.environ["APPRUN_CONFIG_FILE"] = "/nonexistent/apprun.toml"
    yield
    os.environ.pop("APPRUN_CONFIG_FILE", None)
    os.environ.update(saved)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def _require_postgres() -> None:
    reason = pg_available()
    if reason is None:
        return
    message = f"PostgreSQL does not answer at APPRUN_TEST_PG_URL: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (under CI=true a missing PostgreSQL is a failure)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("sqlite-template") / "data"
    build_template(TestDatabase("sqlite", data_dir))
    return data_dir


@pytest.fixture(scope="session")
def _postgres_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    _require_postgres()
    name = f"apprun_tpl_{os.getpid()}"
    pg_execute(
        f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)",
        f"CREATE DATABASE {quote_ident(name)}",
    )
    data_dir = tmp_path_factory.mktemp("postgres-template") / "data"
    build_template(TestDatabase("postgres", data_dir, pg_url_for(name)))
    yield name, data_dir
    pg_execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")


@pytest.fixture
def pg_database() -> Iterator[Callable[[], str]]:
    """A factory of empty PostgreSQL databases (dropped after the test); returns their URLs."""
    _require_postgres()
    created: list[str] = []

    def make() -> str:
        name = f"apprun_x_{new_id().replace('-', '')[-16:]}"
        pg_execute(f"CREATE DATABASE {quote_ident(name)}")
        created.append(name)
        return pg_url_for(name)

    yield make
    for name in created:
        pg_execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabase]:
    """A fresh, migrated database with the ``default`` project and one admin."""
    data_dir = tmp_path / "data"
    if request.param == "sqlite":
        copy_data_dir(request.getfixturevalue("_sqlite_template"), data_dir)
        yield TestDatabase("sqlite", data_dir)
        return
    template, template_dir = request.getfixturevalue("_postgres_template")
    name = f"apprun_t_{new_id().replace('-', '')[-16:]}"
    pg_execute(f"CREATE DATABASE {quote_ident(name)} TEMPLATE {quote_ident(template)}")
    copy_data_dir(template_dir, data_dir)
    try:
        yield TestDatabase("postgres", data_dir, pg_url_for(name))
    finally:
        pg_execute(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")


@pytest.fixture
def settings(database: TestDatabase) -> Settings:
    return database.settings()


@pytest.fixture
def clock() -> ManualClock:
    """The app's clock: starts at the real time, moves only with ``advance``."""
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def app(settings: Settings, clock: ManualClock) -> FastAPI:
    return create_app(settings, clock=clock)


@pytest.fixture
def services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the app in-process, with its lifespan run."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://apprun.test") as c:
            yield c


@pytest.fixture
def env(client: httpx.AsyncClient, services: Services) -> ScenarioEnv:
    return ScenarioEnv(client, services)


@pytest.fixture
async def as_admin(env: ScenarioEnv) -> Headers:
    """Headers of a signed-in platform administrator."""
    return await env.admin_headers()


@pytest.fixture
def as_service(env: ScenarioEnv) -> Callable[[str], Awaitable[Headers]]:
    """``await as_service("default")`` → headers carrying that project's service_role key."""

    async def headers(project: str = "default") -> Headers:
        return await env.key_headers(project, "service_role")

    return headers


@pytest.fixture
def as_anon(env: ScenarioEnv) -> Callable[[str], Awaitable[Headers]]:
    """``await as_anon("default")`` → headers carrying that project's anon key."""

    async def headers(project: str = "default") -> Headers:
        return await env.key_headers(project, "anon")

    return headers


@pytest.fixture
def live_server(database: TestDatabase) -> Iterator[LiveServer]:
    """``apprun serve --workers 2`` on 127.0.0.1 and a free port, on the test's database."""
    server = start_live_server(database, workers=2)
    try:
        yield server
    finally:
        server.stop()
