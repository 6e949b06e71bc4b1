"""Parse rule-language text into the syntax tree of :mod:`apprun.lib.rules.ast`.

Lark (LALR, contextual lexer) turns the text into a parse tree; ``_expr`` turns that into
the AST and reports what the grammar deliberately lets through, so those errors can say
more than "unexpected token": a bare field used as a condition, chained comparisons, an
unknown ``@macro``, a bad string escape or an index ``[N]`` that is not a non-negative
integer.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Final

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from apprun.lib.rules.ast import (
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
    to_text,
)

MAX_LENGTH: Final = 4096
"""The longest rule text, in characters."""

MAX_DEPTH: Final = 32
"""How deeply parentheses and ``!`` may nest."""

MACROS: Final = ("@auth", "@request", "@now", "@path")

# Comparisons match at most once: "a = b = c" then fails inside lark, where
# ``_chained_or_grouped`` gives it a clearer message. COMP_OP is one regex whose
# alternatives run longest first, so "?!=" never lexes as "?!" followed by "=". An index
# takes any NUMBER, so that ``_part`` can say why `[-1]` or `[1.5]` is not one.
_GRAMMAR: Final = r"""
?start: or_expr
?or_expr: and_expr (_OR and_expr)*
?and_expr: unary (_AND unary)*
?unary: NOT unary -> negation
      | LPAR or_expr _RPAR -> group
      | comparison
comparison: operand (COMP_OP operand)?
?operand: literal | path | macro | call
?literal: STRING | NUMBER | TRUE | FALSE | NULL
path: NAME (_DOT NAME | _index)*
macro: MACRO (_DOT NAME _index*)*
_index: _LSQB NUMBER _RSQB
call: NAME LPAR (literal (_COMMA literal)*)? _RPAR

COMP_OP: /\?(?:!=|!~|>=|<=|=|>|<|~)|!=|!~|>=|<=|=|>|<|~/
NOT: "!"
LPAR: "("
_RPAR: ")"
_AND: "&&"
_OR: "||"
_DOT: "."
_LSQB: "["
_RSQB: "]"
_COMMA: ","
TRUE: "true"
FALSE: "false"
NULL: "null"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
MACRO: /@[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /-?[0-9]+(?:\.[0-9]+)?/
STRING: /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/s
%ignore /\s+/
"""

_ESCAPES: Final = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}
_EXAMPLES: Final = {
    "@auth": "@auth.id",
    "@request": "@request.method",
    "@path": "@path.segments[0]",
}
_REFS: Final[dict[str, Callable[[tuple[str, ...]], Operand]]] = {
    "@auth": AuthRef,
    "@request": RequestRef,
    "@path": PathRef,
}
_HINTS: Final = {"and": "&&", "or": "||"}
_INDEX: Final = "an index (a non-negative integer, e.g. `[0]`)"
_VALUE_TERMINALS: Final = frozenset({"STRING", "NUMBER", "TRUE", "FALSE", "NULL", "NAME"})
_PUNCTUATION: Final = (
    ("_AND", "`&&`"),
    ("_OR", "`||`"),
    ("_COMMA", "`,`"),
    ("_RPAR", "`)`"),
    ("_RSQB", "`]`"),
    ("$END", "the end of the rule"),
)


class RuleSyntaxError(ValueError):
    """A rule that does not parse; ``position`` is a 0-based character offset, or None."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message, position)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        if self.position is None:
            return self.message
        return f"{self.message} at column {self.position + 1}"


@functools.cache
def _lark() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)


@functools.lru_cache(maxsize=1024)
def parse_rule(text: str) -> Expr:
    """Parse rule text such as ``owner = @auth.id || published = true`` into its AST.

    Raises :class:`RuleSyntaxError`, and no other exception, for any text that is not a
    rule, including empty text, text over ``MAX_LENGTH`` characters and nesting of
    parentheses and ``!`` deeper than ``MAX_DEPTH``.
    """
    if len(text) > MAX_LENGTH:
        raise RuleSyntaxError(
            f"the rule is too long ({len(text)} characters, at most {MAX_LENGTH})", MAX_LENGTH
        )
    if not text.strip():
        raise RuleSyntaxError("the rule is empty; expected a condition", 0)
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(error, text) from None
    except LarkError:
        raise RuleSyntaxError("the rule could not be parsed", None) from None
    try:
        return _expr(tree, 0)
    except RecursionError:
        raise RuleSyntaxError(f"nesting is deeper than {MAX_DEPTH} levels", None) from None


