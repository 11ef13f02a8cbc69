"""The grammar of graphite-web's `target` parameter, read into a small tree.

A target is a path expression (`servers.web-*.cpu.{user,system}`, or a tagged path
such as `cpu;dc=eu;host=web01`) or a call (`sumSeries(a.*, b.c)`), optionally
followed by piped calls (`a.*|sumSeries()`, which is `sumSeries(a.*)`). Call arguments
are targets, strings in single or double quotes (kept as written, so `'\\1'` stays a
backslash and a one), numbers, `true`/`false`, `None`, and `name=value` keywords after
the positional ones. A number or keyword is only read as such when a `,` or `)` follows,
as graphite does, so `1h.x` is a path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn

_SYMBOLS = frozenset("(){},.'\"\\|")
"""What ends a path; `=` does not, as tagged paths (`cpu;dc=eu`) hold it."""
_IDENTIFIER_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENTIFIER = _IDENTIFIER_START | frozenset("0123456789")
_KEYWORDS: dict[str, bool | None] = {"true": True, "false": False, "none": None}
MAX_DEPTH = 100
"""Calls and pipes nest at most this deep, so a hostile target cannot exhaust the stack."""


@dataclass(frozen=True, slots=True)
class Path:
    """A path expression, possibly with globs."""

    text: str


@dataclass(frozen=True, slots=True)
class Call:
    """A function call with positional and keyword arguments."""

    name: str
    args: tuple[Node, ...] = ()
    kwargs: dict[str, Node] = field(default_factory=dict)
    position: int = field(default=0, compare=False)
    text: str = field(default="", compare=False)
    """The call as written, from its name to its `)`, which graphite-web names
    seriesByTag's series after."""


Node = Call | Path | str | int | float | bool | None


def parse(text: str) -> Call | Path:
    """The tree of one target; a ValueError names the position of a syntax error."""
    parser = _Parser(text)
    tree = parser.expression()
    parser.skip_spaces()
    if parser.position != len(text):
        parser.fail("unexpected character")
    return tree


