"""Commands: serve, migrate, admin, projects, audit."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from apprun.cli import admin, audit, collections, projects
from apprun.cli.common import (
    ConfigFile,
    DatabaseUrl,
    DataDir,
    Dev,
    apply_flags,
    console,
    run_with_services,
)
from apprun.cli.serve import serve

app = typer.Typer(
    name="apprun",
    help="apprun: an open-source Backend-as-a-Service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(admin.app, name="admin")
app.add_typer(projects.app, name="projects")
app.add_typer(audit.app, name="audit")
app.add_typer(collections.app, name="collections")
app.command()(serve)


@app.callback()
def root(
    data_dir: Path | None = DataDir,
    database_url: str | None = DatabaseUrl,
    dev: bool = Dev,
    config: Path | None = ConfigFile,
) -> None:
    """Flags given here apply to every command."""
    apply_flags(data_dir=data_dir, database_url=database_url, dev=dev, config=config)


@app.command()
def migrate() -> None:
    """Apply apprun's migrations to the control database and every project's database."""

    async def work(services: object) -> None:
        return None

    run_with_services(work)
    console.print("[green]migrations applied[/green]")


@app.command()
def version() -> None:
    """Print the version."""
    from apprun import __version__

    console.print(__version__)
    sys.stdout.flush()
