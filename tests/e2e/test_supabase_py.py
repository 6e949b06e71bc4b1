"""supabase-py, the real PyPI client, doing CRUD through /rest/v1 of a live server.

One server per database (SQLite, PostgreSQL) runs the steps of ``STEPS`` in order, each one a
subtest, so a failing step does not hide the others. The client's exchanges with the server are
printed as they happen, and pytest shows those of a failed step under "Captured stdout".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from postgrest import SyncRequestBuilder
from postgrest.exceptions import APIError
from supabase import Client, create_client

from apprun.testing.live import LiveServer

pytestmark = [
    pytest.mark.live,
    # create_client() passes postgrest-py its default timeout and verify, which postgrest-py
    # 2.34 deprecates (in favour of an httpx client) in the same release.
    pytest.mark.filterwarnings(
        "ignore:The '(timeout|verify)' parameter is deprecated"
        ":DeprecationWarning:supabase._sync.client"
    ),
]

Row = dict[str, Any]
Posts = Callable[[], SyncRequestBuilder]  # supabase.table("posts"), new for each query

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


def plain(data: Any) -> Any:
    """Rows without created_at/updated_at, whose values the server chooses."""
    if isinstance(data, list):
        return [plain(row) for row in data]
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k not in TIMESTAMPS}
    return data


def rows(query: Any) -> Any:
    """``execute().data`` without timestamps."""
    return plain(query.execute().data)


def sorted_rows(query: Any) -> Any:
    """For writes of several rows, whose order in the response nothing fixes."""
    return sorted(rows(query), key=lambda row: row["id"])


def ids(query: Any) -> list[str]:
    return [row["id"] for row in query.order("id").execute().data]


def in_order(query: Any) -> list[str]:
    return [row["id"] for row in query.execute().data]


def data_and_count(query: Any) -> tuple[Any, int | None]:
    response = query.execute()
    return plain(response.data), response.count


def maybe(query: Any) -> Any:
    """``maybe_single().execute()`` gives None for no row, else a response."""
    response = query.execute()
    return None if response is None else response.data


def error(query: Any) -> dict[str, Any]:
    """The APIError that ``execute()`` raises, as a dict (or what it returned instead)."""
    try:
        response = query.execute()
    except APIError as raised:
        return {"code": raised.code, "message": raised.message, "details": raised.details}
    return {"no error, but data": None if response is None else response.data}


def code(query: Any) -> str | None:
    return error(query).get("code")


def timestamps(query: Any) -> dict[str, bool]:
    """Which timestamps of the one row are ISO 8601 with a UTC offset."""
    row = query.execute().data
    return {k: datetime.fromisoformat(row[k]).utcoffset() is not None for k in TIMESTAMPS}


# (name, what to do with the client, what it must give back), run in this order.
STEPS: list[tuple[str, Callable[[Posts], Any], Any]] = [
    # Inserts: supabase-py asks for the representation by default.
    ("insert one row", lambda t: rows(t().insert(P1)), [P1]),
    (
        "bulk insert, then .select()",
        lambda t: rows(t().insert([P2, P3]).select("id", "title", "views")),
        [
            {"id": "p2", "title": "beta", "views": 600},
            {"id": "p3", "title": "Gamma (2)", "views": 0},
        ],
    ),
    (
        "select * reads back what was written",
        lambda t: rows(t().select("*").order("id")),
        [
            P1,
            P2,
            P3,
        ],
    ),
    (
        "timestamps are ISO 8601 with an offset",
        lambda t: timestamps(t().select("created_at,updated_at").eq("id", "p1").single()),
        {"created_at": True, "updated_at": True},
    ),
    (
        "select with an alias",
        lambda t: rows(t().select("id,heading:title").eq("id", "p1")),
        [{"id": "p1", "heading": "Alpha"}],
    ),
    # Filters
    ("eq", lambda t: ids(t().select("id").eq("views", 10)), ["p1"]),
    ("neq", lambda t: ids(t().select("id").neq("views", 10)), ["p2", "p3"]),
    ("gt", lambda t: ids(t().select("id").gt("views", 10)), ["p2"]),
    ("gte", lambda t: ids(t().select("id").gte("views", 10)), ["p1", "p2"]),
    ("lt", lambda t: ids(t().select("id").lt("views", 10)), ["p3"]),
    ("lte", lambda t: ids(t().select("id").lte("views", 10)), ["p1", "p3"]),
    ("like with %", lambda t: ids(t().select("id").like("title", "%a")), ["p1", "p2"]),
    ("like with *", lambda t: ids(t().select("id").like("title", "A*")), ["p1"]),
    ("like is case-sensitive", lambda t: ids(t().select("id").like("title", "alpha")), []),
    ("ilike", lambda t: ids(t().select("id").ilike("title", "a%")), ["p1"]),
    ("ilike with *", lambda t: ids(t().select("id").ilike("title", "*MM*")), ["p3"]),
    ("in_", lambda t: ids(t().select("id").in_("id", ["p1", "p3"])), ["p1", "p3"]),
    (
        "in_ with quoted values",
        lambda t: ids(t().select("id").in_("title", ["Gamma (2)", "Alpha"])),
        ["p1", "p3"],
    ),
    ("is_ None", lambda t: ids(t().select("id").is_("score", None)), ["p2"]),
    ("is_ True", lambda t: ids(t().select("id").is_("published", True)), ["p1", "p3"]),
    ("not_.is_ None", lambda t: ids(t().select("id").not_.is_("score", None)), ["p1", "p3"]),
    ("eq on a boolean", lambda t: ids(t().select("id").eq("published", False)), ["p2"]),
    ("contains one", lambda t: ids(t().select("id").contains("tags", ["tech"])), ["p1", "p2"]),
    ("contains two", lambda t: ids(t().select("id").contains("tags", ["news", "tech"])), ["p1"]),
    ("or_", lambda t: ids(t().select("id").or_("views.eq.10,views.eq.0")), ["p1", "p3"]),
    (
        "two filters",
        lambda t: ids(t().select("id").gt("views", 5).is_("published", True)),
        ["p1"],
    ),
    # Order, limit, range, count
    (
        "order desc",
        lambda t: in_order(t().select("id").order("views", desc=True)),
        ["p2", "p1", "p3"],
    ),
    (
        "order asc: nulls last",
        lambda t: in_order(t().select("id").order("score")),
        ["p1", "p3", "p2"],
    ),
    (
        "order desc: nulls first",
        lambda t: in_order(t().select("id").order("score", desc=True)),
        ["p2", "p3", "p1"],
    ),
    (
        "order desc, nullsfirst=False",
        lambda t: in_order(t().select("id").order("score", desc=True, nullsfirst=False)),
        ["p3", "p1", "p2"],
    ),
    (
        "order on two columns",
        lambda t: in_order(t().select("id").order("published", desc=True).order("views")),
        ["p3", "p1", "p2"],
    ),
    ("limit", lambda t: in_order(t().select("id").order("views").limit(2)), ["p3", "p1"]),
    ("range", lambda t: in_order(t().select("id").order("views").range(1, 2)), ["p1", "p2"]),
    (
        'count="exact" with a filter and a limit',
        lambda t: data_and_count(
            t().select("id", count="exact").gt("views", 5).order("id").limit(1)
        ),
        ([{"id": "p1"}], 2),
    ),
    (
        'count="exact" of everything',
        lambda t: data_and_count(t().select("id", count="exact").order("id")),
        ([{"id": "p1"}, {"id": "p2"}, {"id": "p3"}], 3),
    ),
    (
        'count="exact", head=True',
        lambda t: data_and_count(t().select("*", count="exact", head=True)),
        ([], 3),
    ),
    # single / maybe_single
    (
        ".single() on one row",
        lambda t: rows(t().select("id,title").eq("id", "p1").single()),
        {"id": "p1", "title": "Alpha"},
    ),
    (
        ".single() on several rows raises PGRST116",
        lambda t: error(t().select("id").single()),
        {
            "code": "PGRST116",
            "message": "Cannot coerce the result to a single JSON object",
            "details": "The result contains 3 rows",
        },
    ),
    (
        ".single() on no row raises PGRST116",
        lambda t: code(t().select("id").eq("id", "nope").single()),
        "PGRST116",
    ),
    (
        ".maybe_single() on one row",
        lambda t: maybe(t().select("id,title").eq("id", "p2").maybe_single()),
        {"id": "p2", "title": "beta"},
    ),
    (
        ".maybe_single() on no row gives None",
        lambda t: maybe(t().select("id").eq("id", "nope").maybe_single()),
        None,
    ),
    (
        # The client makes this error from the JSON array the server sends.
        ".maybe_single() on several rows raises",
        lambda t: code(t().select("id").maybe_single()),
        "406",
    ),
    # Upsert
    (
        "upsert merges on the primary key",
        lambda t: rows(t().upsert({"id": "p1", "title": "Alpha 2"})),
        [{**P1, "title": "Alpha 2"}],
    ),
    (
        "upsert with on_conflict merges on a unique column",
        lambda t: rows(t().upsert({"title": "Beta 2", "slug": "beta"}, on_conflict="slug")),
        [{**P2, "title": "Beta 2"}],
    ),
    (
        "upsert with ignore_duplicates skips the existing row",
        lambda t: rows(
            t().upsert(
                {"title": "Other", "slug": "gamma"}, on_conflict="slug", ignore_duplicates=True
            )
        ),
        [],
    ),
    (
        "the skipped row is unchanged",
        lambda t: rows(t().select("title").eq("id", "p3")),
        [{"title": "Gamma (2)"}],
    ),
    (
        "upsert with ignore_duplicates inserts a new row",
        lambda t: rows(
            t().upsert({"id": "p4", "title": "Delta", "slug": "delta"}, ignore_duplicates=True)
        ),
        [
            {
                "id": "p4",
                "title": "Delta",
                "views": 0,
                "score": None,
                "published": False,
                "tags": None,
                "slug": "delta",
            }
        ],
    ),
    (
        "bulk upsert merges one row and inserts another, then .select()",
        lambda t: sorted_rows(
            t()
            .upsert(
                [
                    {"id": "p4", "title": "Delta 2", "views": 4},
                    {"id": "p5", "title": "Epsilon", "views": 5},
                ]
            )
            .select("id", "title", "views", "published", "slug")
        ),
        [
            {"id": "p4", "title": "Delta 2", "views": 4, "published": False, "slug": "delta"},
            {"id": "p5", "title": "Epsilon", "views": 5, "published": False, "slug": None},
        ],
    ),
    # Update and delete
    (
        "update with a filter",
        lambda t: sorted_rows(t().update({"views": 42}).eq("published", True)),
        [{**P1, "title": "Alpha 2", "views": 42}, {**P3, "views": 42}],
    ),
    (
        "update, then .select()",
        lambda t: rows(t().update({"score": 2.5}).eq("id", "p1").select("id", "score")),
        [{"id": "p1", "score": 2.5}],
    ),
    ("update that matches nothing", lambda t: rows(t().update({"views": 1}).eq("id", "nope")), []),
    (
        ".single() update of two rows raises PGRST116",
        lambda t: error(t().update({"views": 7}).eq("published", True).single()),
        {
            "code": "PGRST116",
            "message": "Cannot coerce the result to a single JSON object",
            "details": "The result contains 2 rows",
        },
    ),
    (
        "the .single() update was rolled back",
        lambda t: rows(t().select("views").eq("published", True)),
        [{"views": 42}, {"views": 42}],
    ),
    (
        "delete with a filter",
        lambda t: rows(t().delete().eq("id", "p2")),
        [{**P2, "title": "Beta 2"}],
    ),
    (
        "delete with in_, then .select()",
        lambda t: sorted_rows(t().delete().in_("id", ["p4", "p5"]).select("id")),
        [{"id": "p4"}, {"id": "p5"}],
    ),
    (
        "what is left",
        lambda t: rows(t().select("*").order("id")),
        [{**P1, "title": "Alpha 2", "views": 42, "score": 2.5}, {**P3, "views": 42}],
    ),
    # Errors
    (
        "a duplicate unique value raises 23505",
        lambda t: code(t().insert({"title": "Copy", "slug": "alpha"})),
        "23505",
    ),
    (
        "a duplicate id raises 23505",
        lambda t: code(t().insert({"id": "p1", "title": "Again"})),
        "23505",
    ),
    (
        "a bulk insert with a duplicate raises 23505",
        lambda t: code(
            t().insert(
                [{"id": "p6", "title": "Fresh"}, {"id": "p7", "title": "Dup", "slug": "alpha"}]
            )
        ),
        "23505",
    ),
    (
        "the failed bulk insert left nothing",
        lambda t: ids(t().select("id").in_("id", ["p6", "p7"])),
        [],
    ),
    (
        "a missing required value raises 23502",
        lambda t: code(t().insert({"views": 1})),
        "23502",
    ),
]


class Wire:
    """Prints each request the client sends and the response it gets."""

    def request(self, request: httpx.Request) -> None:
        target = request.url.raw_path.decode()
        print(f">>> {request.method} {target}")
        if unquote(target) != target:
            print(f"    (decoded: {unquote(target)})")
        for name in ("accept", "prefer", "content-type", "accept-profile", "content-profile"):
            if name in request.headers:
                print(f"    {name}: {request.headers[name]}")
        if request.content:
            print(f"    {request.content.decode(errors='replace')}")

    def response(self, response: httpx.Response) -> None:
        response.read()
        print(f"<<< {response.status_code}")
        for name in ("content-type", "content-range", "preference-applied", "location"):
            if name in response.headers:
                print(f"    {name}: {response.headers[name]}")
        if response.content:
            print(f"    {response.text}")


@contextmanager
def supabase_client(url: str, key: str) -> Iterator[Client]:
    """``create_client(url, key)``, as an application makes it, with its exchanges printed."""
    client = create_client(url, key)
    wire = Wire()
    client.postgrest.session.event_hooks = {"request": [wire.request], "response": [wire.response]}
    try:
        yield client
    finally:
        client.postgrest.session.close()


def test_crud_through_supabase_py(
    live_server: LiveServer, service_key: str, subtests: pytest.Subtests
) -> None:
    with supabase_client(live_server.url, service_key) as supabase:
        for name, run, expected in STEPS:
            with subtests.test(name):
                assert run(lambda: supabase.table("posts")) == expected, f"step {name!r}"
        with subtests.test("an unknown table raises PGRST205"):
            assert code(supabase.table("nope").select("*")) == "PGRST205"
