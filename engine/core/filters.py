"""The `filter` language of QRadar's REST API (`engine.core.query` lists its decisions): its
values, tree, tokens and parser.

Imported on the first request that has a filter, not when `bre serve` starts: its classes,
patterns and `decimal` cost a few million instructions that a list without a filter never
needs. `engine.core.query` re-exports every public name.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from decimal import Decimal
from typing import Any, NoReturn, TypeAlias

from engine.core import codes
from engine.core.errors import QRadarError
from engine.core.frozen import record

#: Longer filters are refused before tokenising: bounds the work any request can cause.
MAX_FILTER_LENGTH = 4096
#: Deeper nesting (parentheses, `not`, nested field names) is refused: bounds the recursion.
MAX_FILTER_DEPTH = 64
#: More tests (leaves) in one filter are refused.
MAX_FILTER_TERMS = 500
#: Longer `in (...)` lists are refused.
MAX_IN_VALUES = 1024
#: Work one request's filter may cause: its cost per record (`Filter.cost`) times the records it
#: is tested on; over it, 422/12. A unit is 0.1 to 0.5 µs here, so the budget bounds the time
#: one filter holds the event loop (and every other console) to about half a second; a plain
#: `id in (...)` of 1,024 ids is one unit (a hash lookup) on 100,000 records.
FILTER_WORK_BUDGET = 1_000_000


# ============================================================================ filter: values


_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


def _to_decimal(text: str) -> Decimal | None:
    """The number a value spells, exactly; None when it is not one of QRadar's number forms."""
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except ArithmeticError:  # exponent beyond Decimal's range: fall back to float's inf or 0
        return Decimal(repr(float(text)))


@record
class Value:
    """A literal of a filter, with its readings as number and boolean computed once."""

    text: str
    quoted: bool
    number: Decimal | None
    boolean: bool | None

    @staticmethod
    def of(text: str, quoted: bool) -> Value:
        lowered = text.lower()
        boolean = True if lowered == "true" else False if lowered == "false" else None
        return Value(text, quoted, _to_decimal(text.strip()), boolean)

    def render(self) -> str:
        if not self.quoted:
            return self.text
        return '"' + self.text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _key_of(record_value: Any, value: Value) -> tuple[Any, Any] | None:
    """The (record side, value side) pair to compare, or None when the value does not fit."""
    if isinstance(record_value, bool):
        if value.boolean is None:
            return None
        return int(record_value), int(value.boolean)
    if isinstance(record_value, int):
        return (record_value, value.number) if value.number is not None else None
    if isinstance(record_value, float):
        if math.isnan(record_value) or value.number is None:
            return None
        return Decimal(repr(record_value)), value.number
    if isinstance(record_value, str):
        return record_value, value.text
    return None


_COMPARATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    ">": lambda a, b: bool(a > b),
    "<=": lambda a, b: bool(a <= b),
    ">=": lambda a, b: bool(a >= b),
}


def _compare(record_value: Any, op: str, value: Value) -> bool | None:
    """A scalar comparison; None when the value cannot be read as the field's type."""
    pair = _key_of(record_value, value)
    if pair is None:
        return None
    try:
        return _COMPARATORS[op](pair[0], pair[1])
    except (ArithmeticError, TypeError):
        return None


# ============================================================================ filter: like

_LITERAL, _ONE, _RUN = 0, 1, 2
_LikePattern: TypeAlias = tuple[tuple[int, str], ...]
#: A parsed `like` pattern, for compilers to other languages: (kind, character) pairs, where
#: kind is LIKE_LITERAL, LIKE_ONE (`_`) or LIKE_RUN (`%`, runs collapsed).
LikePattern: TypeAlias = _LikePattern
LIKE_LITERAL, LIKE_ONE, LIKE_RUN = _LITERAL, _ONE, _RUN


