"""The list-query languages of QRadar's REST API: `filter`, `fields`, `Range` and `sort`.

Pure Python: no I/O, no `eval`, no SQL. Every parser answers bad input with the framework
error QRadar uses for it (reference sections 1.4 to 1.8) and with nothing else, so a handler can
pass request text straight in.

Decisions where the documentation is silent (reference section 6, question 16):

- **filter precedence**: `not` binds tighter than `and`, which binds tighter than `or`
  (SQL's order, and what `protected = true and not id in (1,2)` reads as); parentheses group.
  Keywords are case-insensitive. Errors name a zero-based character position.
- **filter lexicon**: a bare value is a run of ASCII letters, digits and `_ . + -` (`PENDING`,
  `7.5.0`, `-3`, `1e3`); anything else must be quoted, so `;` is a syntax error. Besides the
  documented operators, `not like`, `not ilike` and `field contains value` (for `groups`) are
  accepted. Nested names `outer(inner)` parse, but no record here has one: unknown field.
- **filter on list fields** (restore `groups`): a positive test (`=`, `<`, `in`, `between`,
  `like`, `contains` ...) is true when *any* element passes it; its negation (`!=`, `not in`,
  `not between`, `not like`) is true when *no* element does. An empty list is not null.
- **filter values that do not fit the field** (`id = abc`, `is_valid = maybe`): the comparison is
  false, negated or not; it is not an error. `like` applies to strings only. A missing key is
  null. Numbers compare exactly (as decimals), strings case-sensitively.
- **empty `filter`, `fields` or `sort`** (only whitespace): no restriction, everything, and no
  sorting respectively; clients that send an empty parameter mean "none".
- **fields** output keeps the record's own key order, not the order the client named them.
- **sort** puts nulls first when ascending (so last when descending, the exact reverse); values of
  different kinds order null < numbers and booleans < strings < lists < anything else.
- **Range** with no header means everything; `Content-Range` is then `items 0-(N-1)/N`, or
  `items */0` for an empty list. An empty header value is malformed (422/36).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NoReturn, TypeAlias

from engine.core import codes
from engine.core.errors import QRadarError
from engine.core.frozen import record

__all__ = [
    "FILTER_WORK_BUDGET",
    "LIKE_LITERAL",
    "LIKE_ONE",
    "LIKE_RUN",
    "MAX_FILTER_DEPTH",
    "MAX_FILTER_LENGTH",
    "MAX_FILTER_TERMS",
    "MAX_IN_VALUES",
    "FieldSelection",
    "FieldSpec",
    "Filter",
    "LikePattern",
    "ListRequest",
    "Node",
    "RangeSpec",
    "SortKey",
    "Value",
    "full_window",
    "parse_fields",
    "parse_filter",
    "parse_range",
    "parse_sort",
    "sort_records",
]

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
_MAX_FIELDS_DEPTH = 64


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


# ============================================================================ fields


@record
class FieldSpec:
    """One named field and, when the client gave them, its sub-fields."""

    name: str
    sub: FieldSelection | None = None


@record
class FieldSelection:
    """A parsed `fields` selector; `specs is None` selects everything (no or empty selector)."""

    specs: tuple[FieldSpec, ...] | None

    @property
    def selects_all(self) -> bool:
        return self.specs is None

    @property
    def names(self) -> tuple[str, ...]:
        return () if self.specs is None else tuple(s.name for s in self.specs)

    def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """The named keys of `obj` in `obj`'s own order, sub-selections applied recursively."""
        if self.specs is None:
            return dict(obj)
        wanted = {s.name: s.sub for s in self.specs}
        return {k: _apply_sub(v, wanted[k]) for k, v in obj.items() if k in wanted}


def _apply_sub(value: Any, sub: FieldSelection | None) -> Any:
    if sub is None:
        return value
    if isinstance(value, Mapping):
        return sub.apply(value)
    if isinstance(value, list | tuple):
        return [sub.apply(e) if isinstance(e, Mapping) else e for e in value]
    return value


_Schema: TypeAlias = Mapping[str, Any]
_FIELD_DELIMITERS = frozenset(",()[]")
_CLOSERS = {"(": ")", "[": "]"}


