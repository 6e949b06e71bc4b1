"""A cursor over one parameter, and the pieces every PostgREST grammar shares.

Errors imitate Parsec's, which PostgREST shows: the message names what failed and where
(``"failed to parse filter (gt)" (line 1, column 3)``), the details say what came and what
was expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from apprun.lib.postgrest.errors import PostgrestSyntaxError
from apprun.lib.postgrest.nodes import JsonPath, JsonStep

MAX_DEPTH = 64
"""Deepest nesting of embeds or logic trees; deeper input would exhaust the Python stack."""

_DIGITS = frozenset("0123456789")
_NAME_EXTRA = frozenset("_ $")
_JSON_KEY_STOP = frozenset("(-:.,>)")
_INDEX = re.compile(r"-?[0-9]+")
_INDEX_END = ("->", "::", ".", ",", ")", " ", "\t")
_INT32_MAX = 2**31 - 1
NAME_EXPECTED = "field name (* or [a..z0..9_$])"


class Cursor:
    """A position in ``text``; ``label`` and ``source`` name the parameter in errors."""

    __slots__ = ("depth", "label", "pos", "source", "text")

    def __init__(self, text: str, label: str, source: str | None = None) -> None:
        self.text = text
        self.pos = 0
        self.label = label
        self.source = text if source is None else source
        self.depth = 0

    def peek(self) -> str:
        """The next character, or ``""`` at the end."""
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at_end(self) -> bool:
        """Whether all of the text has been consumed."""
        return self.pos >= len(self.text)

    def startswith(self, prefix: str) -> bool:
        """Whether ``prefix`` comes next (without consuming it)."""
        return self.text.startswith(prefix, self.pos)

    def eat(self, prefix: str) -> bool:
        """Consume ``prefix`` if it comes next."""
        if self.text.startswith(prefix, self.pos):
            self.pos += len(prefix)
            return True
        return False

    def expect(self, prefix: str, expecting: str | None = None) -> None:
        """Consume ``prefix``, or fail saying what was ``expecting``."""
        if not self.eat(prefix):
            raise self.error(expecting or f'"{prefix}"')

    def skip_ws(self) -> None:
        """Skip spaces and tabs."""
        # Parsec's lexeme skips spaces and tabs only.
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def enter(self) -> None:
        """Count one more level of nesting, refusing input nested beyond ``MAX_DEPTH``."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(details=f"nesting deeper than {MAX_DEPTH} levels")

    def error(
        self, expecting: str | None = None, *, details: str | None = None, pos: int | None = None
    ) -> PostgrestSyntaxError:
        """A PGRST100 error at ``pos`` (default: here) for the caller to raise."""
        at = self.pos if pos is None else pos
        if details is None:
            found = f'"{self.text[at]}"' if at < len(self.text) else "end of input"
            details = f"unexpected {found}"
            if expecting:
                details += f" expecting {expecting}"
        line, column = _line_column(self.text, at)
        message = f'"failed to parse {self.label} ({self.source})" (line {line}, column {column})'
        return PostgrestSyntaxError(message, details)


def _line_column(text: str, pos: int) -> tuple[int, int]:
    # Parsec's rules: a newline starts a line, a tab moves to the next multiple of 8, plus 1.
    line, column = 1, 1
    for char in text[:pos]:
        if char == "\n":
            line, column = line + 1, 1
        elif char == "\t":
            column += 8 - (column - 1) % 8
        else:
            column += 1
    return line, column


def is_name_char(char: str) -> bool:
    """Letters, ASCII digits, ``_``, ``$`` and spaces."""
    return char.isalpha() or char in _DIGITS or char in _NAME_EXTRA


def _is_json_key_char(char: str) -> bool:
    return char not in _JSON_KEY_STOP


def parse_quoted(cur: Cursor) -> str:
    """A double-quoted string where ``\\`` escapes the next character."""
    cur.expect('"')
    out: list[str] = []
    while True:
        char = cur.peek()
        if not char:
            raise cur.error('"\\"" (closing quote)')
        cur.pos += 1
        if char == '"':
            return "".join(out)
        if char == "\\":
            char = cur.peek()
            if not char:
                raise cur.error("escaped character")
            cur.pos += 1
        out.append(char)


def _run(cur: Cursor, accepts: Callable[[str], bool], expecting: str) -> str:
    start = cur.pos
    text = cur.text
    while cur.pos < len(text) and accepts(text[cur.pos]):
        cur.pos += 1
    if cur.pos == start:
        raise cur.error(expecting)
    return text[start : cur.pos].strip()


def _dashed(cur: Cursor, accepts: Callable[[str], bool], expecting: str) -> str:
    # Runs joined by "-"; a "-" followed by ">" is a JSON arrow, so it ends the name.
    parts = [_run(cur, accepts, expecting)]
    while cur.peek() == "-" and not cur.startswith("->"):
        cur.pos += 1
        parts.append(_run(cur, accepts, expecting))
    return "-".join(parts)


def parse_name(cur: Cursor) -> str:
    """A field name: quoted, or runs of name characters joined by ``-``, each run stripped."""
    if cur.peek() == '"':
        return parse_quoted(cur)
    return _dashed(cur, is_name_char, NAME_EXPECTED)


def parse_identifier(cur: Cursor) -> str:
    """A cast type or text-search config: one run of name characters, stripped."""
    return _run(cur, is_name_char, "letter or digit")


def parse_json_path(cur: Cursor) -> JsonPath:
    """Zero or more ``->``/``->>`` steps."""
    steps: list[JsonStep] = []
    while cur.startswith("->"):
        if cur.eat("->>"):
            steps.append(JsonStep("->>", _json_operand(cur)))
        else:
            cur.pos += 2
            steps.append(JsonStep("->", _json_operand(cur)))
    return tuple(steps)


def _json_operand(cur: Cursor) -> str | int:
    match = _INDEX.match(cur.text, cur.pos)
    # Digits are an index only when the step ends there; "->1a" is the key "1a".
    if match and (match.end() == len(cur.text) or cur.text.startswith(_INDEX_END, match.end())):
        digits = match.group()
        if len(digits.lstrip("-")) > 10 or abs(int(digits)) > _INT32_MAX:
            raise cur.error(details=f"JSON array index out of range: {digits}")
        cur.pos = match.end()
        return int(digits)
    if cur.peek() == '"':
        return parse_quoted(cur)
    return _dashed(cur, _is_json_key_char, "any non reserved character different from: .,>()")


def parse_field(cur: Cursor) -> tuple[str, JsonPath]:
    """A name and its JSON path, with spaces or tabs around."""
    cur.skip_ws()
    name = parse_name(cur)
    json_path = parse_json_path(cur)
    cur.skip_ws()
    return name, json_path


def parse_names(cur: Cursor) -> tuple[str, ...]:
    """Names separated by ``.``, as in a key's embed path."""
    names = [parse_name(cur)]
    while cur.eat("."):
        names.append(parse_name(cur))
    return tuple(names)


def require_end(cur: Cursor, expecting: str = "end of input") -> None:
    """Fail unless everything was consumed: trailing text is an error, never ignored."""
    if not cur.at_end():
        raise cur.error(expecting)