def _like_matches(pattern: _LikePattern, text: str) -> bool:
    """Wildcard match by the greedy last-`%` backtrack: O(len(pattern) * len(text)), no regex."""
    p = i = 0
    star, mark = -1, 0
    while i < len(text):
        if p < len(pattern) and (
            pattern[p][0] == _ONE or (pattern[p][0] == _LITERAL and pattern[p][1] == text[i])
        ):
            p += 1
            i += 1
        elif p < len(pattern) and pattern[p][0] == _RUN:
            star, mark = p, i
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            i = mark
        else:
            return False
    while p < len(pattern) and pattern[p][0] == _RUN:
        p += 1
    return p == len(pattern)


# ============================================================================ filter: the tree


def _null_or_missing(record: Mapping[str, Any], field: str) -> tuple[bool, Any]:
    value = record.get(field)
    return value is None, value


def _any_element(value: Any, test: Callable[[Any], bool | None]) -> bool | None:
    """Apply a positive test to a scalar, or to each element of a list (true if any passes)."""
    if isinstance(value, list | tuple):
        results = [test(element) for element in value]
        if results and all(r is None for r in results):
            return None
        return any(r is True for r in results)
    return test(value)


def _negatable_match(
    record: Mapping[str, Any], field: str, negated: bool, test: Callable[[Any], bool | None]
) -> bool:
    """QRadar's semantics for a test that `not` may negate: on null the negated form holds;
    a value of the wrong type fails both forms; a list field matches when any element does."""
    null, current = _null_or_missing(record, field)
    if null:
        return negated
    result = _any_element(current, test)
    if result is None:
        return False
    return result != negated


@record
class Compare:
    """`field op value`; `<>` and `^=` are stored as `!=`."""

    field: str
    op: str
    value: Value

    def matches(self, record: Mapping[str, Any]) -> bool:
        negative = self.op == "!="
        op = "=" if negative else self.op
        return _negatable_match(record, self.field, negative, lambda v: _compare(v, op, self.value))

    cost = 1  #: work units per record (`Filter.cost`)

    def render(self) -> str:
        return f"{self.field} {self.op} {self.value.render()}"


@record
class InList:
    """`field [not] in (a, b, ...)`; members that do not fit the field never match."""

    field: str
    values: tuple[Value, ...]
    negated: bool
    #: the members as each kind of field reads them (numbers, texts, booleans as 0/1): a test
    #: is one hash lookup, whatever the length of the list
    _numbers: frozenset[Decimal] = dataclasses.field(init=False, repr=False, compare=False)
    _texts: frozenset[str] = dataclasses.field(init=False, repr=False, compare=False)
    _booleans: frozenset[int] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        numbers = frozenset(v.number for v in self.values if v.number is not None)
        object.__setattr__(self, "_numbers", numbers)
        object.__setattr__(self, "_texts", frozenset(v.text for v in self.values))
        booleans = frozenset(int(v.boolean) for v in self.values if v.boolean is not None)
        object.__setattr__(self, "_booleans", booleans)

    def _test(self, v: Any) -> bool | None:
        """`v = member` for any member, as `Compare` reads it: None when no member fits."""
        if isinstance(v, bool):
            return (int(v) in self._booleans) if self._booleans else None
        if isinstance(v, int):  # an int and an equal Decimal hash alike
            return (v in self._numbers) if self._numbers else None
        if isinstance(v, float):
            if math.isnan(v) or not self._numbers:
                return None
            return Decimal(repr(v)) in self._numbers
        if isinstance(v, str):
            return v in self._texts
        return None

    def matches(self, record: Mapping[str, Any]) -> bool:
        return _negatable_match(record, self.field, self.negated, self._test)

    cost = 1  # one hash lookup

    def render(self) -> str:
        members = ", ".join(v.render() for v in self.values)
        return f"{self.field} {'not ' if self.negated else ''}in ({members})"


@record
class Between:
    """`field [not] between low and high`, both ends inclusive; low > high matches nothing."""

    field: str
    low: Value
    high: Value
    negated: bool

    def _test(self, v: Any) -> bool | None:
        above = _compare(v, ">=", self.low)
        below = _compare(v, "<=", self.high)
        if above is None or below is None:
            return None
        return above and below

    def matches(self, record: Mapping[str, Any]) -> bool:
        return _negatable_match(record, self.field, self.negated, self._test)

    cost = 2

    def render(self) -> str:
        word = "not between" if self.negated else "between"
        return f"{self.field} {word} {self.low.render()} and {self.high.render()}"


