"""A small schema vocabulary for the control inputs: each input is declared once, as data.

A declared input (a `Field`) does two things from the same declaration: `read(value, path)`
checks a decoded JSON value (or the same value handed to the embedded API) and returns it clean,
raising `ControlError` that names the field by its dotted path (`world.hosts[0].id`); and
`schema()` is its OpenAPI 3.0 schema, which `engine.api.openapi` publishes as the request bodies
of `/simulator/*`. The HTTP surface, scenario files and the embedded API all read through these
declarations, so they accept exactly the same inputs.

Numbers are bounded by what the store holds: SQLite INTEGER is a signed 64-bit integer, and
instants and durations are bounded so that `now + duration` stays one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from engine.core.frozen import record
from engine.core.progression import MAX_DURATION_MS, RuleError, parse_duration_ms
from engine.core.validation import LONG_MAX

LONG_MIN = -LONG_MAX - 1
#: The latest instant a clock may be set to: the end of year 9999 (what date libraries show).
MAX_INSTANT_MS = 253_402_300_799_999
#: Record ids seeded by control (backups) are at most half the id space: the console's own ids
#: continue after the largest one.
MAX_RECORD_ID = 2**62
#: Free text (names, paths, messages); keeps an error message or a journal line readable.
TEXT_MAX = 4096
assert MAX_INSTANT_MS + MAX_DURATION_MS <= LONG_MAX

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SHOWN = 60


class ControlError(ValueError):
    """A control input that cannot be used: `field` is its dotted path, `problem` says why."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field or "body"
        self.problem = problem
        super().__init__(f"{self.field}: {problem}")