def _schema(allowed: Collection[str] | Mapping[str, Any] | None) -> _Schema:
    """Normalise `allowed`: a plain collection lists scalar names; a mapping gives nested ones."""
    if allowed is None or isinstance(allowed, str):
        return {}
    if isinstance(allowed, Mapping):
        return allowed
    return dict.fromkeys(allowed)


def _nested(value: Any) -> _Schema | None:
    if isinstance(value, Mapping):
        return value
    if isinstance(value, Collection) and not isinstance(value, str):
        return dict.fromkeys(value)
    return None


class _FieldsParser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def skip_space(self) -> None:
        while self.i < len(self.text) and self.text[self.i].isspace():
            self.i += 1

    def unknown(self, name: str) -> QRadarError:
        return QRadarError.of(codes.UNKNOWN_FIELD, name=name)

    def fragment(self, start: int) -> str:
        """The malformed text from `start` to the next delimiter, to name in 422/30."""
        end = start
        while end < len(self.text) and self.text[end] not in _FIELD_DELIMITERS:
            end += 1
        return self.text[start:end].strip()

    def selection(
        self, schema: _Schema, closer: str | None, depth: int, owner: int = 0
    ) -> FieldSelection:
        """One level; `owner` is where the name owning this bracket starts (names 422/30)."""
        if depth > _MAX_FIELDS_DEPTH:
            raise self.unknown(self.fragment(self.i))
        specs: list[FieldSpec] = []
        seen: set[str] = set()
        while True:
            self.skip_space()
            start = self.i
            while (
                self.i < len(self.text)
                and self.text[self.i] not in _FIELD_DELIMITERS
                and not self.text[self.i].isspace()
            ):
                self.i += 1
            name = self.text[start : self.i]
            self.skip_space()
            following = self.text[self.i] if self.i < len(self.text) else ""
            if following and following not in _FIELD_DELIMITERS:  # `a b`: two words, no comma
                raise self.unknown(self.fragment(start))
            if name not in schema:
                raise self.unknown(name)
            if name in seen:
                raise QRadarError.of(codes.DUPLICATE_FIELD, value=self.text, name=name)
            seen.add(name)
            sub: FieldSelection | None = None
            if following in _CLOSERS:
                self.i += 1
                nested = _nested(schema[name]) or {}
                sub = self.selection(nested, _CLOSERS[following], depth + 1, start)
                self.skip_space()
                following = self.text[self.i] if self.i < len(self.text) else ""
            specs.append(FieldSpec(name, sub))
            if following == ",":
                self.i += 1
                continue
            if following == (closer or ""):
                if closer is not None:
                    self.i += 1
                return FieldSelection(tuple(specs))
            if not following:  # the text ended inside a bracket
                raise self.unknown(self.text[owner:].strip())
            raise self.unknown(self.fragment(self.i) or following)


def parse_fields(text: str, allowed: Collection[str] | Mapping[str, Any]) -> FieldSelection:
    """Parse a `fields` selector such as `id,name,data_backup_host_configuration(host_id)`.

    `allowed` names the record's fields: a collection of scalar names, or a mapping from name to
    None (scalar) or to the nested allowed names of an object or list of objects. An unknown
    name, a sub-field of a scalar, or malformed text is 422/30 naming the offending part; a
    name repeated at one level is 422/31. Empty or blank text selects everything.
    """
    if not text.strip():
        return FieldSelection(None)
    return _FieldsParser(text).selection(_schema(allowed), None, 0)


# ============================================================================ Range

_RANGE = re.compile(r"\s*items\s*=\s*([0-9]{1,18})\s*-\s*([0-9]{1,18})\s*", re.ASCII | re.I)


@record
class RangeSpec:
    """`Range: items=start-end`, zero-based and inclusive at both ends."""

    start: int
    end: int

    def window(self, total: int) -> tuple[slice, str]:
        """The slice of a list of `total` items and its `Content-Range` value (clipped)."""
        if total < 0:
            raise ValueError("total must not be negative")
        if self.start >= total:
            return slice(0, 0), f"items */{total}"
        last = min(self.end, total - 1)
        return slice(self.start, last + 1), f"items {self.start}-{last}/{total}"


def full_window(total: int) -> tuple[slice, str]:
    """The window of a list answered without a `Range` header: everything."""
    if total < 0:
        raise ValueError("total must not be negative")
    if total == 0:
        return slice(0, 0), "items */0"
    return slice(0, total), f"items 0-{total - 1}/{total}"


