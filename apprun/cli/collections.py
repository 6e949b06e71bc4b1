"""``apprun collections``: the schema as a file in git (export, apply)."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from pydantic import ValidationError

from apprun.app import Services
from apprun.cli.common import console, err_console, run_with_services
from apprun.core.context import RequestContext
from apprun.modules.data import SchemaDocument, SchemaPlan

app = typer.Typer(help="Collections: export and apply the schema.", no_args_is_help=True)
Project = typer.Option("default", "--project", "-p", help="The project.")


@app.command("export")
def export(
    project: str = Project,
    output_format: str = typer.Option("yaml", "--format", help="yaml or json."),
) -> None:
    """Print every collection of the project as one document."""

    async def work(services: Services) -> SchemaDocument:
        return await services.data.schema.export(RequestContext.system(project))

    document = run_with_services(work).model_dump(mode="json")
    if output_format == "json":
        console.print_json(data=document)
    else:
        typer.echo(yaml.safe_dump(document, sort_keys=False), nl=False)


@app.command("apply")
def apply(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="A YAML or JSON file."),
    project: str = Project,
    yes: bool = typer.Option(False, "--yes", help="Do not ask before dropping data."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan only."),
) -> None:
    """Make the project's collections what the file says (shows the plan first)."""
    try:
        document = SchemaDocument.model_validate(yaml.safe_load(path.read_text()) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        err_console.print(f"[red]error:[/red] {path} is not a valid schema document:\n{exc}")
        raise typer.Exit(1) from None
    plan = _run(document, project, confirm=False, dry_run=True)
    _show(plan)
    if dry_run or not plan.migrations:
        return
    if plan.destructive and not yes:
        typer.confirm("This drops data. Apply?", abort=True)
    _run(document, project, confirm=True, dry_run=False)
    console.print("[green]schema applied[/green]")


def _run(document: SchemaDocument, project: str, *, confirm: bool, dry_run: bool) -> SchemaPlan:
    async def work(services: Services) -> SchemaPlan:
        return await services.data.schema.apply(
            RequestContext.system(project), document, confirm=confirm, dry_run=dry_run
        )

    return run_with_services(work)


def _show(plan: SchemaPlan) -> None:
    if not plan.migrations:
        console.print("nothing to change")
    for migration in plan.migrations:
        for step in migration.steps:
            mark = "[red]![/red]" if step.destructive else "-"
            console.print(f"{mark} {migration.collection}: {step.description}")
