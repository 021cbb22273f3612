"""The schema vocabulary of control inputs: what each kind of field accepts, how errors name
the field, and the OpenAPI schema it publishes for the same declaration."""

from __future__ import annotations

from typing import Any

import pytest

from engine.control.progression import RULE, RULES
from engine.control.schema import (
    MAX_INSTANT_MS,
    ControlError,
    Duration,
    Either,
    Integer,
    ListOf,
    Obj,
    OneOf,
    Text,
)
from engine.control.world import WORLD, read_world
from engine.core.enums import JobKind
from engine.core.progression import MAX_DURATION_MS
from engine.core.validation import LONG_MAX


def problem(field: Any, value: Any, path: str = "x") -> ControlError:
    with pytest.raises(ControlError) as caught:
        field.read(value, path)
    return caught.value


def test_errors_name_the_field_by_its_dotted_path() -> None:
    world = {"hosts": [{"id": 53}, {"id": 54, "components": ["console", "toaster"]}]}
    error = problem(WORLD, world, "world")
    assert error.field == "world.hosts[1].components[1]"
    assert str(error).startswith('world.hosts[1].components[1]: "toaster" is not one of')
    assert problem(WORLD, {"hosts": [{"hostname": "h"}]}, "world").field == "world.hosts[0].id"
    assert problem(WORLD, {"colour": 1}, "world").problem.startswith("unknown key (allowed: ")
    assert problem(WORLD, {"a b": 1}, "world").field == 'world["a b"]'  # quoted, not split
    assert problem(WORLD, [], "").field == "body"  # the whole body


def test_integers_are_bounded_by_the_store() -> None:
    assert Integer().read(LONG_MAX, "x") == LONG_MAX
    assert "is not between" in problem(Integer(), LONG_MAX + 1).problem
    assert "expected an integer" in problem(Integer(), 1.0).problem
    assert "expected an integer" in problem(Integer(), True).problem


def test_durations_fit_after_any_instant() -> None:
    assert Duration().read("1h", "x") == 3_600_000
    assert Duration().read(0.5, "x") == 500
    for value in ("99999999999999999999h", 1e308, float("inf"), float("nan"), -1, True, "soon"):
        assert problem(Duration(), value).field == "x"
    assert MAX_INSTANT_MS + MAX_DURATION_MS <= LONG_MAX


def test_text_refuses_what_no_store_or_answer_can_hold() -> None:
    assert Text().read("tab\tand\nnewline", "x") == "tab\tand\nnewline"
    assert "lone surrogate" in problem(Text(), "\ud800").problem
    assert "printable" in problem(Text(), "bell\x07").problem
    assert "characters" in problem(Text(max_length=3), "four").problem


def test_either_chooses_by_the_kind_of_value() -> None:
    step = Either((OneOf(("a", "b")), Obj({"kind": OneOf(("a", "b"))})), expected="a or {kind}")
    assert step.read("a", "x") == "a"
    assert step.read({"kind": "b"}, "x") == {"kind": "b"}
    assert problem(step, 3).problem == "expected a or {kind}, got 3"
    assert problem(step, {"kind": "c"}).field == "x.kind"


def test_lists_may_refuse_an_item_given_twice() -> None:
    assert problem(ListOf(Integer(), unique=True), [1, 2, 1]).field == "x[2]"
    assert ListOf(Integer()).read((1, 1), "x") == [1, 1]  # tuples from the embedded API too


def test_rules_are_read_as_written_and_checked_against_their_kind() -> None:
    spec = {"requesting": "2s", "outcome": ["failed", "SUCCESS"]}
    assert RULE[JobKind.RESTORE].read(spec, "r") == spec  # stored as written, units kept
    assert RULES.read({"backup": {"cancelling": 1}}, "rules") == {"backup": {"cancelling": 1}}
    assert problem(RULE[JobKind.BACKUP], {"requesting": "1s"}, "r").field == "r.requesting"
    assert problem(RULE[JobKind.RESTORE], {"outcome": {"FAILED": 2}}, "r").field == (
        "r.outcome.FAILED"
    )


def test_the_published_schema_is_the_declaration() -> None:
    schema = WORLD.schema()
    assert schema["additionalProperties"] is False
    host = schema["properties"]["hosts"]["items"]
    assert host["required"] == ["id"]
    assert host["properties"]["components"]["items"]["enum"][0] == "console"
    backup = schema["properties"]["backups"]["items"]["properties"]
    assert backup["time_initiated"] == {
        **backup["time_initiated"],
        "nullable": True,
        "maximum": MAX_INSTANT_MS,
    }
    assert Text(pattern=r"^[a-z]+$", meaning="letters").schema()["pattern"] == r"^[a-z]+$"


def test_a_world_without_keys_is_the_demo_world() -> None:
    assert read_world({}) == read_world(None)
