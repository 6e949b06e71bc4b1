"""``apprun audit``: read and verify the tamper-evident audit log."""

from __future__ import annotations

import typer
from rich.table import Table

from apprun.app import Services
from apprun.cli.common import console, err_console, run_with_services
from apprun.modules.platform import AuditPage, AuditQuery, AuditVerification

app = typer.Typer(help="The audit log.", no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """Recompute the hash chain; exit 1 when an entry was modified or deleted."""

    async def work(services: Services) -> AuditVerification:
        return await services.platform.audit.verify()

    result = run_with_services(work)
    if result.ok:
        console.print(f"[green]audit log intact[/green]: {result.checked} entries checked")
        return
    for problem in result.problems:
        err_console.print(f"[red]tampered:[/red] {problem}")
    raise typer.Exit(1)


@app.command("list")
def list_entries(
    action: str | None = typer.Option(None, help="Only this action."),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """Show the newest entries."""

    async def work(services: Services) -> AuditPage:
        return await services.platform.audit.query(AuditQuery(action=action, limit=limit))

    table = Table("seq", "time", "actor", "action", "target")
    for entry in run_with_services(work).entries:
        table.add_row(
            str(entry.seq), entry.time.isoformat(), entry.actor, entry.action, entry.target or ""
        )
    console.print(table)