@record
class IsNull:
    """`field is [not] null`; a missing key is null, an empty list is not."""

    field: str
    negated: bool

    def matches(self, record: Mapping[str, Any]) -> bool:
        null, _ = _null_or_missing(record, self.field)
        return null != self.negated

    cost = 1

    def render(self) -> str:
        return f"{self.field} is {'not ' if self.negated else ''}null"


@record
class Like:
    """`field [not] like|ilike "pattern"`: `%` any run, `_` one character, `\\` escapes."""

    field: str
    source: str  # the quoted pattern as written
    pattern: _LikePattern
    insensitive: bool
    negated: bool

    #: the pattern as matched: lower-cased once for `ilike`, not once per record
    _matched: _LikePattern = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        matched = tuple((k, c.lower()) for k, c in self.pattern) if self.insensitive else None
        object.__setattr__(self, "_matched", matched or self.pattern)

    def _test(self, v: Any) -> bool | None:
        if not isinstance(v, str):
            return None
        return _like_matches(self._matched, v.lower() if self.insensitive else v)

    def matches(self, record: Mapping[str, Any]) -> bool:
        return _negatable_match(record, self.field, self.negated, self._test)

    @property
    def cost(self) -> int:
        """A `%` run may make the match go back over the text: a few units each."""
        return 2 + 4 * sum(1 for kind, _ in self.pattern if kind == _RUN)

    def render(self) -> str:
        word = ("not " if self.negated else "") + ("ilike" if self.insensitive else "like")
        return f"{self.field} {word} {self.source}"


@record
class Contains:
    """`field contains value`: an element of a list field equals the value (false on scalars)."""

    field: str
    value: Value

    def matches(self, record: Mapping[str, Any]) -> bool:
        current = record.get(self.field)
        if not isinstance(current, list | tuple):
            return False
        return any(_compare(element, "=", self.value) for element in current)

    cost = 2

    def render(self) -> str:
        return f"{self.field} contains {self.value.render()}"


@record
class Not:
    """`not operand`."""

    operand: Node

    def matches(self, record: Mapping[str, Any]) -> bool:
        return not self.operand.matches(record)

    @property
    def cost(self) -> int:
        return self.operand.cost

    def render(self) -> str:
        return f"not ({self.operand.render()})"


