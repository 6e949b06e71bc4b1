"""What every command shares: settings from flags, services, errors printed for humans."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import anyio
import typer
from pydantic import ValidationError
from rich.console import Console

from apprun.app import Services, build_services
from apprun.config import ConfigError, Settings
from apprun.core.errors import AppError

console = Console()
err_console = Console(stderr=True)
T = TypeVar("T")

# CLI flags become the environment variables Settings reads, so that uvicorn's worker
# processes (which build their own Settings) see exactly what the parent saw.
FLAG_ENV = {
    "data_dir": "APPRUN_DATA_DIR",
    "database_url": "APPRUN_DATABASE_URL",
    "dev": "APPRUN_DEV",
    "host": "APPRUN_SERVER__HOST",
    "port": "APPRUN_SERVER__PORT",
    "workers": "APPRUN_SERVER__WORKERS",
    "config": "APPRUN_CONFIG_FILE",
}


def apply_flags(**flags: object) -> None:
    for name, value in flags.items():
        if value is None or value is False:
            continue
        os.environ[FLAG_ENV[name]] = "true" if value is True else str(value)


def load_settings() -> Settings:
    try:
        settings = Settings().with_dev_secret()
        settings.check_secrets()
    except ConfigError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except ValidationError as exc:
        err_console.print(f"[red]error: invalid settings[/red]\n{exc}")
        raise typer.Exit(2) from None
    return settings


@contextmanager
def friendly_errors() -> Iterator[None]:
    try:
        yield
    except AppError as exc:
        detail = f" {exc.details}" if exc.details else ""
        err_console.print(f"[red]error:[/red] {exc.detail_message} ({exc.code}){detail}")
        raise typer.Exit(1) from None


def run_with_services(work: Callable[[Services], Awaitable[T]], *, migrate: bool = True) -> T:
    """Build the services, migrate, run ``work``, and close everything."""
    settings = load_settings()

    async def runner() -> T:
        services = build_services(settings)
        try:
            if migrate:
                await services.platform.migrate()
                password = settings.admin_password
                await services.platform.bootstrap(
                    settings.admin_email, password.get_secret_value() if password else None
                )
            return await work(services)
        finally:
            await services.limiter.close()
            await services.tenancy.dispose()

    with friendly_errors():
        return anyio.run(runner)


DataDir = typer.Option(None, "--data-dir", help="Data directory (APPRUN_DATA_DIR).")
DatabaseUrl = typer.Option(None, "--database-url", help="postgresql://… (APPRUN_DATABASE_URL).")
ConfigFile = typer.Option(None, "--config", help="TOML settings file (default ./apprun.toml).")
Dev = typer.Option(False, "--dev", help="Development mode: generated secrets, keys printed.")
