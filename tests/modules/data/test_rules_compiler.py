"""data.rules: access rules compiled to SQL select the right rows, on SQLite and PostgreSQL,
with values bound, never written into the SQL; and rule validation explains what is wrong."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.sql.elements import ColumnElement

from apprun.lib.rules import Literal, parse_rule, walk
from apprun.modules.data.ddl import build_table
from apprun.modules.data.rules import (
    AuthInfo,
    RequestInfo,
    Resolver,
    RuleCompileError,
    TableResolver,
    ValuesResolver,
    compile_rule,
    validate_rule,
)
from apprun.modules.data.schemas import CollectionSpec, FieldSpec

CATEGORIES = CollectionSpec(
    name="categories",
    fields=[
        FieldSpec(name="name", type="text"),
        FieldSpec(name="owner", type="text"),
        FieldSpec(name="parent", type="relation", collection="categories"),
    ],
)
POSTS = CollectionSpec(
    name="posts",
    fields=[
        FieldSpec(name="title", type="text"),
        FieldSpec(name="owner", type="text"),
        FieldSpec(name="published", type="boolean"),
        FieldSpec(name="views", type="integer"),
        FieldSpec(name="tags", type="json"),
        FieldSpec(name="due", type="date"),
        FieldSpec(name="category", type="relation", collection="categories"),
    ],
)
SPECS = {"categories": CATEGORIES, "posts": POSTS}
METADATA = sa.MetaData()
CATEGORIES_T = build_table(CATEGORIES, METADATA)
POSTS_T = build_table(POSTS, METADATA)
NOW = datetime(2024, 7, 1, tzinfo=UTC)


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


CATEGORY_ROWS: list[dict[str, Any]] = [
    {"id": "c1", "name": "news", "owner": "u1", "parent": None},
    {"id": "c2", "name": "Misc", "owner": "u3", "parent": "c1"},
]
POST_ROWS: list[dict[str, Any]] = [
    {"id": "p1", "title": "Hello World", "owner": "u1", "published": True, "views": 10,
     "tags": ["news", "tech"], "due": date(2024, 6, 30), "category": "c1",
     "created_at": at("2024-01-01")},
    {"id": "p2", "title": "Draft notes", "owner": "u2", "published": False, "views": 0,
     "tags": None, "category": "c2", "created_at": at("2024-06-01")},  # tags: JSON null
    {"id": "p3", "tags": sa.null(), "created_at": at("2025-01-01")},  # every field SQL NULL
    {"id": "p4", "title": "100% sure_thing", "owner": "u1", "published": True, "views": 250,
     "tags": ["Tech", 5, True, None], "due": date(2024, 8, 1), "category": "c2",
     "created_at": at("2023-01-01")},
]  # fmt: skip
ALL = {"p1", "p2", "p3", "p4"}

USER = AuthInfo("u1", "authenticated", ("authenticated", "editor"), email="a@example.com",
                claims={"org": {"plan": "pro"}, "groups": ["staff"]})  # fmt: skip
ANON = AuthInfo(id=None, role="anon", roles=("anon",))
BODY = {"owner": "u1", "views": "10", "title": "100%", "tags": ["news"]}
REQUEST = RequestInfo("POST", BODY)
PERMS = {"posts.read"}

CASES: list[tuple[str, set[str]]] = [
    ("owner = @auth.id", {"p1", "p4"}),
    ("owner != @auth.id", {"p2", "p3"}),
    ('owner = "u2"', {"p2"}),
    ('owner != "u2"', {"p1", "p3", "p4"}),  # NULL is distinct from "u2"
    ("owner = null", {"p3"}),
    ("owner != null", {"p1", "p2", "p4"}),
    ("views > 10", {"p4"}),
    ("views >= 10", {"p1", "p4"}),
    ("views < 10", {"p2"}),
    ("views <= 10", {"p1", "p2"}),
    ("!(views > 5)", {"p2", "p3"}),  # a NULL comparison is false, so `!` negates it exactly
    ("10 < views", {"p4"}),
    ('views > "5"', {"p1", "p4"}),
    ("published = true", {"p1", "p4"}),
    ("published != true", {"p2", "p3"}),
    ("published = false", {"p2"}),
    ('title > "H"', {"p1"}),
    ("created_at < @now", {"p1", "p2", "p4"}),
    ('created_at >= "2024-06-01"', {"p2", "p3"}),
    ("due < @now", {"p1"}),
    ('due = "2024-08-01"', {"p4"}),
    ('title ~ "hello"', {"p1"}),
    ('title ~ "WORLD"', {"p1"}),
    ('title ~ "1%"', {"p4"}),  # a wildcard: no "contains" wrapping
    ('title ~ "D_aft%"', {"p2"}),
    ('title !~ "hello"', {"p2", "p3", "p4"}),
    ("title ~ @request.body.title", {"p4"}),  # a runtime "100%": its % is not a wildcard
    ("title !~ @request.body.category", ALL),  # missing: matches nothing
    ('tags ?= "news"', {"p1"}),
    ('tags ?= "tech"', {"p1"}),
    ('tags ?~ "tech"', {"p1", "p4"}),
    ("tags ?= 5", {"p4"}),
    ("tags ?= true", {"p4"}),
    ("tags ?= null", {"p4"}),
    ('tags ?!= "news"', {"p1", "p4"}),
    ('!(tags ?= "news")', {"p2", "p3", "p4"}),
    ("tags ?= @request.body.owner", set()),
    ("tags = null", {"p2", "p3"}),  # SQL NULL and JSON null
    ("tags != null", {"p1", "p4"}),
    ('@auth.roles ?= "editor"', ALL),
    ('@auth.roles ?= "admin"', set()),
    ('@auth.roles ?~ "edit"', ALL),
    ('@request.body.tags ?= "news"', ALL),
    ('category.name = "news"', {"p1"}),
    ('category.name ~ "misc"', {"p2", "p4"}),
    ('category.name != "news"', {"p2", "p3", "p4"}),
    ("category.owner = @auth.id", {"p1"}),
    ('category.parent.name = "news"', {"p2", "p4"}),
    ("category.parent.owner = @auth.id && published = true", {"p4"}),
    ('category = "c2"', {"p2", "p4"}),
    ("category = null", {"p3"}),
    ("owner = category.owner", {"p1", "p3"}),  # two NULLs are equal between fields
    ("owner != category.owner", {"p2", "p4"}),
    ('has_role("editor") && published = true', {"p1", "p4"}),
    ('has_role("admin") || owner = "u2"', {"p2"}),
    ('has_perm("posts.read")', ALL),
    ('!has_perm("posts.write")', ALL),
    ('has_role("editor") = true && views = 0', {"p2"}),
    ('@request.method = "POST" && views = @request.body.views', {"p1"}),
    ("@request.body.owner = @auth.id", ALL),
    ("owner = @request.body.owner", {"p1", "p4"}),
    ("@request.body.owner = null", set()),
    ("@request.body.category = null", ALL),
    ('@auth.claims.org.plan = "pro" && owner = "u2"', {"p2"}),
    ("@auth.claims.missing.x = null", ALL),
    ('@auth.claims.groups[0] = "staff"', ALL),
    ("@auth.claims.groups[1] = null", ALL),
    ("@auth.claims.org[0] = null", ALL),
    ('@auth.email = "a@example.com"', ALL),
    ('id = "p1" || id = "p3"', {"p1", "p3"}),
    ("(owner = @auth.id || published = false) && views < 100", {"p1", "p2"}),
    ("true", ALL),
    ("false", set()),
]
ANON_CASES: list[tuple[str, set[str]]] = [
    ("owner = @auth.id", set()),  # not NULL = NULL
    ("owner != @auth.id", ALL),
    ("@auth.id = null", ALL),
    ("owner = null", {"p3"}),
    ("category.owner = @auth.id", set()),
    ("published = true || owner = @auth.id", {"p1", "p4"}),
    ('@auth.roles ?= "editor"', set()),
    ('has_role("anon")', ALL),
    ("title ~ @request.body.title", set()),
]
CANDIDATE = {"title": "New", "owner": "u1", "views": 3, "tags": ["a", "b"], "category": "c2"}
VALUES_CASES: list[tuple[str, AuthInfo, bool]] = [
    ("owner = @auth.id", USER, True),
    ("owner = @auth.id", ANON, False),
    ("category.owner = @auth.id", USER, False),
    ("category.parent.owner = @auth.id", USER, True),
    ('category.name ~ "misc" && owner = @auth.id', USER, True),
    ("views > 5", USER, False),
    ("views < 5", USER, True),
    ('tags ?= "b"', USER, True),
    ('tags ?= "c"', USER, False),
    ("published = null && published != true", USER, True),
    ('title ~ "ew"', USER, True),
    ("owner = @request.body.owner", USER, True),
]


def compile_(
    rule: str,
    auth: AuthInfo = USER,
    *,
    dialect: str = "sqlite",
    request: RequestInfo | None = None,
    resolver: Resolver | None = None,
) -> ColumnElement[bool]:
    return compile_rule(
        parse_rule(rule),
        resolver or TableResolver(POSTS, POSTS_T, SPECS, METADATA.tables.__getitem__),
        auth,
        request or (REQUEST if auth is USER else RequestInfo("GET")),
        now=NOW,
        has_perm=PERMS.__contains__,
        dialect=dialect,
    )


def candidate() -> ValuesResolver:
    return ValuesResolver(POSTS, CANDIDATE, SPECS, METADATA.tables.__getitem__)


def load(conn: sa.Connection) -> None:
    METADATA.create_all(conn)
    conn.execute(
        sa.insert(CATEGORIES_T),
        [{**r, "created_at": NOW, "updated_at": NOW} for r in CATEGORY_ROWS],
    )
    for row in POST_ROWS:
        conn.execute(sa.insert(POSTS_T).values(**row, updated_at=NOW))


def selected(conn: sa.Connection, condition: ColumnElement[bool]) -> set[str]:
    return set(conn.execute(sa.select(POSTS_T.c.id).where(condition)).scalars())


@pytest.fixture(scope="module")
def db() -> Iterator[sa.Connection]:
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        load(conn)
        yield conn
    engine.dispose()


def test_null_json_is_stored_both_ways(db: sa.Connection) -> None:
    assert selected(db, POSTS_T.c.tags.is_(None)) == {"p3"}  # p2 holds a JSON null


@pytest.mark.parametrize(("rule", "expected"), CASES)
def test_rule_selects_rows(db: sa.Connection, rule: str, expected: set[str]) -> None:
    assert selected(db, compile_(rule)) == expected


@pytest.mark.parametrize(("rule", "expected"), ANON_CASES)
def test_rule_for_anonymous_caller(db: sa.Connection, rule: str, expected: set[str]) -> None:
    assert selected(db, compile_(rule, ANON)) == expected


@pytest.mark.parametrize(("rule", "auth", "expected"), VALUES_CASES)
def test_rule_on_candidate_row(
    db: sa.Connection, rule: str, auth: AuthInfo, expected: bool
) -> None:
    condition = compile_(rule, auth, resolver=candidate())
    assert bool(db.execute(sa.select(condition)).scalar()) is expected


def test_values_known_now_fold_to_constants() -> None:
    assert isinstance(compile_('@request.method = "POST"'), sa.True_)
    assert isinstance(compile_("@request.body.owner = @auth.id", ANON), sa.False_)
    assert isinstance(compile_("owner = @auth.id", resolver=candidate()), sa.True_)
    assert isinstance(compile_('views > 1 && tags ?= "a"', resolver=candidate()), sa.True_)


def user_literals(rule: str) -> list[str | int]:
    values = [n.value for n in walk(parse_rule(rule)) if isinstance(n, Literal)]
    return [v for v in values if (isinstance(v, str) and len(v) >= 3) or type(v) is int]


@pytest.mark.parametrize("rule", sorted({rule for rule, _ in CASES + ANON_CASES}))
def test_postgresql_sql_binds_every_value(rule: str) -> None:
    statement = sa.select(POSTS_T.c.id).where(compile_(rule, dialect="postgresql"))
    sql = str(statement.compile(dialect=postgresql.dialect()))
    for value in user_literals(rule):
        if isinstance(value, str):
            assert value not in sql, (value, sql)
        else:
            assert not re.search(rf"(?<![\w%]){value}(?!\w)", sql), (value, sql)


@pytest.mark.anyio
async def test_rules_select_the_same_rows_on_postgresql(pg_database: Callable[[], str]) -> None:
    url = pg_database().replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_async_engine(url)
    wrong = []
    try:
        async with engine.begin() as conn:
            await conn.run_sync(load)
            for auth, cases in ((USER, CASES), (ANON, ANON_CASES)):
                for rule, expected in cases:
                    result = await conn.execute(
                        sa.select(POSTS_T.c.id).where(compile_(rule, auth, dialect="postgresql"))
                    )
                    if set(result.scalars()) != expected:
                        wrong.append(rule)
            for rule, auth, value in VALUES_CASES:
                condition = compile_(rule, auth, dialect="postgresql", resolver=candidate())
                if bool((await conn.execute(sa.select(condition))).scalar()) is not value:
                    wrong.append(rule)
    finally:
        await engine.dispose()
    assert wrong == []


PROBLEMS: list[tuple[str, list[str]]] = [
    ('titel = "x"', ["unknown field 'titel' in collection 'posts'"]),
    ('category.nope = "x"', ["unknown field 'nope' in collection 'categories'"]),
    ('title.name = "x"', ["'title' in 'title.name' is not a relation field of collection 'posts'"]),
    ("category.parent.parent.parent.parent.name = 1", ["follows 5 relations; at most 4"]),
    ('foo("x")', ["unknown function 'foo'; the functions are has_role and has_perm"]),
    ("has_role()", ["has_role takes exactly one string argument"]),
    ('has_perm("a", "b") && has_role(1)', ["has_perm takes exactly", "has_role takes exactly"]),
    ("@auth.nope = 1", ["unknown name '@auth.nope'"]),
    ("@request.query.x = 1", ["unknown name '@request.query.x'"]),
    ('@request.body.titel = "x"', ["'@request.body.titel': collection 'posts' has no field"]),
    ('views = "many"', ["type mismatch: field 'views' is integer, and \"many\" is not a valid"]),
    ("published = 5", ["type mismatch: field 'published' is boolean"]),
    ('created_at > "soon"', ["type mismatch: field 'created_at' is timestamp"]),
    ("views = title", ["type mismatch: field 'views' is integer and field 'title' is text"]),
    ("@auth.id = 5 && owner = @now", ["field 'owner' is text and @now is timestamp"]),
    ('@auth.roles = "x"', ["@auth.roles holds json (a list)"]),
    ('tags = "x"', ["field 'tags' holds json (a list)"]),
    ('title ?= "x"', ["?= compares the elements of a list"]),
    ('views ~ "1"', ["~ applies to text, and field 'views' is integer"]),
    ("title ~ owner", ["the right side of ~ must be a string"]),
    ("title ~ true", ["~ needs a string on its right, not true"]),
    ("views > null", ["null can only be compared with = or !=, not with >"]),
    ("tags ?~ null", ["the right side of ?~ must be a string"]),
    ("owner = @auth.id &&", ["at column 20"]),
    ('titel = 1 && foo("x") && titel = 2', ["unknown field 'titel'", "unknown function 'foo'"]),
    (
        "@path.segments[0] = @auth.id",
        ["'@path.segments[0]': @path is only available in storage policies"],
    ),
    ('@path.name ~ "x"', ["'@path.name': @path is only available in storage policies"]),
    ('tags[0] = "x"', ["'tags[0]': indexes are not supported on collection fields"]),
    ('category.name[1] = "x"', ["'category.name[1]': indexes are not supported"]),
    ('@request.body.tags[0] = "x"', ["unknown name '@request.body.tags[0]'"]),
    ('@auth.roles[0] = "x"', ["unknown name '@auth.roles[0]'"]),
]


@pytest.mark.parametrize(("rule", "expected"), PROBLEMS)
def test_validation_explains_problems(rule: str, expected: list[str]) -> None:
    problems = validate_rule(rule, POSTS, SPECS)
    assert len(problems) == len(expected), problems
    for problem, fragment in zip(problems, expected, strict=True):
        assert fragment in problem
    if not rule.endswith("&&"):  # the rules that parse do not compile either
        with pytest.raises(RuleCompileError):
            compile_(rule)


def test_validation_reports_unknown_relation_targets() -> None:
    notes = CollectionSpec(
        name="notes", fields=[FieldSpec(name="ghost", type="relation", collection="ghosts")]
    )
    assert validate_rule('ghost.name = "x"', notes, {"notes": notes}) == [
        "relation field 'ghost' of collection 'notes' points to unknown collection 'ghosts'"
    ]


@pytest.mark.parametrize("rule", sorted({rule for rule, _ in CASES + ANON_CASES}))
def test_rules_that_compile_are_valid(rule: str) -> None:
    assert validate_rule(rule, POSTS, SPECS) == []


class PathResolver:
    """A storage-like resolver: ``@path.segments[N]`` is a text column, or a known value."""

    spec = POSTS

    def __init__(self, known: str | None = None) -> None:
        self.known = known
        self.paths: list[tuple[str, ...]] = []

    def resolve(self, path: tuple[str, ...]) -> tuple[ColumnElement[Any], FieldSpec]:
        self.paths.append(path)
        text = FieldSpec(name="segment", type="text")
        if self.known is not None:
            return sa.literal(self.known, sa.Text()), text
        return sa.column("segment", sa.Text()), text


def test_path_refs_reach_the_resolver_like_fields() -> None:
    resolver = PathResolver()
    condition = compile_("@path.segments[0] = @auth.id && title[2] = 'x'", resolver=resolver)
    assert resolver.paths == [("@path", "segments", "0"), ("title", "2")]
    assert str(condition.compile()).count("segment = :param_") == 2
    assert isinstance(
        compile_("@path.segments[0] = @auth.id", resolver=PathResolver("u1")), sa.True_
    )
    with pytest.raises(RuleCompileError, match=re.escape("type mismatch: @path.x[1] is text")):
        compile_("@path.x[1] = @now", resolver=PathResolver())


def test_unknown_dialect_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown dialect"):
        compile_("true", dialect="mysql")


# Mostly known names, so that about half of the generated rules compile and run.
KNOWN = [
    "title", "owner", "views", "tags", "due", "created_at", "id", "published", "category",
    "category.name", "category.parent.owner", "@auth.id", "@auth.roles", "@auth.claims.org",
    "@request.method", "@request.body.views", "@request.body.tags", "@now", '"abc"',
    '"%a_\\\\"', '"2024-01-01"', "5", "-1.5", "99999999999", "true", "false", "null",
    'has_role("editor")',
]  # fmt: skip
OPERANDS = KNOWN * 5 + [
    "titel", "title.x", "@auth.nope", "@request.body.x", "has_role(1)", "@path.segments[0]",
    "tags[0]",
]  # fmt: skip
OPERATORS = ["=", "!=", ">", ">=", "<", "<=", "~", "!~"]
COMPARISONS = st.builds(
    "{} {}{} {}".format,
    st.sampled_from(OPERANDS),
    st.sampled_from(["", "", "?"]),
    st.sampled_from(OPERATORS),
    st.sampled_from(OPERANDS),
)
RULES = st.recursive(
    COMPARISONS | st.sampled_from(['has_perm("posts.read")', "true"]),
    lambda inner: st.one_of(
        st.builds("({}) && ({})".format, inner, inner),
        st.builds("{} || {}".format, inner, inner),
        st.builds("!({})".format, inner),
    ),
    max_leaves=4,
)
TOKENS = st.sampled_from([*OPERANDS, *OPERATORS, "&&", "||", "(", ")", "!", "?=", "@", '"'])


@given(rule=RULES)
@settings(max_examples=300, deadline=None)
def test_any_rule_is_refused_or_compiles_and_runs(db: sa.Connection, rule: str) -> None:
    problems = validate_rule(rule, POSTS, SPECS)
    try:
        condition = compile_(rule)
    except RuleCompileError:
        assert problems
        return
    assert problems == []
    selected(db, condition)
    for auth in (USER, ANON):
        db.execute(sa.select(compile_(rule, auth, resolver=candidate())))
    statement = sa.select(POSTS_T.c.id).where(compile_(rule, ANON, dialect="postgresql"))
    statement.compile(dialect=postgresql.dialect())


@given(text=st.text(max_size=80) | st.lists(TOKENS, max_size=12).map(" ".join))
@settings(max_examples=300, deadline=None)
def test_any_text_gets_a_list_of_problems(text: str) -> None:
    problems = validate_rule(text, POSTS, SPECS)
    assert all(isinstance(problem, str) and problem for problem in problems)