def _expr(node: Tree[Token] | Token, depth: int) -> Expr:
    """Turn lark's parse tree into the AST, raising what the grammar lets through."""
    tree = _tree(node)
    if tree.data == "or_expr":
        return Or(tuple(_expr(child, depth) for child in tree.children))
    if tree.data == "and_expr":
        return And(tuple(_expr(child, depth) for child in tree.children))
    if tree.data in ("negation", "group"):
        if depth >= MAX_DEPTH:
            raise RuleSyntaxError(
                f"nesting is deeper than {MAX_DEPTH} levels of `(` and `!`", _start(tree)
            )
        inner = _expr(tree.children[1], depth + 1)
        return Not(inner) if tree.data == "negation" else inner
    return _comparison(tree)


def _comparison(tree: Tree[Token]) -> Expr:
    left = _operand(tree.children[0])
    if len(tree.children) == 1:
        return _condition(left, _start(tree))
    op = str(_token(tree.children[1]))
    right = _operand(tree.children[2])
    return Compare(op.removeprefix("?"), left, right, any_of=op.startswith("?"))


def _operand(node: Tree[Token] | Token) -> Operand:
    if isinstance(node, Token):
        return _literal(node)
    if node.data == "path":
        return Field(tuple(_part(_token(child)) for child in node.children))
    if node.data == "macro":
        names = tuple(_part(_token(child)) for child in node.children[1:])
        return _macro(_token(node.children[0]), names)
    args = tuple(_literal(_token(child)) for child in node.children[2:])
    return Call(str(node.children[0]), args)


def _part(token: Token) -> str:
    """A name of a path, or an index ``[N]`` as N's decimal digits."""
    if token.type != "NUMBER":
        return str(token)
    if not token.isdigit():
        raise RuleSyntaxError(f"expected {_INDEX}, got `{_shorten(token)}`", token.start_pos)
    return str(int(token))


def _tree(node: Tree[Token] | Token) -> Tree[Token]:
    if isinstance(node, Tree):
        return node
    raise RuleSyntaxError(f"unexpected `{node}`", node.start_pos)


def _token(node: Tree[Token] | Token) -> Token:
    if isinstance(node, Token):
        return node
    raise RuleSyntaxError("unexpected expression", _start(node))


def _start(node: Tree[Token] | Token) -> int | None:
    while isinstance(node, Tree):
        node = node.children[0]
    return node.start_pos


def _condition(operand: Operand, position: int | None) -> Expr:
    """Accept a bare operand as a condition when it is one: a call, ``true`` or ``false``."""
    if isinstance(operand, Call) or (
        isinstance(operand, Literal) and isinstance(operand.value, bool)
    ):
        return operand
    shown = to_text(operand)
    if isinstance(operand, Literal):
        message = f"`{shown}` is not a condition; compare a field with it, e.g. `name = {shown}`"
    elif isinstance(operand, Now):
        message = "compare `@now` with a field, for example `created_at < @now`"
    else:
        message = f"compare `{shown}` with a value, for example `{shown} = true`"
    raise RuleSyntaxError(message, position)


def _literal(token: Token) -> Literal:
    if token.type == "STRING":
        return Literal(_unescape(token))
    if token.type == "NUMBER":
        return Literal(_number(token))
    return Literal({"TRUE": True, "FALSE": False, "NULL": None}[token.type])


def _number(token: Token) -> int | float:
    try:
        value: int | float = float(token) if "." in token else int(token)
    except ValueError:
        value = math.inf
    if not math.isfinite(value):
        raise RuleSyntaxError(f"the number `{_shorten(token)}` is out of range", token.start_pos)
    return value


def _unescape(token: Token) -> str:
    start = (token.start_pos or 0) + 1

    def replace(match: re.Match[str]) -> str:
        if match[1] in _ESCAPES:
            return _ESCAPES[match[1]]
        raise RuleSyntaxError(
            f"unknown escape `\\{match[1]}` in a string; "
            "use \\\", \\', \\\\, \\n or \\t, or write the character itself",
            start + match.start(),
        )

    return re.sub(r"\\(.)", replace, token[1:-1], flags=re.DOTALL)


def _macro(token: Token, path: tuple[str, ...]) -> Operand:
    name = str(token)
    if name == "@now":
        if path:
            raise RuleSyntaxError("`@now` has no fields", token.start_pos)
        return Now()
    if name in _EXAMPLES:
        if not path:
            raise RuleSyntaxError(
                f"`{name}` needs a field, for example `{_EXAMPLES[name]}`", token.start_pos
            )
        return _REFS[name](path)
    raise RuleSyntaxError(
        f"unknown macro `{name}`; expected {_either(MACROS, '`')}", token.start_pos
    )


