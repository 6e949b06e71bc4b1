"""Fixtures of the client end-to-end tests: a live server with a ``posts`` collection.

``tests/e2e/test_supabase_py.py`` and ``tests/e2e/js/crud.mjs`` (run by
``tests/e2e/test_supabase_js.py``) both work on the collection defined here, through
``/rest/v1`` with the project's service_role key.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from apprun.testing.live import LiveServer
from apprun.testing.scenario import ADMIN_EMAIL, ADMIN_PASSWORD

JS_DIR = Path(__file__).parent / "js"

POSTS: dict[str, Any] = {
    "name": "posts",
    "fields": [
        {"name": "title", "type": "text", "required": True},
        {"name": "views", "type": "integer", "default": 0, "min": 0},
        {"name": "score", "type": "float"},
        {"name": "published", "type": "boolean", "default": False},
        {"name": "tags", "type": "json"},
        {"name": "slug", "type": "text", "unique": True},
    ],
}


def service_role_key(server: LiveServer) -> str:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        signed_in = client.post(
            "/admin/v1/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        admin = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        keys = client.get("/admin/v1/projects/default/keys", headers=admin)
        assert keys.status_code == 200, keys.text
        return next(k["key"] for k in keys.json() if k["name"] == "service_role")


@pytest.fixture
def service_key(live_server: LiveServer) -> str:
    """The service_role key of ``live_server``'s default project, which has an empty ``posts``."""
    key = service_role_key(live_server)
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        created = client.post(
            "/admin/v1/collections",
            headers={"apikey": key, "Authorization": f"Bearer {key}"},
            json=POSTS,
        )
    assert created.status_code == 201, created.text
    return key


@pytest.fixture
def node() -> str:
    """The node binary, once supabase-js is installed; a failure under CI=true, else a skip."""
    node = shutil.which("node")
    installed = (JS_DIR / "node_modules" / "@supabase" / "supabase-js" / "package.json").exists()
    if node is not None and installed:
        return node
    reason = (
        "node is not on PATH (install Node.js 20 or later)"
        if node is None
        else f"supabase-js is not installed in {JS_DIR}: run `npm ci --prefix tests/e2e/js` "
        "(`make test` does)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (under CI=true this is a failure)")
    pytest.skip(reason)


def check_js_steps(
    node: str, script: str, args: list[str], expected: dict[str, Any], subtests: Any
) -> None:
    """Run ``tests/e2e/js/<script>`` (it prints one JSON object of named step results) and
    compare every step with ``expected``, each as a subtest."""
    done = subprocess.run(
        [node, str(JS_DIR / script), *args],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    steps: dict[str, Any] = json.loads(done.stdout)
    assert list(steps) == list(expected)
    for name, wanted in expected.items():
        with subtests.test(name):
            assert steps[name] == wanted, f"step {name!r}"
