"""Error codes are unique, namespaced and documented in docs/errors.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import apprun.app  # noqa: F401  (registers every module's errors)
from apprun.cli.errordocs import render
from apprun.core.errors import AppError, NotFound

DOCS = Path(__file__).parents[2] / "docs" / "errors.md"


def test_codes_are_namespaced_and_documented() -> None:
    documented = DOCS.read_text()
    assert documented == render(), "docs/errors.md is stale: run `make docs`"
    for code, cls in AppError.registry.items():
        assert re.fullmatch(r"[a-z]+\.[a-z_]+", code), code
        assert f"`{code}`" in documented
        assert 400 <= cls.status <= 599


def test_a_reused_code_is_refused() -> None:
    with pytest.raises(TypeError, match="is used by"):

        class Duplicate(NotFound):
            code = "request.not_found"
