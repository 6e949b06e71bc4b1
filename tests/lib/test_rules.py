"""lib.rules: parsing the access-rule language, its errors, and re-rendering it."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from apprun.lib.rules import (
    COMPARISON_OPERATORS,
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    AuthRef,
    Call,
    Compare,
    Expr,
    Field,
    Literal,
    Not,
    Now,
    Operand,
    Or,
    PathRef,
    RequestRef,
    RuleSyntaxError,
    calls,
    fields,
    is_index,
    parse_rule,
    path_text,
    to_text,
    walk,
)


def f(*path: str) -> Field:
    return Field(path)


def eq(left: Operand, right: Operand, *, any_of: bool = False) -> Compare:
    return Compare("=", left, right, any_of)


EXAMPLES: list[tuple[str, Expr]] = [
    (
        "published = true || owner = @auth.id",
        Or((eq(f("published"), Literal(True)), eq(f("owner"), AuthRef(("id",))))),
    ),
    (
        'owner = @auth.id && (published = true || @auth.roles ?= "editor")',
        And(
            (
                eq(f("owner"), AuthRef(("id",))),
                Or(
                    (
                        eq(f("published"), Literal(True)),
                        eq(AuthRef(("roles",)), Literal("editor"), any_of=True),
                    )
                ),
            )
        ),
    ),
    ('category.name = "news"', eq(f("category", "name"), Literal("news"))),
    ('title ~ "hello%"', Compare("~", f("title"), Literal("hello%"), any_of=False)),
    ("title !~ 'spam'", Compare("!~", f("title"), Literal("spam"), any_of=False)),
    (
        "views >= 10 && views < 1000.5 && score != -3",
        And(
            (
                Compare(">=", f("views"), Literal(10), any_of=False),
                Compare("<", f("views"), Literal(1000.5), any_of=False),
                Compare("!=", f("score"), Literal(-3), any_of=False),
            )
        ),
    ),
    (
        '@request.method = "POST" && @request.body.owner = @auth.id',
        And(
            (
                eq(RequestRef(("method",)), Literal("POST")),
                eq(RequestRef(("body", "owner")), AuthRef(("id",))),
            )
        ),
    ),
    ("created_at > @now", Compare(">", f("created_at"), Now(), any_of=False)),
    ("deleted_at = null", eq(f("deleted_at"), Literal(None))),
    (
        'has_role("editor") || has_perm("rest:posts:update")',
        Or(
            (
                Call("has_role", (Literal("editor"),)),
                Call("has_perm", (Literal("rest:posts:update"),)),
            )
        ),
    ),
    ('!(status = "draft")', Not(eq(f("status"), Literal("draft")))),
    ('!has_role("banned")', Not(Call("has_role", (Literal("banned"),)))),
    ("@auth.claims.org_id = org_id", eq(AuthRef(("claims", "org_id")), f("org_id"))),
    ('@auth.aal = "aal2"', eq(AuthRef(("aal",)), Literal("aal2"))),
    (
        '@auth.email ~ "%@example.com"',
        Compare("~", AuthRef(("email",)), Literal("%@example.com"), any_of=False),
    ),
    ('tags ?= "news"', eq(f("tags"), Literal("news"), any_of=True)),
    ("@path.segments[0] = @auth.id", eq(PathRef(("segments", "0")), AuthRef(("id",)))),
    ("a.b[0] = 1", eq(f("a", "b", "0"), Literal(1))),
    ("a[1][20].c = 1", eq(f("a", "1", "20", "c"), Literal(1))),
    ('@request.body.tags[2] = "x"', eq(RequestRef(("body", "tags", "2")), Literal("x"))),
    ("@auth.claims.groups[0] = g", eq(AuthRef(("claims", "groups", "0")), f("g"))),
    ('@path.name ~ "x"', Compare("~", PathRef(("name",)), Literal("x"), any_of=False)),
]

A1, B2, C3 = eq(f("a"), Literal(1)), eq(f("b"), Literal(2)), eq(f("c"), Literal(3))

PRECEDENCE: list[tuple[str, Expr]] = [
    ("a = 1 || b = 2 && c = 3", Or((A1, And((B2, C3))))),
    ("a = 1 && b = 2 || c = 3", Or((And((A1, B2)), C3))),
    ("(a = 1 || b = 2) && c = 3", And((Or((A1, B2)), C3))),
    ("a = 1 || b = 2 || c = 3", Or((A1, B2, C3))),
    ("a = 1 && (b = 2 && c = 3)", And((A1, And((B2, C3))))),
    ("!a = 1", Not(A1)),
    ("!a = 1 && b = 2", And((Not(A1), B2))),
    ("!(a = 1 && b = 2)", Not(And((A1, B2)))),
    ("!!a = 1", Not(Not(A1))),
    ("((a = 1))", A1),
    ("true", Literal(True)),
    ("false || f()", Or((Literal(False), Call("f")))),
    ("!true", Not(Literal(True))),
    ("has_role('x') = false", eq(Call("has_role", (Literal("x"),)), Literal(False))),
    ("  a\n=\t1  ", A1),
    ("a=1&&b=2", And((A1, B2))),
    ("published = TRUE", eq(f("published"), f("TRUE"))),
    ("a.true = 1", eq(f("a", "true"), Literal(1))),
    ("f(1, -2.5, null, true, 'x')", Call("f", tuple(map(Literal, (1, -2.5, None, True, "x"))))),
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES + PRECEDENCE)
def test_parses_to_the_expected_tree(text: str, expected: Expr) -> None:
    assert parse_rule(text) == expected


OPERATORS = ["=", "!=", ">", ">=", "<", "<=", "~", "!~"]


@pytest.mark.parametrize("any_of", [False, True])
@pytest.mark.parametrize("op", OPERATORS)
def test_every_comparison_operator(op: str, any_of: bool) -> None:
    text = f"tags {'?' if any_of else ''}{op} 'x'"
    assert parse_rule(text) == Compare(op, f("tags"), Literal("x"), any_of)
    assert parse_rule(text.replace(" ", "")) == parse_rule(text)
    assert set(OPERATORS) == COMPARISON_OPERATORS


@pytest.mark.parametrize(
    ("source", "value"),
    [
        (r'"say \"hi\""', 'say "hi"'),
        (r"'it\'s'", "it's"),
        (r'"back\\slash"', "back\\slash"),
        (r'"a\nb\tc"', "a\nb\tc"),
        (r"'\"'", '"'),
        ("'double \" inside'", 'double " inside'),
        ('"single \' inside"', "single ' inside"),
        ('""', ""),
        ('"ünïcødé ✓"', "ünïcødé ✓"),
    ],
)
def test_string_escapes(source: str, value: str) -> None:
    assert parse_rule(f"x = {source}") == eq(f("x"), Literal(value))


@pytest.mark.parametrize(
    ("source", "value"),
    [("0", 0), ("42", 42), ("-3", -3), ("1000.5", 1000.5), ("-0.25", -0.25), ("7.0", 7.0)],
)
def test_numbers(source: str, value: int | float) -> None:
    parsed = parse_rule(f"x = {source}")
    assert parsed == eq(f("x"), Literal(value))
    assert isinstance(parsed, Compare)
    assert isinstance(parsed.right, Literal)
    assert type(parsed.right.value) is type(value)


def test_literals_of_different_types_are_not_equal() -> None:
    assert Literal(1) != Literal(True)
    assert Literal(1) != Literal(1.0)
    assert Literal(0) != Literal(False)
    assert Literal(None) != Literal(0)
    assert Literal(2) == Literal(2)
    assert len({Literal(1), Literal(True), Literal(1.0)}) == 3


ERRORS: list[tuple[str, int | None, str]] = [
    ('a = "open', 4, "unterminated string"),
    ("title !~ 'spam", 9, "unterminated string"),
    ("published =", 11, "expected a value"),
    ("a = b = c", 6, "cannot be chained"),
    ("a = f() = 2", 8, "cannot be chained"),
    ("(a = 1) = 2", 8, "in parentheses"),
    ("published && x = 1", 0, "compare `published` with a value, for example `published = true`"),
    ("x = 1 && published", 9, "compare `published` with a value"),
    ("!published", 1, "compare `published` with a value"),
    ("@auth.id", 0, "compare `@auth.id` with a value"),
    ("@now", 0, "compare `@now` with a field"),
    ("5", 0, "`5` is not a condition"),
    ("@foo = 1", 0, "unknown macro `@foo`; expected `@auth`, `@request`, `@now` or `@path`"),
    ("owner = @", 8, "@auth, @request, @now or @path"),
    ("@now.x = 1", 0, "`@now` has no fields"),
    ("@auth = 1", 0, "`@auth` needs a field"),
    ("@path = 1", 0, "`@path` needs a field, for example `@path.segments[0]`"),
    ("@path.segments[0]", 0, "compare `@path.segments[0]` with a value"),
    ("a[-1] = 1", 2, "expected an index (a non-negative integer, e.g. `[0]`), got `-1`"),
    ("a.b[1.5] = 1", 4, "expected an index (a non-negative integer, e.g. `[0]`), got `1.5`"),
    ("a[x] = 1", 2, "expected an index (a non-negative integer, e.g. `[0]`), got `x`"),
    ("a['0'] = 1", 2, "expected an index (a non-negative integer, e.g. `[0]`), got `'0'`"),
    ("@path.segments[-0] = 1", 15, "expected an index"),
    ("a[] = 1", 2, "expected an index (a non-negative integer, e.g. `[0]`), got `]`"),
    ("a[", 2, "expected an index"),
    ("a[1 = 2", 4, "expected `]`, got `=`"),
    ("a[1e5] = 1", 3, "expected `]`, got `e5`"),
    ("a = 1[0]", 5, "got `[`"),
    ("@auth[0] = 1", 5, "got `[`"),
    ("@now[0] = 1", 4, "got `[`"),
    ("f(1)[0] = 1", 4, "got `[`"),
    ("a.[0] = 1", 2, "expected a name, got `[`"),
    ("", 0, "the rule is empty"),
    (" \n\t ", 0, "the rule is empty"),
    ("a = 1 b", 6, "expected `&&`, `||` or the end of the rule, got `b`"),
    ("a = 1)", 5, "unmatched `)`"),
    ("(a = 1", 6, "expected `)`"),
    ("((a = 1) ", 8, "expected `)`"),
    ("a = 1 &&", 8, "expected a condition"),
    ("&& a = 1", 0, "expected a condition, got `&&`"),
    ("a = )", 4, "expected a value, got `)`"),
    (r'a = "bad \q"', 9, "unknown escape `\\q`"),
    ("a == 1", 3, "use `=` to compare, not `==`"),
    ("a = 1 and b = 2", 6, "use `&&` instead of `and`"),
    ("a = 1 & b = 2", 6, "expected `&&`"),
    ("f(x)", 2, "expected a literal"),
    ("f(1,)", 4, "expected a literal"),
    ("a = 1.", 5, "got `.`"),
    ("a = 1e5", 5, "got `e5`"),
    ("a = #", 4, "unexpected character `#`"),
    ("a.b(1)", 3, "got `(`"),
    ("x" * (MAX_LENGTH + 1), MAX_LENGTH, "too long"),
    ("(" * (MAX_DEPTH + 1) + "a = 1" + ")" * (MAX_DEPTH + 1), MAX_DEPTH, "deeper than 32"),
    ("!" * (MAX_DEPTH + 1) + "a = 1", MAX_DEPTH, "deeper than 32"),
    ("!(" * (MAX_DEPTH // 2) + "!a = 1" + ")" * (MAX_DEPTH // 2), MAX_DEPTH, "deeper than 32"),
    ("!" * (MAX_LENGTH - 5) + "a = 1", MAX_DEPTH, "deeper than 32"),
    ("(" * MAX_LENGTH, MAX_LENGTH, "expected a condition"),
]


@pytest.mark.parametrize(("text", "position", "message"), ERRORS)
def test_errors_say_what_and_where(text: str, position: int | None, message: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_rule(text)
    assert message in caught.value.message
    assert caught.value.position == position


def test_error_text_gives_a_one_based_column() -> None:
    with pytest.raises(RuleSyntaxError, match=r"^expected a value at column 12$"):
        parse_rule("published =")
    error = RuleSyntaxError("somewhere", None)
    assert isinstance(error, ValueError)
    assert str(error) == "somewhere"


def test_limits_are_inclusive() -> None:
    padded = "a = 1" + " " * (MAX_LENGTH - 5)
    assert parse_rule(padded) == A1
    nested = "(" * MAX_DEPTH + "a = 1" + ")" * MAX_DEPTH
    assert parse_rule(nested) == A1
    negated: Expr = A1
    for _ in range(MAX_DEPTH // 2):
        negated = Not(negated)
    assert parse_rule("!(" * (MAX_DEPTH // 2) + "a = 1" + ")" * (MAX_DEPTH // 2)) == negated


@pytest.mark.parametrize(("text", "expected"), EXAMPLES + PRECEDENCE)
def test_to_text_round_trips(text: str, expected: Expr) -> None:
    rendered = to_text(parse_rule(text))
    assert parse_rule(rendered) == expected
    assert to_text(parse_rule(rendered)) == rendered


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("a=1||b=2&&c=3", "a = 1 || (b = 2 && c = 3)"),
        ("!a=1", "!(a = 1)"),
        ("!  has_role( 'x' ,1)", '!has_role("x", 1)'),
        ("tags?!~'a\\'b'", 'tags ?!~ "a\'b"'),
        ('x = "tab\\there"', 'x = "tab\\there"'),
        ("x > 1e0", None),
        ("a [ 007 ] . b[0]=1", "a[7].b[0] = 1"),
        ("@path.segments[00]!=''", '@path.segments[0] != ""'),
    ],
)
def test_canonical_text(text: str, canonical: str | None) -> None:
    if canonical is None:
        with pytest.raises(RuleSyntaxError):
            parse_rule(text)
    else:
        assert to_text(parse_rule(text)) == canonical


def test_to_text_writes_floats_without_exponents() -> None:
    for value in (1e16, 5e-324, -0.0, 1.5e300, 0.1):
        rule = eq(f("x"), Literal(value))
        assert "e" not in to_text(rule)
        assert parse_rule(to_text(rule)) == rule
    with pytest.raises(ValueError, match="cannot be written"):
        to_text(eq(f("x"), Literal(float("inf"))))


def test_walk_fields_and_calls() -> None:
    rule = parse_rule('owner = @auth.id && (has_role("editor") || !(category.name ?= "news"))')
    nodes = list(walk(rule))
    assert nodes[0] == rule
    assert nodes[1:4] == [eq(f("owner"), AuthRef(("id",))), f("owner"), AuthRef(("id",))]
    assert len(nodes) == 11
    assert fields(rule) == {("owner",), ("category", "name")}
    assert calls(rule) == {"has_role"}
    assert fields(parse_rule("true")) == set()
    assert fields(parse_rule("a[0].b = @path.x[1]")) == {("a", "0", "b")}


def test_paths_render_indexes_in_brackets() -> None:
    assert path_text(("@path", "segments", "0")) == "@path.segments[0]"
    assert path_text(("a", "12", "3", "b")) == "a[12][3].b"
    assert path_text(("a",)) == "a"
    assert is_index("0") and is_index("42")
    assert not is_index("a0") and not is_index("") and not is_index("²")


def test_nodes_are_hashable_and_frozen() -> None:
    rule = parse_rule(EXAMPLES[1][0])
    assert hash(rule) == hash(EXAMPLES[1][1])
    with pytest.raises(AttributeError):
        rule.items = ()  # type: ignore[misc,union-attr]


def test_parse_rule_is_cached() -> None:
    assert parse_rule("cached = 1") is parse_rule("cached = 1")


TOKENS = [
    " ", "a", "b.c", "@auth", "@auth.id", "@request.body", "@now", "@x", "@", "(", ")", "!",
    "&&", "||", "&", "|", "=", "?=", "!=", "?!~", "~", ">", "<=", "1", "-2.5", "-", ".", ",",
    '"s"', "'t'", '"', "'", "\\", "true", "false", "null", "f(", "has_role('x')", "\n", "#",
    "[", "]", "[0]", "[-1]", "[1.5]", "@path", "@path.segments",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text() | st.lists(st.sampled_from(TOKENS), max_size=30).map("".join))
def test_any_text_parses_or_raises_rule_syntax_error(text: str) -> None:
    outcome: Expr | RuleSyntaxError
    try:
        outcome = parse_rule(text)
    except RuleSyntaxError as error:
        outcome = error
    if isinstance(outcome, RuleSyntaxError):
        assert outcome.message
        assert outcome.position is None or 0 <= outcome.position <= len(text)
    else:
        assert isinstance(outcome, Compare | And | Or | Not | Call | Literal)
        assert parse_rule(to_text(outcome)) == outcome


KEYWORDS = {"true", "false", "null"}
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True).filter(
    lambda name: name not in KEYWORDS
)
indexes = st.integers(0, 10**6).map(str)
paths = st.tuples(names, st.lists(names | indexes, max_size=3)).map(
    lambda parts: (parts[0], *parts[1])
)
literals = st.builds(
    Literal,
    st.text(max_size=12)
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none(),
)
function_calls = st.builds(Call, names, st.lists(literals, max_size=3).map(tuple))
operands = (
    literals
    | st.builds(Field, paths)
    | st.builds(AuthRef, paths)
    | st.builds(RequestRef, paths)
    | st.builds(PathRef, paths)
    | st.just(Now())
    | function_calls
)
comparisons = st.builds(
    Compare, st.sampled_from(OPERATORS), operands, operands, any_of=st.booleans()
)
conditions = st.recursive(
    comparisons | function_calls | st.builds(Literal, st.booleans()),
    lambda inner: (
        st.builds(And, st.lists(inner, min_size=2, max_size=4).map(tuple))
        | st.builds(Or, st.lists(inner, min_size=2, max_size=4).map(tuple))
        | st.builds(Not, inner)
    ),
    max_leaves=12,
)


def nesting(expr: Expr) -> int:
    """How many `(` and `!` levels to_text writes around the deepest part of ``expr``."""
    match expr:
        case And(items) | Or(items):
            return max(isinstance(item, And | Or) + nesting(item) for item in items)
        case Not(item):
            return 1 + isinstance(item, Compare | And | Or) + nesting(item)
    return 0


@settings(max_examples=300, deadline=None)
@given(conditions)
def test_generated_trees_round_trip_through_text(expr: Expr) -> None:
    text = to_text(expr)
    assume(len(text) <= MAX_LENGTH and nesting(expr) <= MAX_DEPTH)
    assert parse_rule(text) == expr