def parse_range(header: str | None) -> RangeSpec | None:
    """Parse a `Range` header; None when absent. Spaces around tokens are tolerated.

    Malformed (wrong unit, signs, letters, missing end, over 18 digits, empty) is 422/36; an
    end before the start is 422/37.
    """
    if header is None:
        return None
    match = _RANGE.fullmatch(header)
    if match is None:
        raise QRadarError.of(codes.BAD_RANGE)
    start, end = int(match.group(1)), int(match.group(2))
    if end < start:
        raise QRadarError.of(codes.NEGATIVE_RANGE)
    return RangeSpec(start, end)


# ============================================================================ sort


@record
class SortKey:
    """One term of `sort`: a field and its direction."""

    field: str
    descending: bool = False


_SortTerm: TypeAlias = list[tuple[str, bool]]  # characters, each with "was escaped"


def _split_sort_terms(text: str) -> list[_SortTerm] | None:
    """Split at unescaped commas, undoing backslash escapes; None on a dangling backslash."""
    terms: list[_SortTerm] = [[]]
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                return None
            terms[-1].append((text[i + 1], True))
            i += 2
            continue
        if c == ",":
            terms.append([])
        else:
            terms[-1].append((c, False))
        i += 1
    return terms


def parse_sort(text: str, allowed: Sequence[str], error: QRadarError) -> tuple[SortKey, ...]:
    """Parse `sort`: `+field`, `-field` or `field` (ascending), comma-separated, left to right.

    A leading space stands for `+` (an unencoded `+` arrives as a space); an escaped `\\-` is
    part of the name, not a direction. Any name not in `allowed`, an empty term or a dangling
    backslash raises `error` (the endpoint's 422/1018). Empty or blank text means no sorting.
    """
    if not text.strip():
        return ()
    terms = _split_sort_terms(text)
    if terms is None:
        raise error
    keys: list[SortKey] = []
    for term in terms:
        chars = term
        while chars and not chars[0][1] and chars[0][0].isspace():
            chars = chars[1:]
        descending = False
        if chars and not chars[0][1] and chars[0][0] in "+-":
            descending = chars[0][0] == "-"
            chars = chars[1:]
        name = "".join(c for c, _ in chars).strip()
        if not name or name not in allowed:
            raise error
        keys.append(SortKey(name, descending))
    return tuple(keys)


def _sort_value(value: Any) -> tuple[Any, ...]:
    """A total order over JSON-ish values: null < numbers/booleans < strings < lists < other."""
    if value is None:
        return (0,)
    if isinstance(value, bool | int):
        return (1, int(value))
    if isinstance(value, float):
        return (1, value) if not math.isnan(value) else (1, -math.inf)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, list | tuple):
        return (3, tuple(_sort_value(e) for e in value))
    return (4, type(value).__name__, repr(value))


def sort_records(
    records: Iterable[Mapping[str, Any]], keys: Sequence[SortKey]
) -> list[Mapping[str, Any]]:
    """Sort stably by the keys, the first key most significant; a missing key sorts as null."""
    result = list(records)
    for key in reversed(keys):
        result.sort(key=_record_key(key.field), reverse=key.descending)
    return result


def _record_key(field: str) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    return lambda record: _sort_value(record.get(field))


# ============================================================================ a list request


@record
class ListRequest:
    """What a list endpoint asks of its records, parsed: the store answers it (in its own query
    language where it can), and `answer` is the reference it must agree with."""

    filter: Filter | None = None
    sort: tuple[SortKey, ...] = ()
    range: RangeSpec | None = None

    def window(self, total: int) -> tuple[slice, str]:
        """The slice of the matching records and the `Content-Range` value."""
        return self.range.window(total) if self.range else full_window(total)

    def answer(self, records: Sequence[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], int]:
        """The oracle: the page (filter, then sort, then Range) and the number of matches, by
        evaluating everything in Python over `records` (in id order). The filter's work is
        checked against the number of records first (422/12 when too costly)."""
        items: Sequence[Mapping[str, Any]] = records
        if self.filter is not None and self.filter.expr is not None:
            self.filter.check_work(len(records))
            items = self.filter.select(records)
        if self.sort:
            items = sort_records(items, self.sort)
        window, _ = self.window(len(items))
        return list(items[window]), len(items)
