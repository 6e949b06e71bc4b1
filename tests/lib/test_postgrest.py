"""lib.postgrest: the PostgREST request grammar (rest.md §2-10, §13), in the clients' wire forms.

Tables are rows of ``(id, *arguments)``; ``cases`` turns them into parametrized tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apprun.lib.postgrest import (
    MAX_DEPTH,
    ApiRequest,
    Filter,
    InvalidPreferencesError,
    JsonStep,
    LogicTree,
    Negotiated,
    NotAcceptableError,
    OrderTerm,
    Paging,
    PostgrestSyntaxError,
    Preferences,
    RangeNotSatisfiableError,
    Representation,
    SelectColumn,
    SelectEmbed,
    SelectStar,
    negotiate_accept,
    output_key,
    parse_array_literal,
    parse_column_list,
    parse_filter,
    parse_in_list,
    parse_logic_tree,
    parse_order,
    parse_prefer,
    parse_range,
    parse_request,
    parse_select,
)


def cases(names: str, rows: Sequence[tuple[Any, ...]]) -> pytest.MarkDecorator:
    """Parametrize with ``rows`` whose first element is the test id."""
    return pytest.mark.parametrize(names, [pytest.param(*row[1:], id=row[0]) for row in rows])


def j(key: str | int) -> JsonStep:
    return JsonStep("->", key)


def t(key: str | int) -> JsonStep:
    return JsonStep("->>", key)


def f(column: str, operator: Any, value: Any, path: tuple[str, ...] = (), **kw: Any) -> Filter:
    return Filter(
        path,
        column,
        kw.get("json", ()),
        kw.get("neg", False),
        operator,
        kw.get("mod"),
        value,
        kw.get("config"),
    )


def col(name: str, *json_path: JsonStep, **kw: Any) -> SelectColumn:
    keys = ("alias", "cast", "agg", "agg_cast")
    return SelectColumn(name, json_path, *(kw.get(k) for k in keys))


def embed(target: str, *items: Any, **kw: Any) -> SelectEmbed:
    return SelectEmbed(target, items=items, **kw)


def tree(
    op: Any, *children: Filter | LogicTree, path: tuple[str, ...] = (), neg: bool = False
) -> LogicTree:
    return LogicTree(path, op, neg, children)


def term(column: str, *json_path: JsonStep, path: tuple[str, ...] = (), **kw: Any) -> OrderTerm:
    return OrderTerm(path, column, json_path, **kw)


def fails_at(call: Callable[[], object], label: str, source: str, column: int) -> None:
    """``call`` raises PGRST100 for parameter ``source`` at ``column``, as PostgREST words it."""
    with pytest.raises(PostgrestSyntaxError) as info:
        call()
    error = info.value
    assert (error.code, error.status, error.hint) == ("PGRST100", 400, None)
    assert error.message == f'"failed to parse {label} ({source})" (line 1, column {column})'
    assert error.details


# --- select (§3) ---------------------------------------------------------------------------

STAR = SelectStar()
SELECTS = [
    ("star", "*", (STAR,)),
    ("columns", "id,name", (col("id"), col("name"))),
    ("spaces-around-commas", " id , name ", (col("id"), col("name"))),
    ("quoted", '"first name","a.b,c","q\\"x"', (col("first name"), col("a.b,c"), col('q"x'))),
    ("space-dash-dollar", "first name,my-col,$x", (col("first name"), col("my-col"), col("$x"))),
    ("unicode", "名前,café", (col("名前"), col("café"))),
    ("alias", "nick:name", (col("name", alias="nick"),)),
    ("cast", "salary::text", (col("salary", cast="text"),)),
    (
        "alias-json-cast",
        "a:n->k::character varying",
        (col("n", j("k"), alias="a", cast="character varying"),),
    ),
    ("json-path", "data->a->>b", (col("data", j("a"), t("b")),)),
    ("json-index", "data->phones->0->>number", (col("data", j("phones"), j(0), t("number")),)),
    ("json-neg-index", "data->-1,x->1a", (col("data", j(-1)), col("x", j("1a")))),
    ("json-odd-keys", 'data->"a.b"->!@#$%^&*_a', (col("data", j("a.b"), j("!@#$%^&*_a")),)),
    ("nested", "*,client(*,nested(*))", (STAR, embed("client", STAR, embed("nested", STAR)))),
    (
        "alias-hint-inner",
        "director:directors!billing!inner(name)",
        (embed("directors", col("name"), alias="director", hint="billing", join="inner"),),
    ),
    ("inner-then-hint", "rel!inner!fk(*)", (embed("rel", STAR, hint="fk", join="inner"),)),
    ("explicit-left", "rel!left(*)", (embed("rel", STAR),)),
    ("quoted-hint", 'rel!"inner"(*)', (embed("rel", STAR, hint="inner"),)),
    ("spread", "...roles(character)", (embed("roles", col("character"), spread=True),)),
    ("spread-hints", "...r!h!inner(*)", (embed("r", STAR, spread=True, hint="h", join="inner"),)),
    ("empty-embed", "rel(),x", (embed("rel"), col("x"))),
    ("empty", "", ()),
    ("count", "count()", (col("*", agg="count"),)),
    ("count-alias-cast", "n:count()::int", (col("*", alias="n", agg="count", agg_cast="int"),)),
    (
        "sum-avg",
        "a.sum(),a::int.avg()::text",
        (col("a", agg="sum"), col("a", cast="int", agg="avg", agg_cast="text")),
    ),
    (
        "max-min-count",
        "a.max(),a.min(),a.count()",
        (col("a", agg="max"), col("a", agg="min"), col("a", agg="count")),
    ),
    (
        "deep",
        "roles(character,films(title,directors(name)))",
        (
            embed(
                "roles",
                col("character"),
                embed("films", col("title"), embed("directors", col("name"))),
            ),
        ),
    ),
]


@cases("value,expected", SELECTS)
def test_select(value: str, expected: tuple[Any, ...]) -> None:
    assert parse_select(value) == expected


OUTPUT_KEYS = [
    ("last-key", "data->phones->0->>number", "number"),
    ("only-indexes", "langs->0", "langs"),
    ("key-then-index", "data->a->0", "a"),
    ("quoted-key", 'data->"x y"', "x y"),
    ("alias", "nick:data->a", "nick"),
    ("aggregate", "amount.sum()", "sum"),
    ("count", "count()", "count"),
    ("cast", "id::text", "id"),
]


@cases("value,key", OUTPUT_KEYS)
def test_output_key(value: str, key: str) -> None:
    (item,) = parse_select(value)
    assert isinstance(item, SelectColumn)
    assert item.output_key == key


def test_output_key_function_and_embed_names() -> None:
    assert output_key("c", (j(0), t(1))) == "c"
    assert output_key("c", (j("a"), t(1))) == "a"
    assert embed("directors", alias="director").name == "director"
    assert embed("directors").name == "directors"


SELECT_ERRORS = [
    ("brackets", "id,clients(name[])", 16),
    ("hint-without-parens", "name!hint", 5),
    ("star-hint", "*!hint", 2),
    ("empty-cast", "name::", 7),
    ("trailing-comma", "a,", 3),
    ("leading-comma", ",a", 1),
    ("unclosed", "a(b", 4),
    ("json-embed", "rel->x(*)", 7),
    ("aliased-star", "x:*", 3),
    ("unknown-aggregate", "a.foo()", 3),
    ("count-embed", "count(x)", 6),
    ("aliased-spread", "alias:...rel(*)", 7),
    ("unterminated-quote", '"open', 6),
    ("bad-negative-index", "data->>-78xy", 8),
    ("index-out-of-range", "a->99999999999", 4),
]


@cases("value,column", SELECT_ERRORS)
def test_select_errors(value: str, column: int) -> None:
    fails_at(lambda: parse_select(value), "select parameter", value, column)


def test_nesting_is_bounded() -> None:
    assert parse_select("a(" * MAX_DEPTH + ")" * MAX_DEPTH)
    with pytest.raises(PostgrestSyntaxError, match="failed to parse select"):
        parse_select("a(" * (MAX_DEPTH + 1) + ")" * (MAX_DEPTH + 1))
    deep = "(" + "and(" * MAX_DEPTH + "a.eq.1" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(PostgrestSyntaxError, match="failed to parse logic tree"):
        parse_logic_tree("or", deep)


# --- filters (§4) --------------------------------------------------------------------------

QUANTIFIABLE = ("eq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch")
IS_VALUES = [
    ("null", "null"),
    ("not_null", "not_null"),
    ("true", "true"),
    ("false", "false"),
    ("unknown", "unknown"),
    ("NULL", "null"),
    ("NoT_NuLl", "not_null"),
]
FILTERS = [
    *(
        (op, "age", f"{op}.14", f("age", op, "14"))
        for op in ("eq", "neq", "gt", "gte", "lt", "lte")
    ),
    ("isdistinct", "age", "isdistinct.5", f("age", "isdistinct", "5")),
    ("eq-null-is-a-string", "c", "eq.null", f("c", "eq", "null")),
    ("empty-value", "c", "eq.", f("c", "eq", "")),
    ("verbatim", "c", "eq.a.b(c),d", f("c", "eq", "a.b(c),d")),
    ("plus-untouched", "c", "eq.a+b c", f("c", "eq", "a+b c")),
    ("py-dict", "c", 'eq.{"a":1}', f("c", "eq", '{"a":1}')),
    ("py-bool", "c", "eq.true", f("c", "eq", "true")),
    ("like", "name", "like.*ab*", f("name", "like", "*ab*")),
    ("ilike", "name", "ilike.*AB*", f("name", "ilike", "*AB*")),
    ("match", "name", "match.^a.*$", f("name", "match", "^a.*$")),
    ("imatch", "name", "imatch.^A", f("name", "imatch", "^A")),
    ("in", "id", "in.(1,2,3)", f("id", "in", ("1", "2", "3"))),
    ("in-empty", "id", "in.()", f("id", "in", ())),
    ("in-js-quoted", "id", 'in.("a,b",c)', f("id", "in", ("a,b", "c"))),
    ("in-py-escaped", "id", 'in.("a\\"b","c\\\\d")', f("id", "in", ('a"b', "c\\d"))),
    ("js-not-in", "id", "not.in.(1,2)", f("id", "in", ("1", "2"), neg=True)),
    *((f"is-{raw}", "c", f"is.{raw}", f("c", "is", norm)) for raw, norm in IS_VALUES),
    ("not-is", "c", "not.is.null", f("c", "is", "null", neg=True)),
    ("fts", "t", "fts.cat", f("t", "fts", "cat")),
    ("fts-config", "t", "fts(english).cat & dog", f("t", "fts", "cat & dog", config="english")),
    ("plfts", "t", "plfts(simple).a b", f("t", "plfts", "a b", config="simple")),
    ("phfts", "t", "phfts.a b", f("t", "phfts", "a b")),
    ("py-web-search", "t", "wfts(english).a or b", f("t", "wfts", "a or b", config="english")),
    ("cs-array", "tags", "cs.{a,b}", f("tags", "cs", "{a,b}")),
    ("cs-py-array", "tags", 'cs.{"a b",NULL}', f("tags", "cs", '{"a b",NULL}')),
    ("cs-py-json", "data", 'cs.{"k": "v"}', f("data", "cs", '{"k": "v"}')),
    ("cd", "tags", "cd.{1,2}", f("tags", "cd", "{1,2}")),
    ("ov", "r", "ov.[1,5)", f("r", "ov", "[1,5)")),
    *((op, "r", f"{op}.(1,10)", f("r", op, "(1,10)")) for op in ("sl", "sr", "nxr", "nxl", "adj")),
    ("js-range", "r", "sr.[1,5)", f("r", "sr", "[1,5)")),
    ("not", "c", "not.eq.x", f("c", "eq", "x", neg=True)),
    *(
        (f"{op}-{q}", "c", f"{op}({q}).{{a*,b*}}", f("c", op, ("a*", "b*"), mod=q))
        for op in QUANTIFIABLE
        for q in ("any", "all")
    ),
    (
        "modifier-quoting",
        "c",
        'eq(any).{"a b",NULL,"NULL"}',
        f("c", "eq", ("a b", None, "NULL"), mod="any"),
    ),
    ("not-modifier", "c", "not.like(all).{a*}", f("c", "like", ("a*",), mod="all", neg=True)),
    ("json-text", "data->>k", "eq.x", f("data", "eq", "x", json=(t("k"),))),
    ("json-value", "data->k->0", 'eq."x"', f("data", "eq", '"x"', json=(j("k"), j(0)))),
    (
        "embed-path",
        "roles.actors.first_name",
        "eq.Tom",
        f("first_name", "eq", "Tom", ("roles", "actors")),
    ),
    ("quoted-column", '"a.b"', "eq.1", f("a.b", "eq", "1")),
    ("dash-then-arrow", "a-b->c", "eq.1", f("a-b", "eq", "1", json=(j("c"),))),
    ("quoted-path", '"my rel".x-y', "eq.1", f("x-y", "eq", "1", ("my rel",))),
    ("embed-null-test", "actors", "not.is.null", f("actors", "is", "null", neg=True)),
]


@cases("key,value,expected", FILTERS)
def test_filter(key: str, value: str, expected: Filter) -> None:
    assert parse_filter(key, value) == expected


FILTER_ERRORS = [
    ("no-dot", "gt", 3),
    ("unknown-operator", "noop.1", 1),
    ("upper-case-operator", "EQ.1", 1),
    ("empty", "", 1),
    ("double-not", "not.not.eq.1", 5),
    ("is-bad-value", "is.nope", 4),
    ("is-trailing", "is.nullx", 8),
    ("in-without-parens", "in.1,2", 4),
    ("in-unclosed", "in.(1,2", 8),
    ("in-trailing", "in.(1,2)x", 9),
    ("bad-modifier", "eq(some).x", 4),
    ("in-modifier", "in(any).(1)", 3),
    ("neq-modifier", "neq(any).{a}", 4),
    ("cs-modifier", "cs(all).{a}", 3),
    ("empty-fts-config", "fts().x", 5),
]


@cases("value,column", FILTER_ERRORS)
def test_filter_value_errors(value: str, column: int) -> None:
    fails_at(lambda: parse_filter("c", value), "filter", value, column)


def test_modifier_needs_an_array_literal() -> None:
    # PostgREST hands the literal to PostgreSQL, which answers 22P02 (400).
    with pytest.raises(PostgrestSyntaxError) as info:
        parse_filter("c", "like(any).abc")
    assert (info.value.code, info.value.status) == ("22P02", 400)
    assert info.value.message == 'malformed array literal: "abc"'


FILTER_KEY_ERRORS = [
    ("dot-after-json", "a->b.c", 5),
    ("empty", "", 1),
    ("trailing-dot", "a.", 3),
    ("brackets", "a[]", 2),
    ("dangling-arrow", "a->", 4),
    ("double-dash", "a--b", 3),
    ("no-casts-in-filters", "a::text", 2),
]


@cases("key,column", FILTER_KEY_ERRORS)
def test_filter_key_errors(key: str, column: int) -> None:
    fails_at(lambda: parse_filter(key, "eq.1"), "tree path", key, column)


IN_LISTS = [
    ("plain", "(1,2)", ("1", "2")),
    ("js-quoted", '("a,b",c)', ("a,b", "c")),
    ("py-escaped", '("a(b)","c\\\\d","e\\"f")', ("a(b)", "c\\d", 'e"f')),
    ("empty-string", '("")', ("",)),
    ("empty-list", "()", ()),
    ("empty-elements", "(,)", ("", "")),
    ("inner-spaces-kept", "( a , b )", ("a ", " b ")),
    ("quote-not-ending-element", '("a"b,c)', ('"a"b', "c")),
    ("unterminated-quote-is-text", '("a)', ('"a',)),
    ("js-unescaped-quote", '(a"b)', ('a"b',)),
    ("open-paren", "(a(b,c)", ("a(b", "c")),
]


@cases("text,expected", IN_LISTS)
def test_in_list(text: str, expected: tuple[str, ...]) -> None:
    assert parse_in_list(text) == expected


@pytest.mark.parametrize("text", ["1,2", "(1,2", "(1,2)x", ""])
def test_in_list_errors(text: str) -> None:
    with pytest.raises(PostgrestSyntaxError):
        parse_in_list(text)


ARRAYS = [
    ("empty", "{}", ()),
    ("plain", "{a,b}", ("a", "b")),
    ("quoted", '{"a b","c,d","e\\"f"}', ("a b", "c,d", 'e"f')),
    ("spaces", " { a , b c } ", ("a", "b c")),
    ("nulls", '{NULL,null,"NULL",\\NULL}', (None, None, "NULL", "NULL")),
    ("escapes", "{a\\,b,c\\ }", ("a,b", "c ")),
]


@cases("text,expected", ARRAYS)
def test_array_literal(text: str, expected: tuple[str | None, ...]) -> None:
    assert parse_array_literal(text) == expected


@pytest.mark.parametrize("text", ["abc", "{a", "{a,}", "{,}", "{{1}}", "{a}x", '{"a"b}', '{"a'])
def test_array_literal_errors(text: str) -> None:
    with pytest.raises(PostgrestSyntaxError) as info:
        parse_array_literal(text)
    assert (info.value.code, info.value.message) == ("22P02", f'malformed array literal: "{text}"')


# --- logic trees (§4) ----------------------------------------------------------------------

LOGIC_TREES = [
    (
        "rest-md-example",
        "or",
        "(age.eq.14,not.and(age.gte.11,age.lte.17))",
        tree(
            "or",
            f("age", "eq", "14"),
            tree("and", f("age", "gte", "11"), f("age", "lte", "17"), neg=True),
        ),
    ),
    ("and", "and", "(a.eq.1,b.eq.2)", tree("and", f("a", "eq", "1"), f("b", "eq", "2"))),
    ("py-not-or", "not.or", "(a.eq.1)", tree("or", f("a", "eq", "1"), neg=True)),
    (
        "js-referenced-table",
        "actors.or",
        "(name.eq.x)",
        tree("or", f("name", "eq", "x"), path=("actors",)),
    ),
    (
        "nested-embed-not-and",
        "r.a.not.and",
        "(x.eq.1)",
        tree("and", f("x", "eq", "1"), path=("r", "a"), neg=True),
    ),
    (
        "in-nests",
        "or",
        "(id.in.(1,2),id.eq.3)",
        tree("or", f("id", "in", ("1", "2")), f("id", "eq", "3")),
    ),
    (
        "quoted-value",
        "or",
        '(n.eq."a,b)",n.eq.c)',
        tree("or", f("n", "eq", "a,b)"), f("n", "eq", "c")),
    ),
    (
        "arrays",
        "or",
        "(t.cs.{a,b},n.like(any).{a*,b*})",
        tree("or", f("t", "cs", "{a,b}"), f("n", "like", ("a*", "b*"), mod="any")),
    ),
    (
        "is",
        "or",
        "(a.is.null,b.not.is.true)",
        tree("or", f("a", "is", "null"), f("b", "is", "true", neg=True)),
    ),
    (
        "embed-null-tests",
        "or",
        "(actors.not.is.null,directors.is.null)",
        tree("or", f("actors", "is", "null", neg=True), f("directors", "is", "null")),
    ),
    (
        "json-paths",
        "or",
        "(d->>k.eq.x,d->0.eq.1)",
        tree("or", f("d", "eq", "x", json=(t("k"),)), f("d", "eq", "1", json=(j(0),))),
    ),
    (
        "spaces-kept-in-values",
        "or",
        "( a.eq.1 , b.eq.2 )",
        tree("or", f("a", "eq", "1 "), f("b", "eq", "2 ")),
    ),
    (
        "fts",
        "or",
        "(t.fts(english).cat,t.wfts.dog)",
        tree("or", f("t", "fts", "cat", config="english"), f("t", "wfts", "dog")),
    ),
    (
        "deep",
        "and",
        "(or(a.eq.1,and(b.eq.2,or(c.eq.3))),e.eq.)",
        tree(
            "and",
            tree(
                "or",
                f("a", "eq", "1"),
                tree("and", f("b", "eq", "2"), tree("or", f("c", "eq", "3"))),
            ),
            f("e", "eq", ""),
        ),
    ),
]


@cases("key,value,expected", LOGIC_TREES)
def test_logic_tree(key: str, value: str, expected: LogicTree) -> None:
    assert parse_logic_tree(key, value) == expected


LOGIC_ERRORS = [
    ("empty", "or", "()", 4),
    ("in-without-parens", "or", "(id.in.1,2,id.eq.3)", 10),
    ("ord", "and", "(ord(id.eq.1,id.eq.1),id.eq.2)", 8),
    ("xor", "or", "(id.eq.1,not.xor(id.eq.2,id.eq.3))", 16),
    ("unclosed", "or", "(a.eq.1", 10),
    ("trailing", "or", "(a.eq.1)x", 11),
    ("no-parens", "or", "a.eq.1", 3),
    ("bad-is", "not.or", "(a.is.nul)", 13),
]


@cases("key,value,column", LOGIC_ERRORS)
def test_logic_tree_errors(key: str, value: str, column: int) -> None:
    fails_at(lambda: parse_logic_tree(key, value), "logic tree", value, column)


def test_logic_path_errors() -> None:
    fails_at(lambda: parse_logic_tree('"or', "(a.eq.1)"), "logic path", '"or', 4)
    fails_at(lambda: parse_logic_tree("x", "(a.eq.1)"), "logic path", "x", 2)


# --- order (§5) ----------------------------------------------------------------------------

ORDERS = [
    ("desc-nullsfirst", "name.desc.nullsfirst", (term("name", descending=True, nulls="first"),)),
    ("js-appended", "a.asc,b.desc", (term("a"), term("b", descending=True))),
    ("json", "json_col->key.asc.nullslast", (term("json_col", j("key"), nulls="last"),)),
    ("embed-term", "clients(c->k).desc", (term("c", j("k"), embed="clients", descending=True),)),
    ("mixed", "name,clients(name),id", (term("name"), term("name", embed="clients"), term("id"))),
    ("nulls-only", "id.nullslast", (term("id", nulls="last"),)),
    ("quoted", '"my col".desc, x', (term("my col", descending=True), term("x"))),
]


@cases("value,expected", ORDERS)
def test_order(value: str, expected: tuple[OrderTerm, ...]) -> None:
    assert parse_order(value) == expected
    assert parse_order(value, path=("a",))[0].path == ("a",)


ORDER_ERRORS = [
    ("two-embed-columns", "clients(name,id)", 13),
    ("ac", "id.ac", 4),
    ("descc", "id.descc", 8),
    ("nulsfist", "id.nulsfist", 4),
    ("nullslasttt", "id.nullslasttt", 13),
    ("asc-nlsfst", "id.asc.nlsfst", 8),
    ("asc-nullslasttt", "id.asc.nullslasttt", 17),
    ("nulls-before-direction", "id.nullsfirst.desc", 14),
    ("empty", "", 1),
    ("trailing-comma", "a,", 3),
]


@cases("value,column", ORDER_ERRORS)
def test_order_errors(value: str, column: int) -> None:
    fails_at(lambda: parse_order(value), "order", value, column)


# --- parse_request (§2, §6, §7, §8) --------------------------------------------------------


def test_request_with_embeds_as_the_clients_send_it() -> None:
    params = [
        ("select", "title,actors(first_name),roles(character,actors(*))"),
        ("roles.actors.first_name", "eq.Tom"),
        ("actors.order", "first_name.desc.nullslast"),
        ("actors.limit", "2"),
        ("actors.offset", "1"),
        ("actors.or", "(first_name.eq.A,first_name.eq.B)"),
        ("year", "gt.2000"),
        ("order", "title.asc"),
        ("offset", "0"),
        ("limit", "10"),
        ("noise", None),
    ]
    request = parse_request(params, method="get", prefer=["count=exact"])
    assert request.method == "GET"
    tom = f("first_name", "eq", "Tom", ("roles", "actors"))
    assert request.conditions_at(("roles", "actors")) == (tom,)
    assert request.conditions_at() == (f("year", "gt", "2000"),)
    (actors_tree,) = request.conditions_at(("actors",))
    assert isinstance(actors_tree, LogicTree) and actors_tree.path == ("actors",)
    assert request.filters == (tom, f("year", "gt", "2000"))
    assert request.logic_trees == (actors_tree,)
    expected_order = term("first_name", path=("actors",), descending=True, nulls="last")
    assert request.order_at(("actors",)) == (expected_order,)
    assert request.order_at() == (term("title"),)
    assert request.paging_at(("actors",)) == Paging(("actors",), 2, 1)
    assert request.paging_at() == Paging((), 10, 0)
    assert request.paging_at(("nope",)) == Paging(("nope",))
    assert request.embed_paths == (("actors",), ("roles", "actors"))
    assert request.conditions_by_path() == {
        ("roles", "actors"): (tom,),
        ("actors",): (actors_tree,),
        (): (f("year", "gt", "2000"),),
    }
    assert request.preferences.count == "exact"
    assert request.representation == Negotiated(Representation.JSON)


def test_request_defaults() -> None:
    assert parse_request([], method="GET") == ApiRequest(method="GET")
    assert ApiRequest(method="GET").select == (STAR,)


Check = Callable[[ApiRequest], bool]
PARAMETERS: list[tuple[str, list[tuple[str, str]], Check]] = [
    ("first-select-wins", [("select", "a"), ("select", "b")], lambda r: r.select == (col("a"),)),
    ("first-order-wins", [("order", "a"), ("order", "b.desc")], lambda r: r.order == (term("a"),)),
    ("last-limit-wins", [("limit", "5"), ("limit", "7")], lambda r: r.paging_at().limit == 7),
    ("non-integer-ignored", [("limit", "5"), ("limit", "x")], lambda r: not r.paging_at().limit),
    (
        "spaces-around-ints",
        [("limit", " 3 "), ("offset", "1.5")],
        lambda r: r.paging == (Paging((), 3),),
    ),
    ("limit-zero", [("limit", "0")], lambda r: r.paging_at().limit == 0),
    ("negative-offset-ignored", [("offset", "-4")], lambda r: r.paging_at().offset is None),
    ("huge-limit-clamped", [("limit", "9" * 30)], lambda r: r.paging_at().limit == 2**63 - 1),
    ("last-segment-or", [("a.b.or", "(c.eq.1)")], lambda r: r.logic_trees[0].path == ("a", "b")),
    ("select-is-root-only", [("x.select", "eq.1")], lambda r: r.filters[0].path == ("x",)),
    ("columns-quoted", [("columns", '"k1","k2","k1"')], lambda r: r.columns == ("k1", "k2")),
    ("on-conflict", [("on_conflict", "a, b")], lambda r: r.on_conflict == ("a", "b")),
    ("repeated-keys-anded", [("id", "gt.1"), ("id", "lt.3")], lambda r: len(r.filters) == 2),
    ("empty-select", [("select", "")], lambda r: r.select == ()),
    ("plus-kept", [("a", "eq.1+1")], lambda r: r.filters[0].value == "1+1"),
]


@cases("params,check", PARAMETERS)
def test_request_parameters(params: list[tuple[str, str]], check: Check) -> None:
    assert check(parse_request(params, method="GET"))


def test_conditions_keep_query_order() -> None:
    params = [("id", "eq.1"), ("or", "(a.eq.1)"), ("b", "eq.2")]
    kinds = [type(c) for c in parse_request(params, method="GET").conditions]
    assert kinds == [Filter, LogicTree, Filter]


def test_rpc_reads_keep_non_filters_as_arguments() -> None:
    params = [("name", "world"), ("id", "eq.5"), ("arr", "{1,2}"), ("v", "1"), ("v", "2")]
    request = parse_request(params, method="GET", rpc=True)
    assert request.filters == (f("id", "eq", "5"),)
    assert request.rpc_args == (("name", "world"), ("arr", "{1,2}"), ("v", "1"), ("v", "2"))
    assert parse_request(params, method="HEAD", rpc=True).rpc_args == request.rpc_args
    fails_at(lambda: parse_request(params, method="POST", rpc=True), "filter", "world", 1)


REQUEST_ERRORS = [
    ("not-an-operator", [("name", "world")], "filter", "world", 1),
    ("empty-key", [("", "eq.1")], "tree path", "", 1),
    ("order-key", [("a->b.order", "x")], "tree path", "a->b.order", 2),
    ("limit-key", [("x.limit=", "1")], "tree path", "x.limit=", 8),
    ("columns", [("columns", "")], "columns parameter", "", 1),
    ("on-conflict", [("on_conflict", "a,")], "on_conflict parameter", "a,", 3),
    ("empty-order", [("order", "")], "order", "", 1),
    ("empty-or", [("or", "")], "logic tree", "", 3),
    ("order-checked-first", [("select", "a("), ("order", "x.y")], "order", "x.y", 3),
]


@cases("params,label,source,column", REQUEST_ERRORS)
def test_request_errors(
    params: list[tuple[str, str]], label: str, source: str, column: int
) -> None:
    fails_at(lambda: parse_request(params, method="GET"), label, source, column)


NEGATIVE = "Limit should be greater than or equal to zero."
LOWER_GT_UPPER = (
    "The lower boundary must be lower than or equal to the upper boundary in the Range header."
)
RANGE_ERRORS = [
    ("negative-limit", [("limit", "-1")], None, NEGATIVE),
    ("negative-embed-limit", [("actors.limit", "-2")], None, NEGATIVE),
    ("range-lower-gt-upper", [], "5-1", LOWER_GT_UPPER),
]


@cases("params,range_header,details", RANGE_ERRORS)
def test_range_errors(
    params: list[tuple[str, str]], range_header: str | None, details: str
) -> None:
    with pytest.raises(RangeNotSatisfiableError) as info:
        parse_request(params, method="GET", range_header=range_header)
    assert info.value.status == 416
    assert info.value.to_dict() == {
        "code": "PGRST103",
        "message": "Requested range not satisfiable",
        "details": details,
        "hint": None,
    }


# --- Range (§6) ----------------------------------------------------------------------------

MALFORMED_RANGES = ("a-b", "-5", "1-2-3", "", "items=0-9", "1 - 2", "\u0661-\u0662")
RANGES = [
    ("closed", "0-9", (0, 9)),
    ("open", "5-", (5, None)),
    ("single", "0-0", (0, 0)),
    ("spaces", " 1-2 ", (1, 2)),
    ("absent", None, None),
    *((f"malformed-{h!r}", h, None) for h in MALFORMED_RANGES),
]


@cases("header,expected", RANGES)
def test_range(header: str | None, expected: tuple[int, int | None] | None) -> None:
    assert parse_range(header) == expected


def test_range_header_is_honoured_on_get_only() -> None:
    assert parse_request([], method="GET", range_header="0-4").range == (0, 4)
    assert parse_request([], method="HEAD", range_header="0-4").range is None
    assert parse_request([], method="PATCH", range_header="5-1").range is None


# --- Prefer (§6, §8) -----------------------------------------------------------------------

DOCTEST = (
    "count=exact,    tx=commit   ,return=representation , missing=default, handling=strict, "
    "anything"
)
PREFERS = [
    ("js-join", ["return=representation, count=exact"], "return=representation count=exact", ""),
    ("py-join", ["count=exact,return=representation"], "return=representation count=exact", ""),
    (
        "first-header-wins",
        ["resolution=ignore-duplicates", "resolution=merge-duplicates"],
        "resolution=ignore-duplicates",
        "",
    ),
    ("first-item-wins", ["tx=commit, tx=rollback"], "tx=commit", ""),
    ("unknown-collected", ["handling=lenient, foo, bar"], "handling=lenient", "foo|bar"),
    ("invalid-value", ["return=all,return=minimal"], "return=minimal", "return=all"),
    ("js-max-affected", ["handling=strict,max-affected=5"], "handling=strict max-affected=5", ""),
    ("bad-max-affected", ["max-affected=x, max-affected=-1"], "", "max-affected=x|max-affected=-1"),
    ("timezone", ["timezone=Europe/Paris, timezone="], "timezone=Europe/Paris", "timezone="),
    ("missing", ["missing=default", "missing=null"], "missing=default", ""),
    ("count", ["count=planned", "count=estimated"], "count=planned", ""),
    ("empty-items-skipped", ["return=headers-only,, ,"], "return=headers-only", ""),
    (
        "postgrest-doctest",
        [DOCTEST],
        "missing=default return=representation count=exact tx=commit handling=strict",
        "anything",
    ),
    ("exact-spelling", ["Count=exact", "count = exact"], "", "Count=exact|count = exact"),
    ("none", [], "", ""),
]


@cases("headers,recognised,invalid", PREFERS)
def test_prefer(headers: list[str], recognised: str, invalid: str) -> None:
    prefs = parse_prefer(headers)
    assert prefs.recognised == tuple(recognised.split())
    assert prefs.invalid == tuple(invalid.split("|") if invalid else ())


def test_prefer_fields() -> None:
    prefs = parse_prefer([DOCTEST, "resolution=merge-duplicates,max-affected=07,timezone=UTC"])
    assert prefs == Preferences(
        returning="representation", count="exact", resolution="merge-duplicates",
        missing="default", handling="strict", tx="commit", max_affected=7, timezone="UTC",
        invalid=("anything",),
    )  # fmt: skip


def test_prefer_recognised_and_applied() -> None:
    prefs = parse_prefer(
        ["tx=rollback, return=minimal, max-affected=3", "timezone=UTC,count=exact,missing=null"]
    )
    assert prefs.recognised == (
        "missing=null", "return=minimal", "count=exact", "tx=rollback", "timezone=UTC",
        "max-affected=3",
    )  # fmt: skip
    assert prefs.preference_applied() == "missing=null, return=minimal, count=exact, timezone=UTC"
    strict = parse_prefer(["handling=strict, tx=commit, max-affected=3"])
    assert strict.strict
    applied = strict.preference_applied(tx_allowed=True)
    assert applied == "tx=commit, handling=strict, max-affected=3"
    assert Preferences().preference_applied() is None


def test_prefer_timezones_are_checked_when_known() -> None:
    prefs = parse_prefer(["timezone=Mars/Base, timezone=UTC"], timezones={"UTC"})
    assert (prefs.timezone, prefs.invalid) == ("UTC", ("timezone=Mars/Base",))


def test_strict_handling_refuses_invalid_preferences() -> None:
    with pytest.raises(InvalidPreferencesError) as info:
        parse_request([], method="GET", prefer=["handling=strict, foo", "bar"])
    assert info.value.to_dict() == {
        "code": "PGRST122",
        "message": "Invalid preferences given with handling=strict",
        "details": "Invalid preferences: foo, bar",
        "hint": None,
    }
    assert info.value.invalid == ("foo", "bar")
    lenient = parse_request([], method="GET", prefer=["foo", "handling=lenient,handling=strict"])
    assert lenient.preferences.invalid == ("foo",)
    strict = parse_request([], method="PATCH", prefer=["handling=strict,max-affected=1"])
    assert strict.preferences.max_affected == 1


# --- Accept (§9, §10) ----------------------------------------------------------------------

JSON = Negotiated(Representation.JSON)
OBJECT = Negotiated(Representation.OBJECT)
CSV = Negotiated(Representation.CSV)
OBJECT_STRIPPED = "application/vnd.pgrst.object+json;nulls=stripped"
ARRAY_STRIPPED = "application/vnd.pgrst.array+json;nulls=stripped"
ACCEPTS = [
    ("absent", None, JSON),
    ("blank", " ", JSON),
    ("any", "*/*", JSON),
    ("json", "application/json", JSON),
    ("json-case-params", "Application/JSON; charset=utf-8", JSON),
    ("object", "application/vnd.pgrst.object+json", OBJECT),
    ("object-short", "application/vnd.pgrst.object", OBJECT),
    ("object-stripped", OBJECT_STRIPPED, Negotiated(Representation.OBJECT, True)),
    ("array-stripped", ARRAY_STRIPPED, Negotiated(Representation.JSON, True)),
    ("array", "application/vnd.pgrst.array+json", JSON),
    ("json-ignores-nulls", "application/json;nulls=stripped", JSON),
    ("csv", "text/csv", CSV),
    ("header-order", "text/csv, application/json", CSV),
    ("q-wins", "application/json;q=0.5, text/csv", CSV),
    ("q-order", "text/csv;q=0.1, application/json;q=0.9", JSON),
    ("browser", "text/html,application/xhtml+xml,*/*;q=0.8", JSON),
    ("q-zero-refused", "text/csv;q=0, application/json", JSON),
    ("bad-q-ignored", "text/csv;q=bogus", CSV),
]


@cases("header,expected", ACCEPTS)
def test_accept(header: str | None, expected: Negotiated) -> None:
    assert negotiate_accept(header) == expected
    assert parse_request([], method="GET", accept=header).representation == expected


def test_media_types() -> None:
    assert JSON.content_type == "application/json; charset=utf-8"
    assert Negotiated(Representation.OBJECT, True).media_type == OBJECT_STRIPPED
    assert Negotiated(Representation.JSON, True).media_type == ARRAY_STRIPPED
    assert CSV.media_type == "text/csv"


PLAN = 'application/vnd.pgrst.plan+text; for="application/json"; options=analyze;'
ACCEPT_ERRORS = [
    ("html", "text/html", "text/html"),
    ("js-geojson", "application/geo+json", "application/geo+json"),
    ("js-explain", PLAN, "application/vnd.pgrst.plan+text"),
    ("several", "text/plain, image/png", "text/plain, image/png"),
    ("all-refused", "text/csv;q=0", "text/csv"),
]


@cases("header,requested", ACCEPT_ERRORS)
def test_accept_errors(header: str, requested: str) -> None:
    with pytest.raises(NotAcceptableError) as info:
        negotiate_accept(header)
    error = info.value
    assert (error.code, error.status, error.details, error.hint) == ("PGRST107", 406, None, None)
    assert error.message == f"None of these media types are available: {requested}"
    assert "application/json" in error.available
    assert isinstance(error, ValueError)


def test_column_list() -> None:
    assert parse_column_list('"a,b", c ,d') == ("a,b", "c", "d")
    fails_at(lambda: parse_column_list("a b,", label="x"), "x", "a b,", 5)


# --- properties ----------------------------------------------------------------------------

GRAMMAR = st.sampled_from(list('abnot.,()!:*"\\-> {}=0_\t$[]'))
TEXT = st.text(alphabet=st.one_of(GRAMMAR, st.characters()), max_size=30)
KEY_WORDS = [
    "select",
    "order",
    "or",
    "not.and",
    "a.limit",
    "offset",
    "id",
    "columns",
    "on_conflict",
]
KEYS = st.one_of(st.sampled_from([*KEY_WORDS, "a.b.c", "data->x", "x.order"]), TEXT)
CODES = {"PGRST100", "PGRST103", "PGRST107", "PGRST122", "22P02"}


@settings(max_examples=300)
@given(
    params=st.lists(st.tuples(KEYS, st.one_of(st.none(), TEXT)), max_size=4),
    prefer=st.lists(TEXT, max_size=2),
    range_header=st.one_of(st.none(), TEXT),
    accept=st.one_of(st.none(), TEXT),
    method=st.sampled_from(["GET", "HEAD", "POST", "PATCH", "DELETE"]),
    rpc=st.booleans(),
)
def test_parse_request_raises_only_its_own_errors(
    params: list[tuple[str, str | None]],
    prefer: list[str],
    range_header: str | None,
    accept: str | None,
    method: str,
    rpc: bool,
) -> None:
    outcome: ApiRequest | PostgrestSyntaxError
    try:
        outcome = parse_request(
            params, method=method, prefer=prefer, range_header=range_header, accept=accept, rpc=rpc
        )
    except PostgrestSyntaxError as exc:
        outcome = exc
    assert isinstance(outcome, ApiRequest) or (outcome.code in CODES and outcome.message)


@given(value=st.text())
def test_filter_value_is_verbatim(value: str) -> None:
    assert parse_filter("c", "eq." + value).value == value
    assert parse_filter("c", "fts(english)." + value).value == value
