"""Error codes are unique, namespaced and documented in docs/errors.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import apprun.app  # noqa: F401  (registers every module's errors)
from apprun.cli.docgen import render_config, render_errors
from apprun.core.errors import AppError, NotFound

DOCS = Path(__file__).parents[2] / "docs"


def test_codes_are_namespaced_and_documented() -> None:
    documented = (DOCS / "errors.md").read_text()
    assert documented == render_errors(), "docs/errors.md is stale: run `make docs`"
    for code, cls in AppError.registry.items():
        assert re.fullmatch(r"[a-z]+\.[a-z_]+", code), code
        assert f"`{code}`" in documented
        assert 300 <= cls.status <= 599  # 300: PostgREST's ambiguous embedding


def test_a_reused_code_is_refused() -> None:
    with pytest.raises(TypeError, match="is used by"):

        class Duplicate(NotFound):
            code = "request.not_found"


def test_config_reference_is_current() -> None:
    text = (DOCS / "config.md").read_text()
    assert text == render_config(), "docs/config.md is stale: run `make docs`"
    assert "`APPRUN_SECRET_KEY`" in text
    assert "| Master secret" in text
