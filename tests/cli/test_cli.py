"""The apprun command line, run in-process against the test database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import asyncpg
import pytest
from typer.testing import CliRunner

from apprun.cli import app
from apprun.testing.databases import TEST_SECRET, TestDatabase

runner = CliRunner()


def cli_env(db: TestDatabase) -> dict[str, str]:
    env = {"APPRUN_DATA_DIR": str(db.data_dir), "APPRUN_SECRET_KEY": TEST_SECRET}
    if db.database_url:
        env["APPRUN_DATABASE_URL"] = db.database_url
    return env


def run(db: TestDatabase, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=cli_env(db), input=stdin)
    return result.exit_code, result.output


def test_projects_lifecycle(database: TestDatabase) -> None:
    code, out = run(database, "projects", "create", "Web Shop", "--id", "web-shop")
    assert code == 0, out
    assert "created project web-shop" in out
    code, out = run(database, "projects", "list")
    assert "web-shop" in out and "default" in out
    code, out = run(database, "projects", "keys", "web-shop")
    assert code == 0
    assert len([line for line in out.splitlines() if line.startswith("eyJ")]) == 2
    old = out
    code, out = run(database, "projects", "keys", "web-shop", "--rotate")
    assert code == 0 and out != old
    code, out = run(database, "projects", "delete", "web-shop")
    assert code == 1
    assert "confirm" in out
    code, out = run(database, "projects", "delete", "web-shop", "--yes")
    assert code == 0, out
    code, out = run(database, "projects", "list")
    assert "web-shop" not in out


def test_errors_are_readable(database: TestDatabase) -> None:
    code, out = run(database, "projects", "create", "Again", "--id", "default")
    assert code == 1
    assert "platform.project_exists" in out
    code, out = run(database, "projects", "keys", "nope")
    assert code == 1
    assert "platform.project_not_found" in out


def test_admin_create_reads_the_password_from_stdin(database: TestDatabase) -> None:
    code, out = run(
        database,
        "admin",
        "create",
        "ops@example.com",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert code == 0, out
    code, out = run(
        database,
        "admin",
        "create",
        "ops@example.com",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert code == 1 and "platform.admin_exists" in out
    code, out = run(
        database, "admin", "create", "x@example.com", "--password-stdin", stdin="short\n"
    )
    assert code == 1 and "password" in out


def test_audit_verify_detects_tampering(database: TestDatabase) -> None:
    run(database, "projects", "create", "Audit Me")
    code, out = run(database, "audit", "verify")
    assert code == 0 and "intact" in out
    if database.database_url is None:
        with sqlite3.connect(database.data_dir / "control.db") as conn:
            conn.execute("UPDATE audit_log SET action = 'nothing' WHERE seq = 1")
    else:
        url = database.database_url

        async def tamper() -> None:
            conn = await asyncpg.connect(url)
            await conn.execute("DELETE FROM apprun.audit_log WHERE seq = 1")
            await conn.close()

        anyio.run(tamper)
    code, out = run(database, "audit", "verify")
    assert code == 1
    assert "tampered" in out


def test_migrate_is_idempotent(database: TestDatabase) -> None:
    for _ in range(2):
        code, out = run(database, "migrate")
        assert code == 0, out


def test_serve_refuses_a_missing_secret(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["serve"], env={"APPRUN_SECRET_KEY": "", "APPRUN_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2
    assert "APPRUN_SECRET_KEY" in result.output


@pytest.mark.parametrize("argv", [["-m", "apprun", "--help"], ["-m", "apprun", "version"]])
def test_python_dash_m(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
