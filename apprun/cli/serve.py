"""``apprun serve``: migrate, bootstrap, then run uvicorn with N worker processes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import typer
import uvicorn

from apprun.app import Services
from apprun.cli.common import (
    ConfigFile,
    DatabaseUrl,
    DataDir,
    Dev,
    apply_flags,
    console,
    load_settings,
    run_with_services,
)
from apprun.config import Settings
from apprun.http.logging import configure_logging
from apprun.http.metrics import MULTIPROC_ENV
from apprun.modules.platform import DEFAULT_PROJECT, ApiKey


def serve(
    host: str | None = typer.Option(None, "--host", help="Interface (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default 8000)."),
    data_dir: Path | None = DataDir,
    database_url: str | None = DatabaseUrl,
    dev: bool = Dev,
    workers: int | None = typer.Option(
        None, "--workers", min=1, help="Worker processes (default: 1 with --dev, else per core)."
    ),
    config: Path | None = ConfigFile,
) -> None:
    """Serve the API (and console) on HOST:PORT."""
    apply_flags(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        dev=dev,
        workers=workers,
        config=config,
    )
    settings = load_settings()
    configure_logging(settings.log, settings.dev)

    async def prepare(services: Services) -> list[ApiKey]:
        return await services.platform.projects.list_keys(DEFAULT_PROJECT)

    keys = run_with_services(prepare)  # migrations and bootstrap run once, here
    count = settings.server.effective_workers(settings.dev)
    os.environ["APPRUN_SERVER__WORKERS"] = str(count)
    os.environ["APPRUN_DB__MIGRATE_ON_START"] = "false"
    if count > 1:
        _prepare_multiprocess_metrics(settings.data_dir / ".metrics")
    if settings.dev:
        _print_banner(settings, keys)
    uvicorn.run(
        "apprun.app:create_app_from_env",
        factory=True,
        host=settings.server.host,
        port=settings.server.port,
        workers=count if count > 1 else None,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,  # uvicorn's records go through apprun's handler
        log_level=settings.log.level,
        timeout_graceful_shutdown=10,
    )


def _prepare_multiprocess_metrics(directory: Path) -> None:
    # Files of a previous run would be counted again: start empty.
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)


def _print_banner(settings: Settings, keys: list[ApiKey]) -> None:
    base = f"http://{settings.server.host}:{settings.server.port}"
    console.print("\n[bold green]apprun is starting[/bold green] (development mode)\n")
    console.print(f"         API URL: {base}", soft_wrap=True)
    console.print(f"     Console URL: {base}/_/ (not in this build yet)", soft_wrap=True)
    console.print(f"        Data dir: {settings.data_dir.resolve()}", soft_wrap=True)
    for key in keys:
        label = f"{key.name} key"
        console.print(f"{label:>16}: {key.key}", soft_wrap=True)
    if not settings.admin_email:
        console.print(
            "\nNo administrator yet? Create one with: "
            "[bold].venv/bin/apprun admin create you@example.com[/bold]",
            soft_wrap=True,
        )
    console.print()
