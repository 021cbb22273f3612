"""`record`: frozen dataclasses built faster behave as the generated ones."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import itertools
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from engine.core.enums import JobKind, Origin
from engine.core.frozen import record
from engine.core.jobs import Job
from engine.store.base import ConsoleState


@record
class Sample:
    """A record with a default and a default factory."""

    a: int
    b: str = "b"
    c: dict[str, Any] = field(default_factory=dict)


def test_arguments_defaults_and_factories_as_the_generated_init() -> None:
    assert Sample(1) == Sample(1, "b", {})
    assert Sample(1, c={"x": 1}, b="y") == Sample(a=1, b="y", c={"x": 1})
    first, second = Sample(1), Sample(1)
    assert first.c is not second.c  # a fresh value from the factory each time
    with pytest.raises(TypeError):
        Sample()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Sample(1, "b", {}, 4)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Sample(1, d=2)  # type: ignore[call-arg]


def test_still_frozen_equal_hashable_replaceable_and_picklable() -> None:
    job = Job(JobKind.RESTORE, 3, "PENDING", ordinal=2)
    assert job == Job(JobKind.RESTORE, 3, "PENDING", True, Origin.API, None, None, None, 2, None)
    assert hash(job) == hash(Job(JobKind.RESTORE, 3, "PENDING", ordinal=2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.status = "REQUESTING"  # type: ignore[misc]
    moved = dataclasses.replace(job, status="REQUESTING")
    assert (moved.status, moved.ordinal, job.status) == ("REQUESTING", 2, "PENDING")
    assert pickle.loads(pickle.dumps(job)) == job
    state = ConsoleState("c")
    assert state.settings == {}
    assert state.settings is not ConsoleState("c").settings


# ---------------------------------------------------------------------------- record

SOURCE = '''
class Plain:
    a: int
    b: str = "b"
    c: list[int] = field(default_factory=list)
    hidden: int = field(default=3, repr=False, compare=False)
    later: int = field(init=False, default=9)
    named: str = field(default="k", kw_only=True)


class Undocumented:
    x: int
    y: float = 1.0


class Ordered:
    """Compared field by field."""

    major: int
    minor: int = 0


class Derived:
    total: int
    double: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "double", self.total * 2)


class Own:
    v: int

    def __repr__(self) -> str:
        return "mine"

    def __eq__(self, other: object) -> bool:
        return True
'''


def _declared(prefix: str, decorate: Any, ordered: Any, unslotted: Any) -> dict[str, Any]:
    """The classes of SOURCE as `decorate` declares them, named `prefix` + their name at this
    module's level (where pickle finds them)."""
    made: dict[str, Any] = {}
    for name in ("Plain", "Undocumented", "Ordered", "Derived", "Own", "Unslotted"):
        names: dict[str, Any] = {"field": field, "__name__": __name__}
        exec(SOURCE.replace("class ", f"class {prefix}"), names)
        cls = names[prefix + ("Undocumented" if name == "Unslotted" else name)]
        how = ordered if name == "Ordered" else unslotted if name == "Unslotted" else decorate
        made[name] = how(cls)
        if name != "Unslotted":  # the second declaration of `Undocumented`
            globals()[cls.__qualname__] = made[name]
    return made


STD = _declared(
    "Std",
    dataclass(frozen=True, slots=True),
    dataclass(frozen=True, slots=True, order=True),
    dataclass(frozen=True),
)
REC = _declared("Rec", record, record(order=True), record(slots=False))
CASES: dict[str, list[tuple[Any, ...]]] = {
    "Plain": [(1,), (1, "x", [2], 4), (2, "b", [], 3)],
    "Undocumented": [(1,), (1, 2.5), (2,)],
    "Ordered": [(1,), (1, 2), (2, 0), (0, 9)],
    "Derived": [(1,), (2,)],
    "Own": [(1,), (2,)],
    "Unslotted": [(1,), (1, 2.5)],
}


@pytest.mark.parametrize("name", CASES)
def test_a_record_behaves_as_the_frozen_dataclass_it_declares(name: str) -> None:
    std, rec = STD[name], REC[name]
    assert str(inspect.signature(rec)) == str(inspect.signature(std))
    assert rec.__doc__ == std.__doc__.replace("Std", "Rec")
    assert rec.__match_args__ == std.__match_args__
    assert getattr(rec, "__slots__", None) == getattr(std, "__slots__", None)
    assert rec.__init__.__annotations__ == std.__init__.__annotations__
    assert [(f.name, f.init, f.repr, f.compare) for f in dataclasses.fields(rec)] == [
        (f.name, f.init, f.repr, f.compare) for f in dataclasses.fields(std)
    ]
    described = type(std.__dataclass_params__).__slots__  # what this Python's dataclasses say
    assert {a: getattr(rec.__dataclass_params__, a) for a in described} == {
        a: getattr(std.__dataclass_params__, a) for a in described
    }
    pairs = [(std(*args), rec(*args)) for args in CASES[name]]
    for s, r in pairs:
        assert repr(r) == repr(s).replace(std.__qualname__, rec.__qualname__)
        assert dataclasses.asdict(r) == dataclasses.asdict(s)
        assert dataclasses.astuple(r) == dataclasses.astuple(s)
        assert dataclasses.replace(r) == r
        if name != "Plain":  # a list field: unhashable either way
            assert hash(r) == hash(s)
        if name != "Unslotted":  # not at the module's level under its name
            assert pickle.loads(pickle.dumps(r)) == r
        assert copy.deepcopy(r) == r
        first = dataclasses.fields(r)[0].name
        for obj in (s, r):
            with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field"):
                setattr(obj, first, 5)
            with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field"):
                delattr(obj, first)
    for (s1, r1), (s2, r2) in itertools.product(pairs, repeat=2):
        assert (r1 == r2) == (s1 == s2)
        assert (r1 != r2) == (s1 != s2)
        if name == "Ordered":
            assert (r1 < r2, r1 <= r2, r1 > r2, r1 >= r2) == (s1 < s2, s1 <= s2, s1 > s2, s1 >= s2)
    assert (pairs[0][1] == pairs[0][0]) == (pairs[0][0] == pairs[0][1])  # other class: unequal


def test_a_record_refuses_what_it_would_not_declare_alike() -> None:
    @dataclass(frozen=True)
    class Base:
        a: int

    with pytest.raises(TypeError):

        @record
        class Child(Base):
            b: int

    with pytest.raises(TypeError):

        @record(order=True)
        class Both:
            a: int

            def __lt__(self, other: object) -> bool:  # type: ignore[misc]
                return True