def path_expressions(tree: Node) -> list[str]:
    """Every path expression in a tree, in the order written."""
    if isinstance(tree, Path):
        return [tree.text]
    if isinstance(tree, Call):
        found: list[str] = []
        for arg in (*tree.args, *tree.kwargs.values()):
            found.extend(path_expressions(arg))
        return found
    return []


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0
        self.depth = 0

    def fail(self, what: str) -> NoReturn:
        shown = self.text[self.position] if self.position < len(self.text) else "end of target"
        raise ValueError(f"{what} at position {self.position} ({shown!r}) in {self.text!r}")

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek() in (" ", "\t", "\n", "\r"):
            self.position += 1

    def expect(self, char: str) -> None:
        self.skip_spaces()
        if self.peek() != char:
            self.fail(f"expected {char!r}")
        self.position += 1

    def expression(self) -> Call | Path:
        """A call or a path, then any `|call(...)` pipes."""
        self.skip_spaces()
        start = self.position
        name = self.identifier()
        self.skip_spaces()
        tree: Call | Path
        if name and self.peek() == "(":
            tree = self.call(name, start)
        else:
            self.position = start
            tree = self.path()
        self.skip_spaces()
        pipes = 0
        while self.peek() == "|":
            self.position += 1
            pipes += 1
            self._nest()
            self.skip_spaces()
            at = self.position
            piped = self.identifier()
            if not piped:
                self.fail("expected a function name after '|'")
            self.skip_spaces()
            if self.peek() != "(":
                self.fail("expected '(' after a piped function name")
            call = self.call(piped, at)
            tree = Call(call.name, (tree, *call.args), call.kwargs, call.position, call.text)
            self.skip_spaces()
        self.depth -= pipes
        return tree

    def _nest(self) -> None:
        """One level deeper (a call, or a pipe that wraps what came before it)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"calls and pipes nested deeper than {MAX_DEPTH}")

    def identifier(self) -> str:
        start = self.position
        if self.peek() in _IDENTIFIER_START:
            self.position += 1
            while self.peek() in _IDENTIFIER:
                self.position += 1
        return self.text[start : self.position]

    def call(self, name: str, start: int) -> Call:
        """The argument list of `name(`, positional arguments before keyword ones."""
        self._nest()
        call = self.arguments(name, start)
        self.depth -= 1
        return call

    def arguments(self, name: str, start: int) -> Call:
        self.expect("(")
        args: list[Node] = []
        kwargs: dict[str, Node] = {}
        self.skip_spaces()
        if self.peek() == ")":
            self.position += 1
            return Call(name, (), kwargs, start, self.text[start : self.position])
        while True:
            keyword = self.keyword_name()
            if keyword is not None:
                if keyword in kwargs:
                    self.fail(f"keyword argument {keyword!r} repeated")
                kwargs[keyword] = self.argument()
            elif kwargs:
                self.fail("positional argument after a keyword argument")
            else:
                args.append(self.argument())
            self.skip_spaces()
            if self.peek() == ",":
                self.position += 1
                continue
            self.expect(")")
            return Call(name, tuple(args), kwargs, start, self.text[start : self.position])

    def keyword_name(self) -> str | None:
        """`name` when `name=` starts here (and consume it), else None."""
        self.skip_spaces()
        start = self.position
        name = self.identifier()
        self.skip_spaces()
        if name and self.peek() == "=":
            self.position += 1
            return name
        self.position = start
        return None

    def argument(self) -> Node:
        self.skip_spaces()
        char = self.peek()
        if char in ("'", '"'):
            return self.string()
        literal = self.literal()
        if literal is not _NOT_LITERAL:
            return literal  # type: ignore[return-value]
        return self.expression()

    def literal(self) -> object:
        """A number, boolean or None when one ends right before `,` or `)`, else a marker."""
        start = self.position
        end = start
        while end < len(self.text) and self.text[end] not in ",)" and self.text[end] != " ":
            end += 1
        after = end
        while after < len(self.text) and self.text[after] == " ":
            after += 1
        if after < len(self.text) and self.text[after] not in ",)":
            return _NOT_LITERAL
        word = self.text[start:end]
        value = _literal_value(word)
        if value is not _NOT_LITERAL:
            self.position = end
        return value

    def string(self) -> str:
        """A quoted string's characters as written; a backslash only shields the next one."""
        quote = self.peek()
        start = self.position
        self.position += 1
        while self.position < len(self.text):
            char = self.text[self.position]
            if char == "\\":
                self.position += 2
                continue
            if char == quote:
                self.position += 1
                return self.text[start + 1 : self.position - 1]
            self.position += 1
        self.position = start
        self.fail("unterminated string")

    def path(self) -> Path:
        """Path characters, with `{a,b}` alternatives that may hold commas."""
        start = self.position
        depth = 0
        while self.position < len(self.text):
            char = self.text[self.position]
            if char == "{":
                depth += 1
            elif char == "}":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth > 0:
                pass
            elif char.isspace() or (char in _SYMBOLS and char != "."):
                break
            self.position += 1
        if depth:
            self.fail("unclosed '{'")
        text = self.text[start : self.position]
        if not text:
            self.fail("expected a path or a function call")
        if text.startswith(".") or text.endswith(".") or ".." in text:
            self.position = start
            self.fail(f"empty node in path {text!r}")
        return Path(text)


class _NotLiteral:
    """Marks a word that is not a number, boolean or None."""


_NOT_LITERAL = _NotLiteral()


def _literal_value(word: str) -> object:
    lowered = word.lower()
    if lowered in _KEYWORDS:
        return _KEYWORDS[lowered]
    body = word[1:] if word.startswith("-") else word
    if body.isdigit():
        return int(word)
    mantissa, _, exponent = lowered.partition("e")
    whole, dot, fraction = mantissa.removeprefix("-").partition(".")
    if not whole.isdigit() or (dot and not fraction.isdigit()):
        return _NOT_LITERAL
    if exponent and not exponent.removeprefix("-").removeprefix("+").isdigit():
        return _NOT_LITERAL
    return float(word)
