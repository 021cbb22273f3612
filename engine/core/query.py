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

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from engine.core import codes
from engine.core.errors import QRadarError
from engine.core.frozen import record

if TYPE_CHECKING:  # at run time these come from `__getattr__`, on first use
    from engine.core.filters import FILTER_WORK_BUDGET as FILTER_WORK_BUDGET
    from engine.core.filters import LIKE_LITERAL as LIKE_LITERAL
    from engine.core.filters import LIKE_ONE as LIKE_ONE
    from engine.core.filters import LIKE_RUN as LIKE_RUN
    from engine.core.filters import MAX_FILTER_DEPTH as MAX_FILTER_DEPTH
    from engine.core.filters import MAX_FILTER_LENGTH as MAX_FILTER_LENGTH
    from engine.core.filters import MAX_FILTER_TERMS as MAX_FILTER_TERMS
    from engine.core.filters import MAX_IN_VALUES as MAX_IN_VALUES
    from engine.core.filters import And as And
    from engine.core.filters import Between as Between
    from engine.core.filters import Compare as Compare
    from engine.core.filters import Contains as Contains
    from engine.core.filters import Filter as Filter
    from engine.core.filters import InList as InList
    from engine.core.filters import IsNull as IsNull
    from engine.core.filters import Like as Like
    from engine.core.filters import LikePattern as LikePattern
    from engine.core.filters import Node as Node
    from engine.core.filters import Not as Not
    from engine.core.filters import Or as Or
    from engine.core.filters import Value as Value
    from engine.core.filters import parse_filter as parse_filter

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
_MAX_FIELDS_DEPTH = 64

#: The filter language (`engine.core.filters`), loaded by the first request that has a filter.
_FILTER_NAMES = frozenset(
    {
        "FILTER_WORK_BUDGET", "LIKE_LITERAL", "LIKE_ONE", "LIKE_RUN", "MAX_FILTER_DEPTH",
        "MAX_FILTER_LENGTH", "MAX_FILTER_TERMS", "MAX_IN_VALUES", "And", "Between", "Compare",
        "Contains", "Filter", "InList", "IsNull", "Like", "LikePattern", "Node", "Not", "Or",
        "Value", "parse_filter",
    }
)  # fmt: skip


if not TYPE_CHECKING:  # for mypy the names are the imports above: a typo stays an error

    def __getattr__(name: str) -> Any:
        """The filter language's names, imported on first use (then ordinary attributes)."""
        if name not in _FILTER_NAMES:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from engine.core import filters

        value = getattr(filters, name)
        globals()[name] = value
        return value


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