@record
class And:
    """`a and b ...`: every operand matches."""

    operands: tuple[Node, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        return all(o.matches(record) for o in self.operands)

    @property
    def cost(self) -> int:
        return sum(o.cost for o in self.operands)

    def render(self) -> str:
        return " and ".join(f"({o.render()})" for o in self.operands)


@record
class Or:
    """`a or b ...`: some operand matches."""

    operands: tuple[Node, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        return any(o.matches(record) for o in self.operands)

    @property
    def cost(self) -> int:
        return sum(o.cost for o in self.operands)

    def render(self) -> str:
        return " or ".join(f"({o.render()})" for o in self.operands)


Node: TypeAlias = Compare | InList | Between | IsNull | Like | Contains | Not | And | Or


@record
class Filter:
    """A parsed filter; `expr is None` (an empty filter) matches every record."""

    text: str
    expr: Node | None

    def matches(self, record: Mapping[str, Any]) -> bool:
        return True if self.expr is None else self.expr.matches(record)

    def select(self, records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """The matching records, in their order."""
        return [r for r in records if self.matches(r)]

    @property
    def cost(self) -> int:
        """Work units to test one record (0 for an empty filter)."""
        return 0 if self.expr is None else self.expr.cost

    def check_work(self, records: int, budget: int = FILTER_WORK_BUDGET) -> None:
        """422/12 when testing `records` records would cost more than `budget` units: the
        answer depends on the filter and the count only, never on timing, so it is the same
        on every run."""
        work = self.cost * records
        if work > budget:
            raise QRadarError.of(
                codes.BAD_FILTER,
                value=self.text,
                reason=f"too costly: {self.cost} units per record on {records} records is "
                f"{work} units, over the limit of {budget} per request; narrow the filter or "
                "the list",
            )


# ============================================================================ filter: tokens


@record
class _Token:
    """A lexical token of a filter, at character `pos`."""

    kind: str  # "(", ")", ",", "op", "str", "word", "end"
    text: str
    pos: int
    chars: tuple[tuple[str, bool], ...] = ()  # a string's characters, each with "was escaped"


_OPERATORS = ("<=", ">=", "<>", "!=", "^=", "=", "<", ">")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-")
_KEYWORDS = frozenset({"and", "or", "not", "in", "between", "is", "like", "ilike", "contains"})


class _FilterSyntax(Exception):
    """Internal: a reason, turned into 422/12 at the API edge of `parse_filter`."""


def _quote(text: str) -> str:
    return '"' + text + '"'


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "(),":
            tokens.append(_Token(c, c, i))
            i += 1
        elif c in "'\"":
            start, i = i, i + 1
            chars: list[tuple[str, bool]] = []
            while True:
                if i >= n:
                    raise _FilterSyntax(f"unterminated string starting at position {start}")
                if text[i] == "\\":
                    if i + 1 >= n:
                        raise _FilterSyntax(f"unterminated string starting at position {start}")
                    chars.append((text[i + 1], True))
                    i += 2
                elif text[i] == c:
                    i += 1
                    break
                else:
                    chars.append((text[i], False))
                    i += 1
            tokens.append(_Token("str", text[start:i], start, tuple(chars)))
        elif c in "<>=!^":
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise _FilterSyntax(f"unexpected character {_quote(c)} at position {i}")
            tokens.append(_Token("op", op, i))
            i += len(op)
        elif c in _WORD_CHARS:
            start = i
            while i < n and text[i] in _WORD_CHARS:
                i += 1
            tokens.append(_Token("word", text[start:i], start))
        else:
            raise _FilterSyntax(f"unexpected character {_quote(c)} at position {i}")
    tokens.append(_Token("end", "", n))
    return tokens


# ============================================================================ filter: parser


class _Parser:
    """Recursive descent over the token list; `depth` bounds parentheses, `not` and nesting."""

    def __init__(self, tokens: list[_Token], allowed: Collection[str]) -> None:
        self.tokens = tokens
        self.i = 0
        self.allowed = allowed
        self.depth = 0
        self.terms = 0  # tests (leaves) read so far: at most MAX_FILTER_TERMS

    # --- helpers
    def peek(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        token = self.tokens[self.i]
        if token.kind != "end":
            self.i += 1
        return token

    def is_keyword(self, word: str) -> bool:
        token = self.tokens[self.i]
        return token.kind == "word" and token.text.lower() == word

    def expect_keyword(self, word: str) -> None:
        if not self.is_keyword(word):
            self.fail(f'expected "{word}"')
        self.advance()

    def expect(self, kind: str) -> _Token:
        if self.peek().kind != kind:
            self.fail(f"expected {_quote(kind)}")
        return self.advance()

    def fail(self, expected: str) -> NoReturn:
        token = self.peek()
        found = "end of filter" if token.kind == "end" else _quote(token.text)
        raise _FilterSyntax(f"{expected} at position {token.pos}, found {found}")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_FILTER_DEPTH:
            raise _FilterSyntax(
                f"nesting deeper than {MAX_FILTER_DEPTH} at position {self.peek().pos}"
            )

    # --- grammar
    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek().kind != "end":
            self.fail('expected "and", "or" or the end')
        return node

    def or_expr(self) -> Node:
        operands = [self.and_expr()]
        while self.is_keyword("or"):
            self.advance()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self) -> Node:
        operands = [self.unary()]
        while self.is_keyword("and"):
            self.advance()
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self) -> Node:
        if self.is_keyword("not"):
            self.advance()
            self.enter()
            node: Node = Not(self.unary())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Node:
        if self.peek().kind == "(":
            self.advance()
            self.enter()
            node = self.or_expr()
            self.expect(")")
            self.depth -= 1
            return node
        return self.predicate()

    def field(self) -> str:
        token = self.peek()
        if (
            token.kind != "word"
            or not _IDENTIFIER.fullmatch(token.text)
            or token.text.lower() in _KEYWORDS
        ):
            self.fail("expected a field name")
        self.advance()
        name = token.text
        if self.peek().kind == "(":  # nested `outer(inner)`: parsed, but our records are flat
            self.advance()
            self.enter()
            name = f"{name}({self.field()})"
            self.expect(")")
            self.depth -= 1
        return name

    def predicate(self) -> Node:
        start = self.peek().pos
        self.terms += 1
        if self.terms > MAX_FILTER_TERMS:
            raise _FilterSyntax(f"more than {MAX_FILTER_TERMS} tests at position {start}")
        name = self.field()
        if name not in self.allowed:
            raise _FilterSyntax(f"unknown field {_quote(name)} at position {start}")
        token = self.peek()
        if token.kind == "op":
            self.advance()
            op = "!=" if token.text in ("<>", "^=") else token.text
            return Compare(name, op, self.value())
        negated = False
        if self.is_keyword("is"):
            self.advance()
            if self.is_keyword("not"):
                self.advance()
                negated = True
            self.expect_keyword("null")
            return IsNull(name, negated)
        if self.is_keyword("contains"):
            self.advance()
            return Contains(name, self.value())
        if self.is_keyword("not"):
            self.advance()
            negated = True
        if self.is_keyword("in"):
            self.advance()
            self.expect("(")
            values = [self.value()]
            while self.peek().kind == ",":
                self.advance()
                if len(values) == MAX_IN_VALUES:
                    raise _FilterSyntax(
                        f"more than {MAX_IN_VALUES} values in a list at position {self.peek().pos}"
                    )
                values.append(self.value())
            self.expect(")")
            return InList(name, tuple(values), negated)
        if self.is_keyword("between"):
            self.advance()
            low = self.value()
            self.expect_keyword("and")
            return Between(name, low, self.value(), negated)
        if self.is_keyword("like") or self.is_keyword("ilike"):
            insensitive = self.advance().text.lower() == "ilike"
            pattern = self.peek()
            if pattern.kind != "str":
                self.fail("expected a quoted pattern")
            self.advance()
            return Like(name, pattern.text, _like_pattern(pattern), insensitive, negated)
        if negated:
            self.fail('expected "in", "between", "like" or "ilike"')
        self.fail("expected an operator")

    def value(self) -> Value:
        token = self.peek()
        if token.kind == "str":
            self.advance()
            return Value.of("".join(c for c, _ in token.chars), quoted=True)
        if token.kind == "word" and token.text.lower() not in _KEYWORDS:
            self.advance()
            return Value.of(token.text, quoted=False)
        self.fail("expected a value")


def _like_pattern(token: _Token) -> _LikePattern:
    parts: list[tuple[int, str]] = []
    for char, escaped in token.chars:
        if escaped or char not in "%_":
            parts.append((_LITERAL, char))
        elif char == "_":
            parts.append((_ONE, char))
        elif not parts or parts[-1][0] != _RUN:  # collapse `%%`: same meaning, less work
            parts.append((_RUN, char))
    return tuple(parts)


def parse_filter(text: str, allowed: Collection[str]) -> Filter:
    """Parse a `filter` parameter against the names a record has.

    Raises 422/12 (`codes.BAD_FILTER`) on a syntax error, an unknown field, or input over
    `MAX_FILTER_LENGTH` characters, `MAX_FILTER_DEPTH` levels, `MAX_FILTER_TERMS` tests or
    `MAX_IN_VALUES` values in a list; never any other exception.
    """

    def bad(reason: str) -> QRadarError:
        return QRadarError.of(codes.BAD_FILTER, value=text, reason=reason)

    if len(text) > MAX_FILTER_LENGTH:
        raise bad(f"longer than {MAX_FILTER_LENGTH} characters")
    if not text.strip():
        return Filter(text, None)
    try:
        return Filter(text, _Parser(_tokenize(text), allowed).parse())
    except _FilterSyntax as syntax:
        raise bad(str(syntax)) from None
    except RecursionError:  # pragma: no cover - the depth cap should make this unreachable
        raise bad("nesting too deep") from None