def child(path: str, key: str) -> str:
    """The path of a mapping's key; keys that are not plain names are quoted (`a["x y"]`)."""
    if _NAME.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def show(value: Any) -> str:
    """A value as an error message shows it: JSON, ASCII only, clipped."""
    try:
        text = json.dumps(value, default=repr)
    except (ValueError, TypeError, RecursionError):
        text = ascii(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def kind_of(value: Any) -> str:
    """The JSON kind of a value, as error messages name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


class Field:
    """A declared input: `read` checks and cleans a value, `schema` describes it (OpenAPI 3.0)."""

    description: str = ""

    def kinds(self) -> frozenset[str]:
        """The JSON kinds this field accepts (`Either` dispatches on them)."""
        raise NotImplementedError

    def read(self, value: Any, path: str) -> Any:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def _described(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.description:
            schema["description"] = self.description
        return schema


@record(slots=False)
class Boolean(Field):
    """true or false."""

    description: str = ""

    def kinds(self) -> frozenset[str]:
        return frozenset({"boolean"})

    def read(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise ControlError(path, f"expected true or false, got {show(value)}")
        return value

    def schema(self) -> dict[str, Any]:
        return self._described({"type": "boolean"})


@record(slots=False)
class Integer(Field):
    """An integer between `minimum` and `maximum` (a signed 64-bit one by default)."""

    minimum: int = LONG_MIN
    maximum: int = LONG_MAX
    description: str = ""

    def kinds(self) -> frozenset[str]:
        return frozenset({"integer"})

    def read(self, value: Any, path: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ControlError(path, f"expected an integer, got {show(value)}")
        if not self.minimum <= value <= self.maximum:
            raise ControlError(
                path, f"{show(value)} is not between {self.minimum} and {self.maximum}"
            )
        return value

    def schema(self) -> dict[str, Any]:
        return self._described(
            {"type": "integer", "format": "int64", "minimum": self.minimum, "maximum": self.maximum}
        )


@record(slots=False)
class Number(Field):
    """A finite number between `minimum` and `maximum`."""

    minimum: float
    maximum: float
    description: str = ""

    def kinds(self) -> frozenset[str]:
        return frozenset({"integer", "number"})

    def read(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ControlError(path, f"expected a number, got {show(value)}")
        if not (math.isfinite(value) and self.minimum <= value <= self.maximum):
            raise ControlError(
                path, f"{show(value)} is not between {self.minimum:g} and {self.maximum:g}"
            )
        return float(value)

    def schema(self) -> dict[str, Any]:
        return self._described({"type": "number", "minimum": self.minimum, "maximum": self.maximum})


@record(slots=False)
class Text(Field):
    """A string of printable characters (tabs and newlines allowed in free text)."""

    max_length: int = TEXT_MAX
    min_length: int = 0
    #: anchored, the same text in Python and in the OpenAPI schema; by default any printable
    #: text (a pattern of its own must exclude control characters too)
    pattern: str = r"^[^\x00-\x08\x0b-\x1f\x7f]*$"
    meaning: str = "printable text"  # what the pattern asks for, in words
    description: str = ""

    def kinds(self) -> frozenset[str]:
        return frozenset({"string"})

    def read(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise ControlError(path, f"expected a string, got {show(value)}")
        if not self.min_length <= len(value) <= self.max_length:
            raise ControlError(
                path,
                f"expected {self.min_length} to {self.max_length} characters, got {len(value)}",
            )
        if _SURROGATE.search(value):  # JSON can carry "\ud800", which no UTF-8 store can
            raise ControlError(path, f"{show(value)} holds a lone surrogate")
        if re.fullmatch(self.pattern, value) is None:
            raise ControlError(path, f"{show(value)} is not {self.meaning}")
        return value

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "string",
            "maxLength": self.max_length,
            "pattern": self.pattern,
        }
        if self.min_length:
            schema["minLength"] = self.min_length
        return self._described(schema)


_SURROGATE = re.compile("[\ud800-\udfff]")


@record(slots=False)
class OneOf(Field):
    """One of some strings (case-insensitive when asked: the rules' `SUCCESS` / `success`)."""

    values: tuple[str, ...]
    ignore_case: bool = False
    description: str = ""

    def kinds(self) -> frozenset[str]:
        return frozenset({"string"})

    def read(self, value: Any, path: str) -> str:
        if isinstance(value, str):
            for allowed in self.values:
                if value == allowed or (self.ignore_case and value.upper() == allowed.upper()):
                    return allowed
        raise ControlError(path, f"{show(value)} is not one of {', '.join(self.values)}")

    def schema(self) -> dict[str, Any]:
        return self._described({"type": "string", "enum": list(self.values)})


@record(slots=False)
class Constant(Field):
    """Exactly `true` (e.g. `{reset: true}`)."""

    description: str = ""

    def kinds(self) -> frozenset[str]:
        return frozenset({"boolean"})

    def read(self, value: Any, path: str) -> bool:
        if value is not True:
            raise ControlError(path, f"expected true, got {show(value)}")
        return True

    def schema(self) -> dict[str, Any]:
        return self._described({"type": "boolean", "enum": [True]})


_DURATION_TEXT = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$"


@record(slots=False)
class Duration(Field):
    """`500ms`, `5s`, `2m`, `1h` or a number of seconds; read as milliseconds, at most
    MAX_DURATION_MS."""

    description: str = ""

    def kinds(self) -> frozenset[str]:
        return frozenset({"integer", "number", "string"})

    def read(self, value: Any, path: str) -> int:
        if isinstance(value, str) and len(value) > 64:
            raise ControlError(path, f"{show(value)} is not a duration")
        try:
            return parse_duration_ms(value, path)
        except RuleError:
            raise ControlError(
                path,
                f"{show(value)} is not a duration of at most {MAX_DURATION_MS} ms "
                "(use 500ms, 5s, 2m, 1h or seconds)",
            ) from None

    def schema(self) -> dict[str, Any]:
        return self._described(
            {
                "oneOf": [
                    {"type": "number", "minimum": 0, "maximum": MAX_DURATION_MS / 1000},
                    {"type": "string", "pattern": _DURATION_TEXT, "maxLength": 64},
                ],
            }
        )


@record(slots=False)
class Nullable(Field):
    """`null`, or what `inner` accepts."""

    inner: Field
    description: str = ""

    def kinds(self) -> frozenset[str]:
        return self.inner.kinds() | {"null"}

    def read(self, value: Any, path: str) -> Any:
        return None if value is None else self.inner.read(value, path)

    def schema(self) -> dict[str, Any]:
        return self._described({**self.inner.schema(), "nullable": True})


@record(slots=False)
class ListOf(Field):
    """A list of `item`s, `min_items` to `max_items` long (`unique`: no item twice)."""

    item: Field
    max_items: int | None = None
    min_items: int = 0
    unique: bool = False  # the same item twice is a mistake (e.g. a token)
    description: str = ""

    def kinds(self) -> frozenset[str]:
        return frozenset({"array"})

    def read(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise ControlError(path, f"expected a list, got {kind_of(value)}")
        if len(value) < self.min_items:
            raise ControlError(path, f"expected at least {self.min_items} items")
        if self.max_items is not None and len(value) > self.max_items:
            raise ControlError(path, f"expected at most {self.max_items} items")
        items = [self.item.read(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if self.unique:
            for i, item in enumerate(items):
                if item in items[:i]:
                    raise ControlError(f"{path}[{i}]", "given twice")
        return items

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": self.item.schema()}
        if self.unique:
            schema["uniqueItems"] = True
        if self.min_items:
            schema["minItems"] = self.min_items
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return self._described(schema)


@record(slots=False)
class Pair(Field):
    """Two values written as a list, e.g. Basic credentials `[user, password]`. OpenAPI 3.0
    has no tuples: the schema describes both items by the first, so make it the stricter."""

    first: Field
    second: Field
    description: str = ""

    def kinds(self) -> frozenset[str]:
        return frozenset({"array"})

    def read(self, value: Any, path: str) -> tuple[Any, Any]:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ControlError(path, f"expected a list of two, got {show(value)}")
        return self.first.read(value[0], f"{path}[0]"), self.second.read(value[1], f"{path}[1]")

    def schema(self) -> dict[str, Any]:
        items = self.first.schema()
        return self._described({"type": "array", "items": items, "minItems": 2, "maxItems": 2})


@record(slots=False)
class Either(Field):
    """One of several fields, chosen by the JSON kind of the value (so each kind once)."""

    choices: tuple[Field, ...]
    expected: str  # in words, e.g. "restore, backup or {kind, id, outcome}"
    description: str = ""

    def kinds(self) -> frozenset[str]:
        return frozenset().union(*(c.kinds() for c in self.choices))

    def read(self, value: Any, path: str) -> Any:
        kind = _json_kind(value)
        for choice in self.choices:
            if kind in choice.kinds():
                return choice.read(value, path)
        raise ControlError(path, f"expected {self.expected}, got {show(value)}")

    def schema(self) -> dict[str, Any]:
        return self._described({"oneOf": [c.schema() for c in self.choices]})


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "unknown"


@record(slots=False)
class Obj(Field):
    """A mapping of declared keys; unknown keys are errors, never ignored.

    `read` returns the clean values of the keys present (in the order written), or with
    `as_written` the mapping as it was written (e.g. rules, stored as text); `check` sees the
    clean values for rules across keys; `build` turns them into what the caller needs.
    """

    fields: Mapping[str, Field]
    required: tuple[str, ...] = ()
    check: Callable[[dict[str, Any], str], None] | None = None
    build: Callable[[dict[str, Any], str], Any] | None = None
    min_properties: int = 0
    exactly_one_of: tuple[str, ...] = ()  # keys of which one, and only one, must be given
    as_written: bool = False
    description: str = ""

    def kinds(self) -> frozenset[str]:
        return frozenset({"object"})

    def read(self, value: Any, path: str) -> Any:
        if not isinstance(value, Mapping):
            raise ControlError(path, f"expected a mapping, got {kind_of(value)}")
        clean: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ControlError(path, f"the key {show(key)} is not a string")
            declared = self.fields.get(key)
            if declared is None:
                raise ControlError(
                    child(path, key), f"unknown key (allowed: {', '.join(self.fields)})"
                )
            clean[key] = declared.read(item, child(path, key))
        for key in self.required:
            if key not in clean:
                raise ControlError(child(path, key), "required")
        if len(clean) < self.min_properties:
            raise ControlError(path, f"expected one or more of {', '.join(self.fields)}")
        if self.exactly_one_of and sum(k in clean for k in self.exactly_one_of) != 1:
            raise ControlError(path, f"expected exactly one of {', '.join(self.exactly_one_of)}")
        if self.check is not None:
            self.check(clean, path)
        if self.build is not None:
            return self.build(clean, path)
        return dict(value) if self.as_written else clean

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {name: f.schema() for name, f in self.fields.items()},
            "additionalProperties": False,
        }
        if self.required:
            schema["required"] = list(self.required)
        if self.min_properties:
            schema["minProperties"] = self.min_properties
        if self.exactly_one_of:
            schema["oneOf"] = [{"required": [key]} for key in self.exactly_one_of]
        return self._described(schema)
