"""``apprun admin``: platform administrators."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

from apprun.app import Services
from apprun.cli.common import console, err_console, run_with_services
from apprun.core.context import RequestContext
from apprun.modules.platform import AdminCreate

app = typer.Typer(help="Platform administrators.", no_args_is_help=True)


@app.command("create")
def create(
    email: str = typer.Argument(..., help="The administrator's email."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
) -> None:
    """Create a platform administrator (asks for the password, or reads it from stdin)."""
    if password_stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        data = AdminCreate(email=email, password=password)
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            err_console.print(f"[red]error:[/red] {field}: {error['msg']}")
        raise typer.Exit(1) from None

    async def work(services: Services) -> str:
        admin = await services.platform.admins.create_admin(RequestContext.system(), data)
        return admin.email

    console.print(f"[green]created administrator[/green] {run_with_services(work)}")
