"""The ``apprun`` command line (Typer + Rich)."""

from __future__ import annotations

from apprun.cli.main import app


def main() -> None:
    app()


__all__ = ["app", "main"]
