"""A list request (`filter`, `sort`, `Range`) compiled to SQL, for any SQL store.

The input is the parsed request (`engine.core.query.ListRequest`), never the text; values
travel as parameters only, never spliced into the statement. The result must equal what the
Python evaluator (`ListRequest.answer`, the oracle) gives on the same records; a property test
compares them. What cannot be said exactly in SQL makes `compile_list` answer None, and the
adapter answers that request with the oracle instead.

How QRadar's semantics (engine/core/query.py) become SQL, leaf by leaf:
- every leaf becomes a two-valued condition (never SQL NULL), so `not`, `and`, `or` compose
  as in Python; a null field makes a positive test false and its negation true; a value that
  does not fit the field (`id = abc`) makes both forms false (the negation: `field IS NULL`);
- numbers compare exactly: integral values are bound as integers, others become the nearest
  integer bound (`id < 1.5` is `id < 2`), bounds beyond 64 bits become constants;
- list fields (restore `groups`, stored as comma-joined names of a closed set) are tested by
  evaluating the leaf in Python on each possible element, then asking whether the stored list
  holds one of those that pass;
- `like` / `ilike` and the order of texts are the dialect's (SQLite: GLOB, a function with
  Python's lower-casing, binary collation; PostgreSQL: `COLLATE "C"`);
- sort: nulls first ascending, last descending, ties by id ascending (the stable Python sort).
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, Protocol

from engine.core import query
from engine.core.frozen import record
from engine.core.query import ListRequest
from engine.core.records import Backup, Restore

if TYPE_CHECKING:  # the filter language is imported by the first filter (engine.core.query)
    from decimal import Decimal

    from engine.core.filters import Node, Value

Kind = Literal["int", "bool", "text", "text_list"]
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
TRUE, FALSE = "1 = 1", "1 = 0"


@record
class Column:
    """One API field as stored: its column, its kind, and for a list field the closed set of
    names its elements come from."""

    name: str
    kind: Kind
    nullable: bool
    domain: tuple[str, ...] = ()


@record
class Table:
    """A record table as the compiler sees it: API field name -> column."""

    name: str
    columns: Mapping[str, Column]
    key: str = "id"


def table_of(
    name: str, record: type, renames: Mapping[str, str] = {}, aliases: Mapping[str, str] = {}
) -> Table:
    """The table of a record dataclass, derived from its fields' types (one fact, one place):
    `renames` maps a field to its column where they differ, `aliases` adds API keys that show
    another field (IBM's sample key `intiated_by`)."""
    hints = typing.get_type_hints(record)
    columns: dict[str, Column] = {}
    for f in dataclasses.fields(record):
        columns[f.name] = _column(renames.get(f.name, f.name), hints[f.name])
    for alias, field in aliases.items():
        columns[alias] = columns[field]
    return Table(name, columns)


def _column(name: str, hint: Any) -> Column:
    args = typing.get_args(hint)
    nullable = isinstance(hint, types.UnionType) and type(None) in args
    base = next(a for a in args if a is not type(None)) if nullable else hint
    if typing.get_origin(base) is tuple:
        element = typing.get_args(base)[0]
        domain = tuple(str(m.value) for m in element) if issubclass(element, Enum) else ()
        return Column(name, "text_list", nullable, domain)
    if base is bool:
        return Column(name, "bool", nullable)
    if base is int:
        return Column(name, "int", nullable)
    return Column(name, "text", nullable)  # str and the string enumerations


#: The tables of the two list endpoints (the SQLite and PostgreSQL schemas share the names).
RESTORES = table_of("restores", Restore, renames={"groups": "groups_"})
BACKUPS = table_of("backups", Backup, aliases={"intiated_by": "initiated_by"})


class Dialect(Protocol):
    """What differs between SQL engines. Each method gets the bind marker to use (`mark()`
    appends a parameter and returns its placeholder)."""

    def boolean(self, value: bool) -> Any:
        """A boolean column's value as bound."""
        ...

    def like(
        self, column: str, pattern: query.LikePattern, insensitive: bool, mark: Callable[[Any], str]
    ) -> str | None:
        """`column like pattern` exactly as `query.Like` matches (None: not expressible)."""
        ...

    def list_holds(self, column: str, element: str, mark: Callable[[Any], str]) -> str:
        """The comma-joined list in `column` holds `element`."""
        ...

    def text(self, column: str) -> str:
        """A text column compared and ordered in code-point order (Python's)."""
        ...

    def row_json(self, pairs: list[tuple[str, Column]]) -> str | None:
        """An expression giving each row as the JSON object of `pairs` (key, column), in that
        order, byte for byte as `orjson.dumps` encodes the record's `to_json()`; None when the
        engine cannot (the adapter then encodes in Python)."""
        ...


@record
class Compiled:
    """The parts of the list statement: a condition (`where`, with `params`) and an order."""

    where: str
    params: tuple[Any, ...]
    order_by: str


class _Unexpressible(Exception):
    """Internal: this request must be answered by the oracle."""


class _Compiler:
    def __init__(self, table: Table, dialect: Dialect, placeholder: Callable[[int], str]) -> None:
        self.table, self.d, self.placeholder = table, dialect, placeholder
        self.params: list[Any] = []

    def mark(self, value: Any) -> str:
        if isinstance(value, str) and not _bindable(value):
            raise _Unexpressible
        self.params.append(value)
        return self.placeholder(len(self.params))

    def column(self, field: str) -> Column:
        column = self.table.columns.get(field)
        if column is None:
            raise _Unexpressible
        return column

    # --- the tree
    def node(self, node: Node) -> str:
        if isinstance(node, query.Not):
            return f"NOT ({self.node(node.operand)})"
        if isinstance(node, query.And | query.Or):
            word = " AND " if isinstance(node, query.And) else " OR "
            return "(" + word.join(f"({self.node(o)})" for o in node.operands) + ")"
        column = self.column(node.field)
        if column.kind == "text_list":
            return self.list_leaf(node, column)
        if isinstance(node, query.IsNull):
            if not column.nullable:
                return TRUE if node.negated else FALSE
            return f"{column.name} IS {'NOT ' if node.negated else ''}NULL"
        if isinstance(node, query.Contains):
            return FALSE  # a scalar holds no elements
        negated = node.op == "!=" if isinstance(node, query.Compare) else node.negated
        return self.negatable(column, negated, self.test(node, column))

    def negatable(self, column: Column, negated: bool, test: str | None) -> str:
        """`_negatable_match` of the oracle: null -> the negated form holds; a value that does
        not fit (`test` None) -> both forms false."""
        name = column.name
        if test is None:
            return f"{name} IS NULL" if negated and column.nullable else FALSE
        if not column.nullable:
            return f"NOT ({test})" if negated else test
        if negated:
            return f"({name} IS NULL OR NOT ({test}))"
        return f"({name} IS NOT NULL AND {test})"

    def test(self, node: Node, column: Column) -> str | None:
        """The positive test on a non-null value; None when the value does not fit the field."""
        name = column.name
        if isinstance(node, query.Compare):
            op = "=" if node.op == "!=" else node.op
            return self.compare(column, op, node.value)
        if isinstance(node, query.InList):
            return self.in_list(column, node.values)
        if isinstance(node, query.Between):
            marked = len(self.params)
            low = self.compare(column, ">=", node.low)
            high = self.compare(column, "<=", node.high)
            if low is None or high is None:
                del self.params[marked:]  # the parameters of a half that is not used
                return None
            return f"({low} AND {high})"
        if isinstance(node, query.Like):
            if column.kind != "text":
                return None
            sql = self.d.like(name, node.pattern, node.insensitive, self.mark)
            if sql is None:
                raise _Unexpressible
            return sql
        raise _Unexpressible  # pragma: no cover - every leaf kind is handled above

    def compare(self, column: Column, op: str, value: Value) -> str | None:
        name = column.name
        if column.kind == "text":
            return f"{self.d.text(name)} {_SQL_OP[op]} {self.mark(value.text)}"
        if column.kind == "bool":
            if value.boolean is None:
                return None
            return f"{name} {_SQL_OP[op]} {self.mark(self.d.boolean(value.boolean))}"
        if value.number is None:
            return None
        return self.int_compare(name, op, value.number)

    def int_compare(self, name: str, op: str, number: Decimal) -> str:
        """`integer op number`, exactly, with an integer bound (or a constant)."""
        if op == "=":
            exact = _integral(number)
            if exact is None or not _INT_MIN <= exact <= _INT_MAX:
                return FALSE
            return f"{name} = {self.mark(exact)}"
        # x < d <=> x < ceil(d); x <= d <=> x <= floor(d); x > d <=> x > floor(d); ...
        upward = op in ("<", ">=")
        if not number.is_finite():
            below = number < 0  # -inf: nothing is below it
            return FALSE if (op in ("<", "<=")) == below else TRUE
        bound = math.ceil(number) if upward else math.floor(number)
        if bound > _INT_MAX:
            return TRUE if op in ("<", "<=") else FALSE
        if bound < _INT_MIN:
            return FALSE if op in ("<", "<=") else TRUE
        return f"{name} {op} {self.mark(bound)}"

    def in_list(self, column: Column, values: tuple[Value, ...]) -> str | None:
        members: list[Any]
        name = column.name
        if column.kind == "text":
            name = self.d.text(name)
            members = sorted({v.text for v in values})
        elif column.kind == "bool":
            flags = {v.boolean for v in values if v.boolean is not None}
            if not flags:
                return None
            members = [self.d.boolean(b) for b in sorted(flags)]
        else:
            numbers = [v.number for v in values if v.number is not None]
            if not numbers:
                return None
            exact = {i for i in map(_integral, numbers) if i is not None}
            members = sorted(i for i in exact if _INT_MIN <= i <= _INT_MAX)
        if not members:
            return FALSE
        return f"{name} IN ({', '.join(self.mark(m) for m in members)})"

    def list_leaf(self, node: Node, column: Column) -> str:
        """A leaf on a list field: which elements of the closed set pass the positive test,
        found by the oracle itself, then "the list holds one of them" (or its negation)."""
        field = node.field  # type: ignore[union-attr]
        if isinstance(node, query.IsNull):
            return TRUE if node.negated else FALSE  # a list is never null
        negated = False
        positive: Node = node
        if isinstance(node, query.Compare) and node.op == "!=":
            negated, positive = True, dataclasses.replace(node, op="=")
        elif isinstance(node, query.InList | query.Between | query.Like) and node.negated:
            negated, positive = True, dataclasses.replace(node, negated=False)
        passing = [e for e in column.domain if positive.matches({field: [e]})]
        holds = " OR ".join(self.d.list_holds(column.name, e, self.mark) for e in passing)
        condition = f"({holds})" if holds else FALSE
        return f"NOT {condition}" if negated else condition

    # --- sort
    def order_by(self, request: ListRequest) -> str:
        terms: list[str] = []
        for key in request.sort:
            column = self.column(key.field)
            if column.kind == "text_list":
                raise _Unexpressible
            name = self.d.text(column.name) if column.kind == "text" else column.name
            terms.append(f"{name} DESC NULLS LAST" if key.descending else f"{name} ASC NULLS FIRST")
        terms.append(f"{self.table.key} ASC")
        return ", ".join(terms)


_SQL_OP = {"=": "=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}


def _integral(number: Decimal) -> int | None:
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)


def _bindable(text: str) -> bool:
    """Text a driver can bind and compare as Python does: valid UTF-8, no NUL."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def compile_list(
    request: ListRequest, table: Table, dialect: Dialect, placeholder: Callable[[int], str]
) -> Compiled | None:
    """The condition and order of `request` on `table`, or None when some part cannot be said
    exactly in this dialect (the adapter then answers with the oracle). `placeholder(n)` is the
    marker of the n-th parameter (`?` for SQLite, `%s` or `$n` for PostgreSQL drivers)."""
    compiler = _Compiler(table, dialect, placeholder)
    try:
        expr = request.filter.expr if request.filter is not None else None
        where = TRUE if expr is None else compiler.node(expr)
        order_by = compiler.order_by(request)
    except _Unexpressible:
        return None
    return Compiled(where, tuple(compiler.params), order_by)


_KEY = re.compile(r"[a-z_]+")
_ELEMENT = re.compile(r"[A-Z_]+")


def row_json(table: Table, keys: Sequence[str], dialect: Dialect) -> str | None:
    """The SQL expression of one row as the API's JSON object of `keys` (in that order), or None
    when a key has no column or the dialect cannot build it. Keys come from the record field
    lists (never from input), and are checked to be plain names before they enter SQL."""
    pairs: list[tuple[str, Column]] = []
    for key in keys:
        column = table.columns.get(key)
        if column is None or not _KEY.fullmatch(key):
            return None
        if column.kind == "text_list" and not all(_ELEMENT.fullmatch(e) for e in column.domain):
            return None  # elements that would need escaping inside the JSON array
        pairs.append((key, column))
    return dialect.row_json(pairs)


def limit_offset(request: ListRequest) -> tuple[int, int] | None:
    """LIMIT and OFFSET of the Range (None: everything)."""
    if request.range is None:
        return None
    return request.range.end - request.range.start + 1, request.range.start


# ============================================================================ SQLite


def _glob(pattern: query.LikePattern, lower: bool) -> str:
    """A `like` pattern as an SQLite GLOB (case-sensitive; `[x]` escapes `*`, `?`, `[`)."""
    parts: list[str] = []
    for kind, char in pattern:
        if kind == query.LIKE_ONE:
            parts.append("?")
        elif kind == query.LIKE_RUN:
            parts.append("*")
        else:
            char = char.lower() if lower else char
            parts.append(f"[{char}]" if char in "*?[" else char)
    return "".join(parts)


class SqliteDialect:
    """SQLite: GLOB is case-sensitive and matches one character per `?` as `like`'s `_`; ilike
    lower-cases with Python's own `str.lower` (`py_lower`, registered on the connection), since
    SQLite's `lower` knows ASCII only; text compares byte-wise, which is code-point order."""

    LOWER = "py_lower"

    def boolean(self, value: bool) -> int:
        return int(value)

    def like(
        self, column: str, pattern: query.LikePattern, insensitive: bool, mark: Callable[[Any], str]
    ) -> str:
        target = f"{self.LOWER}({column})" if insensitive else column
        return f"{target} GLOB {mark(_glob(pattern, insensitive))}"

    def list_holds(self, column: str, element: str, mark: Callable[[Any], str]) -> str:
        return f"instr(',' || {column} || ',', {mark(',' + element + ',')}) > 0"

    def text(self, column: str) -> str:
        return column

    def row_json(self, pairs: list[tuple[str, Column]]) -> str:
        """`json_object`: compact, keys in order, strings escaped as orjson escapes them
        (checked for every character up to U+07FF and beyond by the tests)."""
        values = []
        for key, column in pairs:
            name = column.name
            if column.kind == "bool":
                value = f"CASE WHEN {name} THEN json('true') ELSE json('false') END"
                if column.nullable:
                    value = f"CASE WHEN {name} IS NULL THEN NULL ELSE {value} END"
            elif column.kind == "text_list":  # comma-joined names of a closed set
                value = (f"json(CASE WHEN {name} = '' THEN '[]' "
                         f"ELSE '[\"' || replace({name}, ',', '\",\"') || '\"]' END)")  # fmt: skip
            else:
                value = name
            values.append(f"'{key}', {value}")
        return f"json_object({', '.join(values)})"


SQLITE = SqliteDialect()


def sqlite_placeholder(_: int) -> str:
    return "?"


# ============================================================================ PostgreSQL


def _like(pattern: query.LikePattern) -> str:
    """A `like` pattern in SQL's LIKE syntax, `\\` escaping the wildcards and itself."""
    parts: list[str] = []
    for kind, char in pattern:
        if kind == query.LIKE_ONE:
            parts.append("_")
        elif kind == query.LIKE_RUN:
            parts.append("%")
        else:
            parts.append("\\" + char if char in "%_\\" else char)
    return "".join(parts)


class PostgresDialect:
    """PostgreSQL (psycopg's `%s` parameters): texts compare and sort in the "C" collation
    (code-point order, whatever the database's locale); LIKE is case-sensitive as `like` is;
    `ilike` is left to the evaluator (PostgreSQL's lower-casing is the locale's, not
    Python's), and so is the JSON of a row (`json_build_object` spaces its output)."""

    def boolean(self, value: bool) -> int:
        return int(value)  # booleans are SMALLINT 0/1, as in SQLite

    def like(
        self, column: str, pattern: query.LikePattern, insensitive: bool, mark: Callable[[Any], str]
    ) -> str | None:
        if insensitive:
            return None
        return f"{self.text(column)} LIKE {mark(_like(pattern))}"

    def list_holds(self, column: str, element: str, mark: Callable[[Any], str]) -> str:
        return f"strpos(',' || {column} || ',', {mark(',' + element + ',')}) > 0"

    def text(self, column: str) -> str:
        return f'{column} COLLATE "C"'

    def row_json(self, pairs: list[tuple[str, Column]]) -> None:
        return None


POSTGRES = PostgresDialect()


def postgres_placeholder(_: int) -> str:
    return "%s"


def register_sqlite_functions(register: Callable[..., None]) -> None:
    """What SqliteDialect's SQL calls: pass a connection's `create_function`."""
    register(SqliteDialect.LOWER, 1, _lower, deterministic=True)


def _lower(text: Any) -> Any:
    return text.lower() if isinstance(text, str) else text
