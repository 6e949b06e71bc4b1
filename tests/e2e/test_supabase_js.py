"""supabase-js, the real npm client under Node, doing CRUD through /rest/v1 of a live server.

``js/crud.mjs`` runs the scenario and prints what the client gave back at each step, with the
exchanges behind it; the assertions are here. Each step is a subtest, and a failed one shows
its requests and responses under "Captured stdout". ``make test`` installs the client with
``npm ci --prefix tests/e2e/js``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from apprun.testing.live import LiveServer

pytestmark = pytest.mark.live

JS_DIR = Path(__file__).parent / "js"
SCRIPT = JS_DIR / "crud.mjs"
Row = dict[str, Any]

P1: Row = {
    "id": "p1",
    "title": "Alpha",
    "views": 10,
    "score": 1.5,
    "published": True,
    "tags": ["news", "tech"],
    "slug": "alpha",
}
P2: Row = {
    "id": "p2",
    "title": "beta",
    "views": 600,
    "score": None,
    "published": False,
    "tags": ["tech"],
    "slug": "beta",
}
P3: Row = {
    "id": "p3",
    "title": "Gamma (2)",
    "views": 0,
    "score": 3.0,
    "published": True,
    "tags": [],
    "slug": "gamma",
}
TIMESTAMPS = ("created_at", "updated_at")


def ok(data: Any, status: int = 200, count: int | None = None) -> dict[str, Any]:
    return {"status": status, "data": data, "count": count, "error": None}


def ids(*names: str) -> dict[str, Any]:
    return ok([{"id": name} for name in names])


def failed(status: int, code: str, **fields: Any) -> dict[str, Any]:
    """An error step: its status, ``error.code`` and any other ``error`` fields given."""
    return {"status": status, "data": None, "error": {"code": code, **fields}}


FILTERS: dict[str, dict[str, Any]] = {
    "eq": ids("p1"),
    "neq": ids("p2", "p3"),
    "gt": ids("p2"),
    "gte": ids("p1", "p2"),
    "lt": ids("p3"),
    "lte": ids("p1", "p3"),
    "like with %": ids("p1", "p2"),
    "like with *": ids("p1"),
    "like is case-sensitive": ids(),
    "ilike": ids("p1"),
    "ilike with *": ids("p3"),
    "in": ids("p1", "p3"),
    "in with quoted values": ids("p1", "p3"),
    "is null": ids("p2"),
    "is true": ids("p1", "p3"),
    "not is null": ids("p1", "p3"),
    "eq on a boolean": ids("p2"),
    "contains one": ids("p1", "p2"),
    "contains two": ids("p1"),
    "or": ids("p1", "p3"),
    "match": ids("p3"),
}

# What supabase-js should give back at each step of crud.mjs, in order. A step compares only
# the keys listed here; rows are compared without created_at/updated_at.
EXPECTED: dict[str, dict[str, Any]] = {
    "insert one, then .select()": ok([P1], 201),
    "bulk insert, then .select(cols)": ok(
        [
            {"id": "p2", "title": "beta", "views": 600},
            {"id": "p3", "title": "Gamma (2)", "views": 0},
        ],
        201,
    ),
    "select *": ok([P1, P2, P3]),
    "select with an alias": ok([{"id": "p1", "heading": "Alpha"}]),
    **{f"filter {name}": expected for name, expected in FILTERS.items()},
    "order desc": ids("p2", "p1", "p3"),
    "order asc, nulls last": ids("p1", "p3", "p2"),
    "order desc, nulls first": ids("p2", "p3", "p1"),
    "order desc nullsFirst false": ids("p3", "p1", "p2"),
    "order on two columns": ids("p3", "p1", "p2"),
    "limit": ids("p3", "p1"),
    "range": ids("p1", "p2"),
    # 206: a page of a larger, counted result.
    "count 'exact' with a filter and a limit": ok([{"id": "p1"}], 206, count=2),
    "count 'exact', head: true": ok(None, 200, count=3),
    ".single() on one row": ok({"id": "p1", "title": "Alpha"}),
    ".single() on several rows": failed(
        406,
        "PGRST116",
        message="Cannot coerce the result to a single JSON object",
        details="The result contains 3 rows",
    ),
    ".maybeSingle() on one row": ok({"id": "p2", "title": "beta"}),
    ".maybeSingle() on no row": ok(None),
    # Made by the client from the JSON array the server sends.
    ".maybeSingle() on several rows": failed(406, "PGRST116"),
    # A merge that inserts no new row answers 200, not 201 (rest.md §8).
    "upsert merges on the primary key": ok([{**P1, "title": "Alpha 2"}]),
    "upsert with onConflict merges on a unique column": ok([{**P2, "title": "Beta 2"}]),
    "upsert with ignoreDuplicates skips the existing row": {"data": [], "error": None},
    "the skipped row is unchanged": ok([{"title": "Gamma (2)"}]),
    # supabase-js writes default to return=minimal: no body, no data.
    "insert without .select()": ok(None, 201),
    "bulk upsert merges one row and inserts another": ok(
        [
            {"id": "p4", "title": "Delta 2", "views": 4, "published": False, "slug": "delta"},
            {"id": "p5", "title": "Epsilon", "views": 5, "published": False, "slug": None},
        ],
        201,
    ),
    "update().eq(), then .select()": ok(
        [{**P1, "title": "Alpha 2", "views": 42}, {**P3, "views": 42}]
    ),
    "update().eq() without .select()": ok(None, 204),
    "update().eq(), then .select(cols)": ok([{"id": "p1", "published": True}]),
    "update that matches nothing": ok([]),
    ".single() update of two rows": failed(406, "PGRST116", details="The result contains 2 rows"),
    "the .single() update was rolled back": ok([{"views": 42}, {"views": 42}]),
    "delete().eq(), then .select(cols)": ok([{"id": "p2", "title": "Beta 2"}]),
    "delete().in() without .select()": ok(None, 204),
    "what is left": ok(
        [{**P1, "title": "Alpha 2", "views": 42, "score": 2.5}, {**P3, "views": 42}]
    ),
    "a duplicate unique value": failed(409, "23505"),
    "a duplicate id, with .select()": failed(409, "23505"),
    "a bulk insert with a duplicate": failed(409, "23505"),
    "the failed bulk insert left nothing": ids(),
    "a missing required value": failed(400, "23502"),
    "an unknown table": failed(404, "PGRST205"),
}


# Writes of several rows, whose order in the response nothing fixes: compared sorted by id.
UNORDERED = {"bulk upsert merges one row and inserts another", "update().eq(), then .select()"}


def plain(data: Any) -> Any:
    """Rows without created_at/updated_at, whose values the server chooses."""
    if isinstance(data, list):
        return [plain(row) for row in data]
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k not in TIMESTAMPS}
    return data


def compared(name: str, result: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The part of a step's result that ``expected`` speaks of."""
    if "thrown" in result:
        return result  # supabase-js threw: show it whole
    got = {key: result.get(key) for key in expected}
    if "data" in got:
        got["data"] = plain(got["data"])
        if name in UNORDERED and isinstance(got["data"], list):
            got["data"].sort(key=lambda row: str(row.get("id")))
    if isinstance(expected.get("error"), dict) and isinstance(got["error"], dict):
        got["error"] = {key: got["error"].get(key) for key in expected["error"]}
    return got


