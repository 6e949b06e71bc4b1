"""``apprun projects``: list, create, delete, keys."""

from __future__ import annotations

import typer
from rich.table import Table

from apprun.app import Services
from apprun.cli.common import console, run_with_services
from apprun.core.context import RequestContext
from apprun.modules.platform import ApiKey, Project, ProjectCreate

app = typer.Typer(help="Projects (tenants) and their API keys.", no_args_is_help=True)


@app.command("list")
def list_projects() -> None:
    """List projects."""

    async def work(services: Services) -> list[Project]:
        return await services.platform.projects.list_projects()

    table = Table("id", "name", "cluster", "created")
    for project in run_with_services(work):
        table.add_row(project.id, project.name, project.cluster, project.created_at.isoformat())
    console.print(table)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Display name."),
    project_id: str | None = typer.Option(None, "--id", help="Slug id (default: from name)."),
    cluster: str | None = typer.Option(None, "--cluster", help="Named PostgreSQL cluster."),
) -> None:
    """Create a project with its database and keys."""
    data = ProjectCreate(id=project_id, name=name, cluster=cluster)

    async def work(services: Services) -> Project:
        return await services.platform.projects.create_project(RequestContext.system(), data)

    project = run_with_services(work)
    console.print(f"[green]created project[/green] {project.id} on cluster {project.cluster}")


@app.command("delete")
def delete(
    project_id: str = typer.Argument(...),
    yes: bool = typer.Option(False, "--yes", help="Confirm: the project's data is deleted."),
) -> None:
    """Delete a project and all its data (needs --yes)."""

    async def work(services: Services) -> None:
        await services.platform.projects.delete_project(RequestContext.system(), project_id, yes)

    run_with_services(work)
    console.print(f"[green]deleted project[/green] {project_id}")


@app.command("keys")
def keys(
    project_id: str = typer.Argument("default"),
    rotate: bool = typer.Option(False, "--rotate", help="Issue new keys; old ones stop working."),
) -> None:
    """Show (or rotate) a project's anon and service_role keys."""

    async def work(services: Services) -> list[ApiKey]:
        projects = services.platform.projects
        if rotate:
            return await projects.rotate_keys(
                RequestContext.system(), project_id, ["anon", "service_role"]
            )
        return await projects.list_keys(project_id)

    for key in run_with_services(work):
        console.print(f"[bold]{key.name}[/bold]\n{key.key}", soft_wrap=True)