def _either(words: tuple[str, ...] | list[str], quote: str = "") -> str:
    quoted = [f"{quote}{word}{quote}" for word in words]
    if len(quoted) <= 1:
        return "".join(quoted)
    return f"{', '.join(quoted[:-1])} or {quoted[-1]}"


def _describe(accepts: set[str]) -> str:
    """Say in words what the parser would have accepted."""
    if "NOT" in accepts:
        return "a condition"
    if accepts == {"NUMBER"}:
        return _INDEX
    words = []
    if "NAME" in accepts and "STRING" in accepts:
        words.append("a value")
    elif "STRING" in accepts:
        words.append("a literal (a string, a number, true, false or null)")
    elif "NAME" in accepts:
        words.append("a name")
    if "COMP_OP" in accepts:
        words.append("a comparison operator")
    words.extend(word for name, word in _PUNCTUATION if name in accepts)
    return _either(words) or "something else"


def _accepts(error: UnexpectedInput) -> set[str]:
    # Lark's own `expected` comes from a merged LALR state and over-promises (it offers `)`
    # with no `(` open); the interactive parser replays each terminal and is exact.
    try:
        parser = error.interactive_parser
        # lark leaves accepts() unannotated; it returns a set of terminal names.
        return set(parser.accepts()) if parser is not None else set()  # type: ignore[no-untyped-call]
    except LarkError:
        return set()


def _syntax_error(error: UnexpectedInput, text: str) -> RuleSyntaxError:
    accepts = _accepts(error)
    if isinstance(error, UnexpectedCharacters):
        return _bad_character(text, error.pos_in_stream, accepts)
    if isinstance(error, UnexpectedToken):
        if error.token.type == "$END":
            return RuleSyntaxError(f"expected {_describe(accepts)}", len(text.rstrip()))
        return _bad_token(error, text, accepts)
    return RuleSyntaxError("the rule could not be parsed", getattr(error, "pos_in_stream", None))


def _bad_character(text: str, position: int | None, accepts: set[str]) -> RuleSyntaxError:
    char = text[position] if position is not None and 0 <= position < len(text) else ""
    if char in ('"', "'"):
        message = f"unterminated string; expected a closing {char}"
    elif char == "@":
        message = f"expected a macro name after `@`: {_either(MACROS)}"
    elif char in ("&", "|"):
        message = f"expected `{char * 2}`, got a single `{char}`"
    else:
        shown = f"`{char}`" if char.isprintable() and not char.isspace() else repr(char)
        message = f"unexpected character {shown}; expected {_describe(accepts)}"
    return RuleSyntaxError(message, position)


def _bad_token(error: UnexpectedToken, text: str, accepts: set[str]) -> RuleSyntaxError:
    token: Token = error.token
    word = str(token)
    position = token.start_pos
    if token.type == "COMP_OP" and _doubled_equals(text, position):
        message = "use `=` to compare, not `==`"
    elif token.type == "NAME" and word.lower() in _HINTS:
        message = f"use `{_HINTS[word.lower()]}` instead of `{word}`"
    elif token.type == "COMP_OP" and not accepts & (_VALUE_TERMINALS | {"COMP_OP", "_RSQB"}):
        message = _chained_or_grouped(error, word)
    elif token.type == "_RPAR" and "$END" in accepts:
        message = "unmatched `)`"
    else:
        message = f"expected {_describe(accepts)}, got `{_shorten(word)}`"
    return RuleSyntaxError(message, position)


def _shorten(word: str) -> str:
    return word if len(word) <= 24 else f"{word[:21]}..."


def _doubled_equals(text: str, position: int | None) -> bool:
    """Whether the unexpected operator at ``position`` is the second half of ``==``."""
    if not position:
        return False
    return text[position] == "=" and re.search(r"(?:^|[^!<>?~=])=\Z", text[:position]) is not None


def _chained_or_grouped(error: UnexpectedToken, op: str) -> str:
    """Explain a comparison operator that follows a finished comparison or a `( … )`."""
    stack = error.interactive_parser.parser_state.value_stack if error.interactive_parser else []
    # The parser stops before reducing, so a group leaves its closing `)` token on top.
    if stack and isinstance(stack[-1], Token) and stack[-1].type == "_RPAR":
        return f"`{op}` cannot compare a condition in parentheses; compare values instead"
    return f"comparisons cannot be chained (`{op}` follows a comparison); join them with `&&`"