def print_exchanges(exchanges: list[dict[str, Any]]) -> None:
    for exchange in exchanges:
        print(f">>> {exchange['method']} {exchange['path']}")
        if exchange["decoded"] != exchange["path"]:
            print(f"    (decoded: {exchange['decoded']})")
        for name, value in exchange["request_headers"].items():
            print(f"    {name}: {value}")
        if exchange["request_body"]:
            print(f"    {exchange['request_body']}")
        print(f"<<< {exchange.get('status')}")
        for name, value in exchange.get("response_headers", {}).items():
            print(f"    {name}: {value}")
        if exchange.get("response_body"):
            print(f"    {exchange['response_body']}")


def run_script(node: str, server: LiveServer, key: str) -> dict[str, Any]:
    done = subprocess.run(
        [node, str(SCRIPT), server.url, key],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"crud.mjs exited with {done.returncode}:\n{done.stderr}")
    output: dict[str, Any] = json.loads(done.stdout)
    return output


def test_crud_through_supabase_js(
    node: str, live_server: LiveServer, service_key: str, subtests: pytest.Subtests
) -> None:
    output = run_script(node, live_server, service_key)
    pinned = json.loads((JS_DIR / "package.json").read_text())["dependencies"]
    assert output["client"] == pinned["@supabase/supabase-js"], (
        "node_modules holds another supabase-js than package.json pins: "
        "run `npm ci --prefix tests/e2e/js`"
    )
    steps: dict[str, dict[str, Any]] = output["steps"]
    assert list(steps) == list(EXPECTED), "crud.mjs and EXPECTED name different steps"
    for name, expected in EXPECTED.items():
        with subtests.test(name):
            print_exchanges(output["wire"][name])
            assert compared(name, steps[name], expected) == expected, f"step {name!r}"
