"""`quick_init`: the faster `__init__` of frozen, slotted dataclasses keeps their behaviour."""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from engine.core.enums import JobKind, Origin
from engine.core.frozen import quick_init
from engine.core.jobs import Job
from engine.store.base import ConsoleState


@quick_init
@dataclass(frozen=True, slots=True)
class Sample:
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


def test_refuses_classes_it_would_change_the_behaviour_of() -> None:
    @dataclass(slots=True)
    class Mutable:
        a: int

    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None: ...

    @dataclass(frozen=True, slots=True)
    class KeywordOnly:
        a: int = field(kw_only=True)

    for cls in (Mutable, NoSlots, PostInit, KeywordOnly):
        with pytest.raises(TypeError):
            quick_init(cls)
