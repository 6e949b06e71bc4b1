"""The module DAG: a module imports another module only through its facade."""

from __future__ import annotations

import ast
from pathlib import Path

MODULES = Path(__file__).parents[1] / "apprun" / "modules"


def imported_names(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def test_modules_use_only_each_others_facades() -> None:
    violations = []
    for package in (p for p in MODULES.iterdir() if (p / "__init__.py").exists()):
        for source in package.rglob("*.py"):
            for name in imported_names(source):
                parts = name.split(".")
                if parts[:2] != ["apprun", "modules"] or len(parts) < 3:
                    continue
                other = parts[2]
                if other not in (package.name, "web") and len(parts) > 3:
                    violations.append(f"{source.relative_to(MODULES)} imports {name}")
    assert violations == [], "import other modules through their facade:\n" + "\n".join(violations)


def test_the_check_sees_real_imports() -> None:
    platform_routes = MODULES / "platform" / "routes.py"
    assert "apprun.modules.platform.service" in imported_names(platform_routes)
